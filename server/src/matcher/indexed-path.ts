// One path the filter index knows: the keys of the current value (ValuePath),
// the terms filters use on it (for statistics and postings), and the filters
// filed under numeric bounds on it.

import { NumberRing, type Counter } from "./term-stats.js";
import { RangePostings } from "./range-postings.js";
import { ValuePath, type Scalar } from "./value-path.js";

/** An entry filed under a term (O(1) removal by position). */
export interface TermPosting<E> {
  readonly entry: E;
  readonly term: Term<E>;
  pos: number;
}

/** One scalar at one path, as used by the conditions of some filters. */
export class Term<E> implements Counter {
  readonly value: Scalar;
  /** Conditions that mention it (it is dropped at 0). */
  refs = 0;
  /** Decaying count of sampled values holding it (Counter). */
  count = 0;
  gen = 0;
  /** The last sample that counted it (a value holding it twice counts once). */
  sampled = 0;
  readonly postings: TermPosting<E>[] = [];

  constructor(value: Scalar) {
    this.value = value;
  }
}

export class IndexedPath<E> extends ValuePath {
  /** Conditions that test this path (it is dropped at 0). */
  refs = 0;
  /** Conditions with a numeric bound on this path (the ring is kept while > 0). */
  rangeRefs = 0;
  /** Recent numbers at the path, for range estimates. */
  ring: NumberRing | null = null;
  /** Entries filed under its terms, and under its bounds. */
  termPostings = 0;
  readonly lower = new RangePostings<E>(true);
  readonly upper = new RangePostings<E>(false);
  /** Positions in the index's lists of paths (-1: not in it). */
  allPos = -1;
  filingPos = -1;

  // One map per scalar type, so a lookup needs no key string (and 1, "1" and true stay apart).
  readonly #strings = new Map<string, Term<E>>();
  readonly #numbers = new Map<number, Term<E>>();
  #true: Term<E> | undefined = undefined;
  #false: Term<E> | undefined = undefined;

  get postings(): number {
    return this.termPostings + this.lower.size + this.upper.size;
  }

  term(v: Scalar): Term<E> | undefined {
    switch (typeof v) {
      case "string":
        return this.#strings.get(v);
      case "number":
        return this.#numbers.get(v); // a Map treats 0 and -0 as one key, as MongoDB does
      default:
        return v ? this.#true : this.#false;
    }
  }

  acquireTerm(v: Scalar): Term<E> {
    let t = this.term(v);
    if (!t) {
      t = new Term<E>(v);
      if (typeof v === "string") this.#strings.set(v, t);
      else if (typeof v === "number") this.#numbers.set(v, t);
      else if (v) this.#true = t;
      else this.#false = t;
    }
    t.refs++;
    return t;
  }

  releaseTerm(t: Term<E>): void {
    if (--t.refs > 0) return;
    const v = t.value;
    if (typeof v === "string") this.#strings.delete(v);
    else if (typeof v === "number") this.#numbers.delete(v);
    else if (v) this.#true = undefined;
    else this.#false = undefined;
  }

  /** Every term with postings (for a saturated path: all of them are candidates). */
  *postedTerms(): IterableIterator<Term<E>> {
    for (const t of this.#strings.values()) if (t.postings.length > 0) yield t;
    for (const t of this.#numbers.values()) if (t.postings.length > 0) yield t;
    if (this.#true && this.#true.postings.length > 0) yield this.#true;
    if (this.#false && this.#false.postings.length > 0) yield this.#false;
  }

  acquireRange(): void {
    if (this.rangeRefs++ === 0) this.ring = new NumberRing();
  }

  releaseRange(): void {
    if (--this.rangeRefs === 0) this.ring = null;
  }
}
