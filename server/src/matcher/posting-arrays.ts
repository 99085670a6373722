// What a lookup reads about the filters filed in one place (a bucket, or a
// list of numeric bounds in sorted order), side by side in one array: the
// filter at position j occupies flat[j * STRIDE, (j + 1) * STRIDE), so that
// reaching it reads one stretch of memory and touches neither its entry nor
// its plan unless it must. At 10,000 filters and more those objects, and the
// separate arrays this replaced (one per field: nine objects and nine
// backing stores per bucket), are spread over the heap, and each first read
// of one is a cache miss that costs more than all the rest of reaching it.
import type { Entry } from "./index-entry.js";

/** `F_PROOF` of an entry whose match the keys cannot prove. */
export const NOT_EXACT = -1;

/** Fields per posting in PostingArrays.flat, in the order a lookup reads them. */
export const STRIDE = 8;
/** How the entry's check is held (Entry.posted; index-plan.ts: postedCheck, holdsCheck): its kind, */
export const F_KIND = 0;
/** the scalar, bound or text of its copied member, and that member's path, */
export const F_SCALAR = 1;
export const F_PATH = 2;
/** and the rest of the check. */
export const F_CHECK = 3;
/** Filed more than once: its ordinal (reaching it is deduplicated by the index's marks); else -1. */
export const F_DEDUP = 4;
/** Exact entries: the bits of their paths (Entry.proof); NOT_EXACT otherwise. */
export const F_PROOF = 5;
/** Exact entries: what is left to prove (Entry.verify). */
export const F_VERIFY = 6;
export const F_ITEM = 7;

export class PostingArrays<T> {
  // Not readonly: a first push replaces each empty array with a literal
  // (append(), below): a push onto [] reserves 17 places, and most terms
  // have one filter.
  entries: Entry<T>[] = [];
  flat: unknown[] = [];
  /** Postings held (a field, not a getter: read for every value). */
  length = 0;

  push(e: Entry<T>): void {
    this.entries = append(this.entries, e);
    const c = e.posted;
    const dedup = e.multi ? e.ordinal : -1;
    if (this.length === 0) this.flat = [c.kind, c.x, c.path, c.rest, dedup, e.proof, e.verify, e.item];
    else this.flat.push(c.kind, c.x, c.path, c.rest, dedup, e.proof, e.verify, e.item);
    this.length++;
  }

  /** Removes position `pos` by moving the last position there. */
  swapRemove(pos: number): void {
    const last = this.entries.length - 1;
    const flat = this.flat;
    if (pos !== last) {
      this.entries[pos] = this.entries[last]!;
      for (let f = 0; f < STRIDE; f++) flat[pos * STRIDE + f] = flat[last * STRIDE + f];
    }
    this.entries.pop();
    flat.length = last * STRIDE;
    this.length = last;
  }

  /** The entry at `pos` changed its multi flag since it was pushed. */
  refreshMulti(pos: number): void {
    const e = this.entries[pos]!;
    this.flat[pos * STRIDE + F_DEDUP] = e.multi ? e.ordinal : -1;
  }
}

/**
 * `a` with `x` at its end: a one-element literal when `a` is empty (a push
 * onto [] reserves 17 places, and most terms have one filter), else `a`.
 */
export function append<X>(a: X[], x: X): X[] {
  if (a.length === 0) return [x];
  a.push(x);
  return a;
}
