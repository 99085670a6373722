// Measured selectivity of index terms: how often sampled values hold a term,
// so that the index files each filter under the terms that are rarest in the
// data (not those with the shortest postings: a filter on {type: "click",
// user: "u7"} belongs under the user even when many filters share that user
// and "click" is in half of all events).
//
// Counts decay: every HALF_LIFE_SAMPLES samples all counts halve, lazily (a counter
// remembers the generation it was last brought up to date in), so the
// statistics follow a changing stream without a sweep over all counters.

/** Sampled values after which counts weigh half. */
export const HALF_LIFE_SAMPLES = 2048;
/** Pseudo-samples of the prior, so that a term nobody has seen yet is neither free nor hopeless. */
const PRIOR_WEIGHT = 2;
/** Prior share of values holding one given scalar at a path. */
export const PRIOR_EQ = 0.05;
/** Prior share of values satisfying a numeric bound. */
export const PRIOR_RANGE = 0.5;
/** Numbers per path kept for range estimates (the most recent samples). */
export const RANGE_RING = 256;

/** A decaying count (embedded in the index's term objects). */
export interface Counter {
  count: number;
  gen: number;
}

export class TermStats {
  readonly #halfLife: number;
  /** Decayed number of samples. */
  #samples = 0;
  #gen = 0;
  #sinceGen = 0;
  /** 0.5^k for k generations, and 0 beyond (a count that old is noise). */
  static readonly #decay = Array.from({ length: 64 }, (_, k) => 0.5 ** k);

  constructor(halfLifeSamples = HALF_LIFE_SAMPLES) {
    this.#halfLife = halfLifeSamples;
  }

  get samples(): number {
    return this.#samples;
  }

  /** A new sample starts (call before counting what it holds). */
  tick(): void {
    this.#samples++;
    if (++this.#sinceGen >= this.#halfLife) {
      this.#sinceGen = 0;
      this.#gen++;
      this.#samples /= 2;
    }
  }

  #current(c: Counter): number {
    const age = this.#gen - c.gen;
    if (age !== 0) {
      c.count *= TermStats.#decay[age] ?? 0;
      c.gen = this.#gen;
    }
    return c.count;
  }

  bump(c: Counter): void {
    this.#current(c);
    c.count++;
  }

  /** Estimated share of values that hold the counted term. */
  share(c: Counter): number {
    return (this.#current(c) + PRIOR_WEIGHT * PRIOR_EQ) / (this.#samples + PRIOR_WEIGHT);
  }

  /** The share of `hits` out of `of` recent samples, with the range prior. */
  rangeShare(hits: number, of: number): number {
    return (hits + PRIOR_WEIGHT * PRIOR_RANGE) / (of + PRIOR_WEIGHT);
  }

  /**
   * The smallest cost difference worth acting on: one sample's worth, so
   * that terms too rare to have been seen do not swap filters back and forth
   * on every count.
   */
  noise(): number {
    return 1 / (this.#samples + PRIOR_WEIGHT);
  }
}

/**
 * The recent numbers of one path (the largest and the smallest number of each
 * sampled value, NaN when it had none), for the share of values that satisfy
 * a bound. Each side's sorted copy, which answers hits(), is refreshed only
 * when asked for after RESORT_AFTER new samples: an estimate a few dozen
 * samples old is as good, and a sort per sample would cost more than the
 * sampling.
 */
export class NumberRing {
  static readonly RESORT_AFTER = 64;
  readonly #max = new NumberSide();
  readonly #min = new NumberSide();
  #next = 0;
  #filled = 0;

  record(has: boolean, max: number, min: number): void {
    this.#max.set(this.#next, has ? max : Number.NaN);
    this.#min.set(this.#next, has ? min : Number.NaN);
    this.#next = (this.#next + 1) % RANGE_RING;
    if (this.#filled < RANGE_RING) this.#filled++;
  }

  get filled(): number {
    return this.#filled;
  }

  /**
   * Recent samples that satisfy the bound: for a lower bound, whose largest
   * number is > bound (>= when inclusive); for an upper bound, whose smallest
   * is < bound (<=).
   */
  hits(lower: boolean, bound: number, inclusive: boolean): number {
    if (this.#filled === 0) return 0;
    if (lower) {
      const s = this.#max.sorted(this.#filled);
      // Count of x with x > bound (x >= bound): s is ascending, NaNs removed.
      return s.length - (inclusive ? firstAtLeast(s, bound) : firstAbove(s, bound));
    }
    const s = this.#min.sorted(this.#filled);
    return inclusive ? firstAbove(s, bound) : firstAtLeast(s, bound);
  }
}

/** One side of a NumberRing: the recorded numbers and a sorted copy. */
class NumberSide {
  readonly #xs = new Float64Array(RANGE_RING);
  readonly #buf = new Float64Array(RANGE_RING);
  #sorted: Float64Array | null = null;
  #unsorted = 0;

  set(i: number, x: number): void {
    this.#xs[i] = x;
    this.#unsorted++;
  }

  sorted(filled: number): Float64Array {
    if (this.#sorted === null || this.#unsorted >= NumberRing.RESORT_AFTER) {
      this.#sorted = sortedNumbers(this.#xs, filled, this.#buf);
      this.#unsorted = 0;
    }
    return this.#sorted;
  }
}

/** The numbers (not NaN) of xs[0, filled), ascending, in `buf` (no allocation but the view). */
function sortedNumbers(xs: Float64Array, filled: number, buf: Float64Array): Float64Array {
  let n = 0;
  for (let i = 0; i < filled; i++) {
    const x = xs[i]!;
    if (x === x) buf[n++] = x; // not NaN
  }
  return buf.subarray(0, n).sort();
}

/** First index i with s[i] >= x (s ascending). */
function firstAtLeast(s: Float64Array, x: number): number {
  let lo = 0;
  let hi = s.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (s[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First index i with s[i] > x (s ascending). */
function firstAbove(s: Float64Array, x: number): number {
  let lo = 0;
  let hi = s.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (s[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
