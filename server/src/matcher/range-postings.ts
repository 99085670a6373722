// Filters filed under a numeric bound on one path, sorted so that a value's
// number finds exactly the bounds it satisfies as a prefix: lower bounds
// ($gt / $gte) ascending, upper bounds ($lt / $lte) descending, inclusive
// before exclusive at equal bounds. A value with several numbers at the path
// (an array) satisfies a lower bound when its largest does, an upper bound
// when its smallest does, so one binary search per path and value suffices.
//
// Additions and removals only mark the order stale; it is rebuilt (a sort) on
// the next lookup, so filing many filters costs one sort, not a splice each.
// The sorted order is kept as parallel arrays of what a lookup reads
// (posting-arrays.ts), so that it does not touch the entries.

import type { Entry } from "./index-entry.js";
import { PostingArrays } from "./posting-arrays.js";

export interface RangePosting<T> {
  readonly entry: Entry<T>;
  /** The bound as compared: the bound itself for lower bounds, negated for upper ones. */
  readonly key: number;
  readonly inclusive: boolean;
  /** Position in the unsorted list (for O(1) removal). */
  pos: number;
}

export class RangePostings<T> {
  readonly lower: boolean;
  readonly #all: RangePosting<T>[] = [];
  #sorted: RangePosting<T>[] = [];
  #keys = new Float64Array(0);
  /** What a lookup reads, in the sorted order (see Bucket). */
  arrays = new PostingArrays<T>();
  #stale = false;

  constructor(lower: boolean) {
    this.lower = lower;
  }

  /** Postings in the list (a field, not a getter: read for every value). */
  size = 0;

  add(entry: Entry<T>, bound: number, inclusive: boolean): RangePosting<T> {
    const p: RangePosting<T> = { entry, key: this.lower ? bound : -bound, inclusive, pos: this.#all.length };
    this.#all.push(p);
    this.size++;
    this.#stale = true;
    return p;
  }

  /** The entries' checks or multi flags changed: rebuild the parallel arrays. */
  touch(): void {
    this.#stale = true;
  }

  delete(p: RangePosting<T>): void {
    const last = this.#all.pop()!;
    if (last !== p) {
      this.#all[p.pos] = last;
      last.pos = p.pos;
    }
    this.size--;
    this.#stale = true;
  }

  /** All postings, in no particular order. */
  get all(): readonly RangePosting<T>[] {
    return this.#all;
  }

  /**
   * How many postings `x` satisfies: they are [0, n) of the parallel arrays
   * (read them after this call). Pass the largest number at the path for
   * lower bounds, the smallest for upper bounds.
   */
  satisfiedBy(x: number): number {
    if (this.#stale) this.#rebuild();
    const k = this.lower ? x : -x;
    const keys = this.#keys;
    const sorted = this.#sorted;
    // Satisfied: key < k, or key === k and inclusive; monotone in this order.
    let lo = 0;
    let hi = keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const key = keys[mid]!;
      if (key < k || (key === k && sorted[mid]!.inclusive)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  #rebuild(): void {
    this.#sorted = [...this.#all].sort((a, b) => a.key - b.key || (a.inclusive === b.inclusive ? 0 : a.inclusive ? -1 : 1));
    this.#keys = Float64Array.from(this.#sorted, (p) => p.key);
    this.arrays = new PostingArrays<T>();
    for (const p of this.#sorted) this.arrays.push(p.entry);
    this.#stale = false;
  }
}
