// A percolator-style index of compiled filters (as in Luwak / Elasticsearch's
// percolator): instead of testing every filter on every value, each filter is
// filed under terms its query implies (filter/index-term.ts: an equality, a
// numeric bound, and / or of them), and a value only reaches the filters
// filed under terms it holds. Filters whose query implies no term are
// candidates for every value.
//
// - Filing follows measured selectivity: candidates() samples one value in
//   SAMPLE_EVERY and counts, per path, which terms it holds (term-stats.ts);
//   a filter is filed where the fewest values will reach it (index-plan.ts):
//   under one term, or under a pair of its terms (the second looked up only
//   in values holding the first: postings.ts), so that {plan: "enterprise",
//   country: "DE"} is reached by 1 value in 200, not 1 in 10.
// - Re-filing is amortised and aimed: the filters a sampled value reaches are
//   the ones that cost (a well-filed filter is rarely reached), so a few of
//   them are reconsidered after each sample, and moved when their filing has
//   become much worse than the best one; a slow round-robin sweep covers the
//   rest. Nothing is re-filed per value.
// - Warm-up: filters added before any data are filed by priors alone, so the
//   first WARM_SAMPLES values after a new path appears are all sampled and
//   the sweep is faster meanwhile.
// - A candidate's other terms are checked against the keys already extracted
//   from the value before it is returned, so few non-matching filters are.
// - Keys are extracted once per path and value, walking pre-split segments
//   (value-path.ts); numeric bounds are sorted per path (range-postings.ts).
// - Proven matches: an exact filter (CompiledFilter.indexExact: equalities,
//   $in and numeric bounds under and / or) reached on a value whose tested
//   paths hold no arrays is known to match from the keys alone, and is
//   returned apart, so the caller skips its predicate: for the filters users
//   write most, matching costs a lookup, not an evaluation.
//
// Correctness: candidates() returns a superset of the filters that match. A
// filter's condition is implied by its query, it is filed under a set of
// terms one of which holds whenever the condition does, and the checks only
// drop it when the extracted keys (a superset of what the predicate sees)
// show the condition fails.

import type { CompiledFilter, IndexCondition } from "../filter/index.js";
import {
  AND, bestOfAnd, bind, cheapest, describeTerm, EQ, filingProves, holdsCheck, mayHold, NO_CHECK, NOTHING_TO_CHECK, PlanNode, planPaths, postedCheck, RANGE,
  release, unitCost, type PathRegistry, type Unit,
} from "./index-plan.js";
import type { Entry } from "./index-entry.js";
import { IndexedPath, Plainness } from "./indexed-path.js";
import { F_CHECK, F_DEDUP, F_ITEM, F_KIND, F_PATH, F_PROOF, F_SCALAR, F_VERIFY, NOT_EXACT, STRIDE, type PostingArrays } from "./posting-arrays.js";
import { addToBucket, addToRange, refreshMulti, removePosting, Slot, type Bucket } from "./postings.js";
import type { RangePostings } from "./range-postings.js";
import { HALF_LIFE_SAMPLES, TermStats } from "./term-stats.js";
import type { Scalar } from "./value-path.js";

/** One value in this many is sampled for the statistics (a power of two). */
export const SAMPLE_EVERY = 64;
/** Values sampled one by one after a new path appears. */
export const WARM_SAMPLES = 1024;
/** Filters a sampled value reached that are reconsidered after it, at most. */
export const REFILE_PER_SAMPLE = 16;
/**
 * Filters the round-robin sweep reconsiders per sample: at least SWEEP, and
 * enough to cover all filters every SWEEP_SAMPLES samples (WARM_SAMPLES / 2
 * while warm, so that a cold index is re-filed twice on early statistics).
 */
const SWEEP = 4;
const SWEEP_SAMPLES = 4096;
/** Samples before the same filter is reconsidered again. */
export const REFILE_COOLDOWN_SAMPLES = 16;
/** A filing is moved when it costs more than this times the best (plus noise). */
const REFILE_FACTOR = 1.5;
/** Paths share this many bits of plainness (IndexedPath.bit). */
const PATH_BITS = 30;

/** Tuning (the defaults suit production; tests use smaller numbers to see re-filing quickly). */
export interface FilterIndexOptions {
  /** Sample one value in this many (rounded up to a power of two). Default SAMPLE_EVERY. */
  readonly sampleEvery?: number;
  /** Samples after which counts weigh half. Default HALF_LIFE_SAMPLES. */
  readonly halfLifeSamples?: number;
}

/** Counts for monitoring and benchmarks. */
export interface FilterIndexStats {
  readonly filters: number;
  /** Filters that are candidates for every value (no term). */
  readonly alwaysCandidates: number;
  readonly paths: number;
  readonly samples: number;
  /** Filters moved to a better filing since the index was made. */
  readonly refiled: number;
  /** Work since the index was made: filters reached (before their checks), and bucket lookups. */
  readonly visits: number;
  readonly lookups: number;
}

const isObject = (v: unknown): v is object => typeof v === "object" && v !== null && !Array.isArray(v);

export class FilterIndex<T> {
  readonly #entries = new Map<string, Entry<T>>();
  /** Every entry (the sweep's order). */
  readonly #all: Entry<T>[] = [];
  #cursor = 0;
  /** Entries that are candidates for every value. */
  readonly #always: Entry<T>[] = [];
  readonly #paths = new Map<string, IndexedPath>();
  /** Every path (sampled). */
  readonly #allPaths: IndexedPath[] = [];
  /** The top-level slots, by path; those with postings are in #slotList (looked up per value). */
  readonly #slots = new Map<IndexedPath, Slot<T>>();
  readonly #slotList: Slot<T>[] = [];
  readonly #registry: PathRegistry = {
    acquirePath: (path) => this.#acquirePath(path),
    releasePath: (p) => this.#releasePath(p),
  };
  readonly #stats: TermStats;
  readonly #sampleMask: number;
  #epoch = 0;
  #calls = 0;
  #sampleId = 0;
  /** Sample every value until this sample. */
  #warmUntil = 0;
  /** While a sampled value is looked up: the entries it reaches (up to REFILE_PER_SAMPLE). */
  #collecting = false;
  readonly #reached: Entry<T>[] = [];
  /** The current candidates() call's list of proven matches (null: none asked for). */
  #sure: T[] | null = null;
  #refiled = 0;
  #visits = 0;
  #lookups = 0;
  /** Which paths are not plain in the current value. */
  readonly #plainness = new Plainness();
  #pathsMade = 0;
  /** Per entry ordinal: the last epoch that reached it (entries filed more than once are deduplicated by it). */
  #marks = new Float64Array(64);
  readonly #freeOrdinals: number[] = [];
  #ordinals = 0;

  constructor(options: FilterIndexOptions = {}) {
    const every = Math.max(1, Math.floor(options.sampleEvery ?? SAMPLE_EVERY));
    this.#sampleMask = 2 ** Math.ceil(Math.log2(every)) - 1;
    this.#stats = new TermStats(options.halfLifeSamples ?? HALF_LIFE_SAMPLES);
  }

  /** Adds (or replaces) a filter, filed under its cheapest terms by the current statistics. */
  add(id: string, f: CompiledFilter, item: T): void {
    this.remove(id);
    const condition = f.indexCondition;
    const plan = condition ? bind(condition, this.#registry) : null;
    let proof = NOT_EXACT;
    if (plan !== null && f.indexExact) {
      proof = 0;
      for (const p of planPaths(plan)) proof |= p.bit;
    }
    const entry: Entry<T> = {
      id,
      item,
      plan,
      filed: [],
      postings: [],
      check: null,
      posted: NOTHING_TO_CHECK,
      ordinal: this.#takeOrdinal(),
      proof,
      verify: null,
      multi: false,
      considered: 0,
      pos: this.#all.length,
      alwaysPos: -1,
    };
    this.#entries.set(id, entry);
    this.#all.push(entry);
    if (entry.plan) {
      this.#file(entry);
    } else {
      entry.alwaysPos = this.#always.length;
      this.#always.push(entry);
    }
  }

  remove(id: string): void {
    const entry = this.#entries.get(id);
    if (!entry) return;
    this.#entries.delete(id);
    this.#freeOrdinals.push(entry.ordinal);
    swapRemove(this.#all, entry.pos, (e, pos) => (e.pos = pos));
    if (entry.alwaysPos >= 0) swapRemove(this.#always, entry.alwaysPos, (e, pos) => (e.alwaysPos = pos));
    if (entry.plan) {
      this.#unfile(entry);
      release(entry.plan, this.#registry);
    }
  }

  /**
   * Appends to `out` the items whose filter MAY match this parsed value
   * (undefined when the value is not JSON): those without a term, and those
   * filed under a term the value holds whose other terms it may hold. Each
   * item at most once. With `sure`, the items whose query is proven to match
   * by the keys alone go there instead (exact filters on plain paths: see
   * the top of this file); the caller need not run their predicate.
   */
  candidates(value: unknown, out: T[], sure: T[] | null = null): void {
    this.#sure = sure;
    this.#plainness.notPlain = 0;
    const always = this.#always;
    const sample = (this.#calls++ & this.#sampleMask) === 0 || this.#sampleId < this.#warmUntil;
    // Only JSON objects match a non-empty query.
    if (!isObject(value)) {
      // (Those with a check have a query.)
      for (let i = 0; i < always.length; i++) if (always[i]!.check === null) out.push(always[i]!.item);
      if (sample) this.#sample(null, 0);
      return;
    }
    const epoch = ++this.#epoch;
    for (let i = 0; i < always.length; i++) {
      const e = always[i]!;
      if (e.check === null || mayHold(e.check, value, epoch)) out.push(e.item);
    }
    this.#collecting = sample;
    const slots = this.#slotList;
    for (let i = 0; i < slots.length; i++) this.#lookup(slots[i]!, value, epoch, out);
    if (sample) {
      this.#collecting = false;
      this.#sample(value, epoch);
    }
  }

  get size(): number {
    return this.#entries.size;
  }

  /**
   * The terms a filter is filed under (a value holding any one of them makes
   * it a candidate, if its other terms may hold too): null when it is a
   * candidate for every value, [] when it can never match, undefined for an
   * unknown id. For tests and inspection.
   */
  filedUnder(id: string): IndexCondition[] | null | undefined {
    const e = this.#entries.get(id);
    if (!e) return undefined;
    if (!e.plan || e.alwaysPos >= 0) return null;
    return e.filed.map((u) =>
      u.second === null ? describeTerm(u.first) : { kind: "and", of: [describeTerm(u.first), describeTerm(u.second)] },
    );
  }

  stats(): FilterIndexStats {
    return {
      filters: this.#entries.size,
      alwaysCandidates: this.#always.length,
      paths: this.#paths.size,
      samples: this.#sampleId,
      refiled: this.#refiled,
      visits: this.#visits,
      lookups: this.#lookups,
    };
  }

  #visit(e: Entry<T>, value: object, epoch: number, out: T[]): void {
    const marks = this.#marks;
    if (marks[e.ordinal] === epoch) return;
    marks[e.ordinal] = epoch;
    if (this.#collecting && this.#reached.length < REFILE_PER_SAMPLE) this.#reached.push(e);
    if (e.check !== null && !mayHold(e.check, value, epoch)) return;
    const sure = this.#sure;
    if (sure !== null && this.#proves(e.proof, e.verify, value, epoch)) sure.push(e.item);
    else out.push(e.item);
  }

  /**
   * An entry reached and its check held: whether the keys prove its query.
   * It must be exact, what its filing did not cover must hold, and then
   * (after that check extracted its paths) none of its paths may be not plain.
   */
  #proves(proof: number, verify: PlanNode | null, value: object, epoch: number): boolean {
    if (proof === NOT_EXACT) return false;
    if (verify !== null && !mayHold(verify, value, epoch)) return false;
    return (proof & this.#plainness.notPlain) === 0;
  }

  #takeOrdinal(): number {
    const reused = this.#freeOrdinals.pop();
    if (reused !== undefined) {
      this.#marks[reused] = 0;
      return reused;
    }
    const o = this.#ordinals++;
    if (o >= this.#marks.length) {
      const bigger = new Float64Array(this.#marks.length * 2);
      bigger.set(this.#marks);
      this.#marks = bigger;
    }
    return o;
  }

  /** The entries of `slot` (and of its buckets' slots) whose terms the value holds. */
  #lookup(slot: Slot<T>, value: object, epoch: number, out: T[]): void {
    const p = slot.path;
    p.extract(value, epoch);
    if (p.saturated) {
      this.#visitAll(slot, value, epoch, out);
      return;
    }
    if (slot.buckets > 0) {
      const keys = p.keys;
      const count = p.keyCount;
      this.#lookups += count;
      for (let k = 0; k < count; k++) {
        const b = slot.bucket(keys[k]!);
        if (b === undefined || b.mark === epoch) continue;
        b.mark = epoch;
        this.#visitBucket(b, value, epoch, out);
      }
    }
    if (p.hasNumber) {
      if (slot.lower.size > 0) this.#visitRange(slot.lower, p.maxNumber, value, epoch, out);
      if (slot.upper.size > 0) this.#visitRange(slot.upper, p.minNumber, value, epoch, out);
    }
  }

  #visitBucket(b: Bucket<T>, value: object, epoch: number, out: T[]): void {
    this.#visitList(b, b.length, value, epoch, out);
    const subs = b.subs;
    for (let j = 0; j < subs.length; j++) this.#lookup(subs[j]!, value, epoch, out);
  }

  #visitRange(list: RangePostings<T>, x: number, value: object, epoch: number, out: T[]): void {
    const n = list.satisfiedBy(x);
    this.#visitList(list.arrays, n, value, epoch, out);
  }

  /**
   * Reaches positions [0, n) of a bucket's or bound list's arrays: the check
   * first (a failing filter is skipped whatever other posting reaches it),
   * then deduplication for entries filed more than once, then the proof for
   * exact ones; none of it reads the entry.
   */
  #visitList(a: PostingArrays<T>, n: number, value: object, epoch: number, out: T[]): void {
    this.#visits += n;
    if (this.#collecting) {
      // A sampled value: remember what it reached (for re-filing); rare, so the plain way.
      for (let j = 0; j < n; j++) this.#visit(a.entries[j]!, value, epoch, out);
      return;
    }
    const flat = a.flat;
    const marks = this.#marks;
    const sure = this.#sure;
    for (let o = 0, end = n * STRIDE; o < end; o += STRIDE) {
      const k = flat[o + F_KIND] as number;
      if (k !== NO_CHECK) {
        const held = holdsCheck(k, flat[o + F_CHECK] as PlanNode | null, flat[o + F_PATH] as IndexedPath | null, flat[o + F_SCALAR] as Scalar, value, epoch);
        if (!held) continue;
      }
      const dedup = flat[o + F_DEDUP] as number;
      if (dedup >= 0) {
        if (marks[dedup] === epoch) continue;
        marks[dedup] = epoch;
      }
      const item = flat[o + F_ITEM] as T;
      if (sure !== null && this.#proves(flat[o + F_PROOF] as number, flat[o + F_VERIFY] as PlanNode | null, value, epoch)) sure.push(item);
      else out.push(item);
    }
  }

  /** A saturated path may hold any key: everything filed in its slot is a candidate (checks still apply). */
  #visitAll(slot: Slot<T>, value: object, epoch: number, out: T[]): void {
    for (const b of slot.allBuckets()) {
      if (b.mark === epoch) continue;
      b.mark = epoch;
      this.#visitBucket(b, value, epoch, out);
    }
    for (const post of slot.lower.all) this.#visit(post.entry, value, epoch, out);
    for (const post of slot.upper.all) this.#visit(post.entry, value, epoch, out);
  }

  /** Files an entry with a plan under its cheapest units; the other top-level members become its check. */
  #file(e: Entry<T>): void {
    const plan = e.plan!;
    const stats = this.#stats;
    const filed: Unit[] = [];
    let check: PlanNode | null = null;
    let covered: boolean;
    if (plan.kind === AND) {
      const choice = bestOfAnd(plan, stats);
      if (choice.cost === Infinity) return this.#fileAlways(e);
      covered = choice.j >= 0 || filingProves(plan.of[choice.i]!);
      if (choice.j < 0) cheapest(plan.of[choice.i]!, stats, filed);
      else filed.push({ first: plan.of[choice.i]!, second: plan.of[choice.j]! });
      // The rest, most selective first (the check stops at the first that fails).
      const rest = plan.of
        .map((x, i) => ({ x, i, c: cheapest(x, stats, null) }))
        .filter((r) => r.i !== choice.i && r.i !== choice.j)
        .sort((a, b) => a.c - b.c)
        .map((r) => r.x);
      check = rest.length === 0 ? null : rest.length === 1 ? rest[0]! : PlanNode.group(AND, rest);
    } else {
      if (cheapest(plan, stats, null) === Infinity) return this.#fileAlways(e);
      cheapest(plan, stats, filed);
      covered = filingProves(plan);
    }
    e.filed = filed.slice();
    e.check = check;
    e.posted = postedCheck(check);
    e.verify = e.proof !== NOT_EXACT && !covered ? plan : null;
    e.multi = false;
    for (const u of filed) {
      const top = this.#slotOf(u.first.path!);
      if (u.second === null) {
        this.#post(e, top, u.first);
      } else if (u.second.kind !== EQ || u.second.values.length > 0) {
        // (A second term no value holds files nothing: the bucket is not even made.)
        for (const v of u.first.values) this.#post(e, top.bucketFor(v).sub(u.second.path!), u.second);
      }
      this.#updateList(top);
    }
    if (e.postings.length > 1) {
      e.multi = true;
      for (const p of e.postings) refreshMulti(p);
    }
    // Sized to what they hold (a push onto [] reserves 17 places).
    e.postings = e.postings.slice();
  }

  /**
   * A plan with nothing to file under (only checks, e.g. the literal of a
   * regex): a candidate for every value whose keys pass the whole plan.
   */
  #fileAlways(e: Entry<T>): void {
    e.filed = [];
    e.check = e.plan;
    e.verify = null;
    e.alwaysPos = this.#always.length;
    this.#always.push(e);
  }

  /** Posts `e` in `slot` under a term node: its values' buckets, or its bound. */
  #post(e: Entry<T>, slot: Slot<T>, n: PlanNode): void {
    if (n.kind === EQ) for (const v of n.values) e.postings.push(addToBucket(e, slot, v));
    else e.postings.push(addToRange(e, slot, n.lower, n.bound, n.inclusive));
  }

  #unfile(e: Entry<T>): void {
    for (const p of e.postings) removePosting(p);
    for (const u of e.filed) {
      const slot = this.#slots.get(u.first.path!);
      if (slot) this.#updateList(slot);
    }
    e.postings = [];
    e.filed = [];
    e.check = null;
    e.posted = NOTHING_TO_CHECK;
  }

  #slotOf(p: IndexedPath): Slot<T> {
    let slot = this.#slots.get(p);
    if (!slot) {
      slot = new Slot<T>(p, null);
      this.#slots.set(p, slot);
    }
    return slot;
  }

  /** Keeps #slotList = the top-level slots with postings (and drops empty ones). */
  #updateList(slot: Slot<T>): void {
    const has = slot.total > 0;
    if (has && slot.listPos < 0) {
      slot.listPos = this.#slotList.length;
      this.#slotList.push(slot);
    } else if (!has) {
      if (slot.listPos >= 0) swapRemove(this.#slotList, slot.listPos, (x, pos) => (x.listPos = pos));
      slot.listPos = -1;
      this.#slots.delete(slot.path);
    }
  }

  #acquirePath(path: string): IndexedPath {
    let p = this.#paths.get(path);
    if (!p) {
      p = new IndexedPath(path, 1 << this.#pathsMade++ % PATH_BITS, this.#plainness);
      this.#paths.set(path, p);
      p.listPos = this.#allPaths.length;
      this.#allPaths.push(p);
      this.#warmUntil = this.#sampleId + WARM_SAMPLES; // learn about it quickly
    }
    p.refs++;
    return p;
  }

  #releasePath(p: IndexedPath): void {
    if (--p.refs > 0) return;
    this.#paths.delete(p.path);
    swapRemove(this.#allPaths, p.listPos, (x, pos) => (x.listPos = pos));
    p.listPos = -1;
  }

  /**
   * Counts what one sampled value (null: not a JSON object) holds at every
   * known path, then reconsiders the filters it reached.
   */
  #sample(value: object | null, epoch: number): void {
    const stats = this.#stats;
    stats.tick();
    const id = ++this.#sampleId;
    for (const p of this.#allPaths) {
      if (value === null) {
        p.ring?.record(false, 0, 0);
        continue;
      }
      p.extract(value, epoch);
      if (p.saturated) continue; // says nothing about any one term
      const keys = p.keys;
      const count = p.keyCount;
      for (let k = 0; k < count; k++) {
        const t = p.counter(keys[k]!);
        if (t !== undefined && t.sampled !== id) {
          t.sampled = id;
          stats.bump(t);
        }
      }
      p.ring?.record(p.hasNumber, p.maxNumber, p.minNumber);
    }
    const reached = this.#reached;
    // (All still in the index: nothing is removed during a candidates() call.)
    for (const e of reached) this.#reconsider(e, id);
    reached.length = 0;
    const all = this.#all;
    const cover = id < this.#warmUntil ? WARM_SAMPLES / 2 : SWEEP_SAMPLES;
    const sweep = Math.min(all.length, Math.max(SWEEP, Math.ceil(all.length / cover)));
    for (let k = 0; k < sweep; k++) {
      if (this.#cursor >= all.length) this.#cursor = 0;
      this.#reconsider(all[this.#cursor++]!, id);
    }
  }

  /** Moves an entry whose filing costs much more than the best one now (at most once per cooldown). */
  #reconsider(e: Entry<T>, sampleId: number): void {
    const plan = e.plan;
    // One term: nothing to choose; always a candidate: nothing to file under.
    if (plan === null || plan.kind === EQ || plan.kind === RANGE || e.alwaysPos >= 0) return;
    if (e.considered !== 0 && sampleId - e.considered < REFILE_COOLDOWN_SAMPLES) return;
    e.considered = sampleId;
    const stats = this.#stats;
    let current = 0;
    for (const u of e.filed) current += unitCost(u, stats);
    const best = cheapest(plan, stats, null);
    if (current > REFILE_FACTOR * best + stats.noise()) {
      this.#unfile(e);
      this.#file(e);
      this.#refiled++;
    }
  }
}

/** Removes xs[pos] by moving the last element there (telling it its new position). */
function swapRemove<X>(xs: X[], pos: number, moved: (x: X, pos: number) => void): void {
  const last = xs.pop()!;
  if (pos < xs.length) {
    xs[pos] = last;
    moved(last, pos);
  }
}
