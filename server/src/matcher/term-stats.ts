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
 * a bound. The sorted copies that answer hits() are refreshed only after
 * RESORT_AFTER new samples: an estimate a few samples old is as good, and a
 * sort per sample would cost more than the sampling.
 */
export class NumberRing {
  static readonly RESORT_AFTER = 32;
  readonly #max = new Float64Array(RANGE_RING);
  readonly #min = new Float64Array(RANGE_RING);
  readonly #sortedMaxBuf = new Float64Array(RANGE_RING);
  readonly #sortedMinBuf = new Float64Array(RANGE_RING);
  #sortedMax: Float64Array | null = null;
  #sortedMin: Float64Array | null = null;
  #next = 0;
  #filled = 0;
  /** Samples recorded since the sorted copies were made. */
  #unsorted = 0;

  record(has: boolean, max: number, min: number): void {
    this.#max[this.#next] = has ? max : Number.NaN;
    this.#min[this.#next] = has ? min : Number.NaN;
    this.#next = (this.#next + 1) % RANGE_RING;
    if (this.#filled < RANGE_RING) this.#filled++;
    this.#unsorted++;
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
    if (this.#sortedMax === null || this.#unsorted >= NumberRing.RESORT_AFTER) {
      this.#sortedMax = sortedNumbers(this.#max, this.#filled, this.#sortedMaxBuf);
      this.#sortedMin = sortedNumbers(this.#min, this.#filled, this.#sortedMinBuf);
      this.#unsorted = 0;
    }
    if (lower) {
      const s = this.#sortedMax;
      // Count of x with x > bound (x >= bound): s is ascending, NaNs removed.
      return s.length - (inclusive ? firstAtLeast(s, bound) : firstAbove(s, bound));
    }
    const s = this.#sortedMin!;
    return inclusive ? firstAbove(s, bound) : firstAtLeast(s, bound);
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
