// One path the filter index knows: the keys of the current value (ValuePath),
// and the statistics of the terms filters use on it: a decaying count per
// scalar (only scalars some condition mentions, so the memory is bounded by
// the filters, not by the data) and the recent numbers for numeric bounds.

import { NumberRing, type Counter } from "./term-stats.js";
import { ValuePath, type Scalar } from "./value-path.js";

/** How often sampled values hold one scalar at one path. */
export class TermCounter implements Counter {
  readonly value: Scalar;
  /** Conditions that mention it (it is dropped at 0). */
  refs = 0;
  count = 0;
  gen = 0;
  /** The last sample that counted it (a value holding it twice counts once). */
  sampled = 0;

  constructor(value: Scalar) {
    this.value = value;
  }
}

/**
 * Per index: the bits (IndexedPath.bit) of the paths found not plain in the
 * current value. The index resets it per value; a filter's match is proven
 * by its keys only when none of its paths' bits is set.
 */
export class Plainness {
  notPlain = 0;
}

export class IndexedPath extends ValuePath {
  /** One bit of 30, shared by every 30th path: a collision only makes a proof fail (the predicate then decides). */
  readonly bit: number;
  readonly #plainness: Plainness;
  /** Conditions that test this path (it is dropped at 0). */
  refs = 0;
  /** Conditions with a numeric bound on this path (the ring is kept while > 0). */
  rangeRefs = 0;
  /** Recent numbers at the path, for range estimates. */
  ring: NumberRing | null = null;
  /** Position in the index's list of paths (-1: not in it). */
  listPos = -1;

  // One map per scalar type, so a lookup needs no key string (and 1, "1" and true stay apart).
  readonly #strings = new Map<string, TermCounter>();
  readonly #numbers = new Map<number, TermCounter>();
  #true: TermCounter | undefined = undefined;
  #false: TermCounter | undefined = undefined;

  constructor(path: string, bit: number, plainness: Plainness) {
    super(path);
    this.bit = bit;
    this.#plainness = plainness;
  }

  override extract(root: object, epoch: number): void {
    if (this.epoch === epoch) return;
    super.extract(root, epoch);
    if (!this.plain) this.#plainness.notPlain |= this.bit;
  }

  counter(v: Scalar): TermCounter | undefined {
    switch (typeof v) {
      case "string":
        return this.#strings.get(v);
      case "number":
        return this.#numbers.get(v); // a Map treats 0 and -0 as one key, as MongoDB does
      default:
        return v ? this.#true : this.#false;
    }
  }

  acquireCounter(v: Scalar): TermCounter {
    let t = this.counter(v);
    if (!t) {
      t = new TermCounter(v);
      if (typeof v === "string") this.#strings.set(v, t);
      else if (typeof v === "number") this.#numbers.set(v, t);
      else if (v) this.#true = t;
      else this.#false = t;
    }
    t.refs++;
    return t;
  }

  releaseCounter(t: TermCounter): void {
    if (--t.refs > 0) return;
    const v = t.value;
    if (typeof v === "string") this.#strings.delete(v);
    else if (typeof v === "number") this.#numbers.delete(v);
    else if (v) this.#true = undefined;
    else this.#false = undefined;
  }

  acquireRange(): void {
    if (this.rangeRefs++ === 0) this.ring = new NumberRing();
  }

  releaseRange(): void {
    if (--this.rangeRefs === 0) this.ring = null;
  }
}
