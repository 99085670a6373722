// The filter index is a sound superset: every filter whose predicate matches a
// value is among its candidates, for a seeded random workload (every
// operator, nesting, dotted and numeric paths, arrays, nulls, mixed types),
// also while filters are added and removed and the statistics move filters
// between terms.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { CompiledFilter } from "../../src/filter/index.js";
import { FilterIndex, WARM_SAMPLES } from "../../src/matcher/filter-index.js";
import { mulberry32 } from "../../src/util/prng.js";
import { filterOf, filters as randomFilters, scalar, value as randomValue, type Rnd, type Weights } from "./filter-index-workload.js";

interface Live {
  readonly id: string;
  readonly f: CompiledFilter;
}

/**
 * An index of `n` random filters, and the filters as the checks see them.
 * The index is past its warm-up (every value sampled, on the plain path that
 * reads the entries), so that the checks below run the lookup's fast path
 * (the posting lists' copies of each filter's check) on all but one value
 * in SAMPLE_EVERY.
 */
function randomIndex(rnd: Rnd, n: number, weights: Weights = {}): { fs: CompiledFilter[]; index: FilterIndex<Live>; live: Live[] } {
  const fs = randomFilters(rnd, n);
  const index = new FilterIndex<Live>();
  const live = fs.map((f, i) => ({ id: `f${i}`, f }));
  for (const l of live) index.add(l.id, l.f, l);
  for (let i = 0; i <= WARM_SAMPLES; i++) index.candidates(randomValue(rnd, weights), []);
  return { fs, index, live };
}

/**
 * The first (value, filter) the index gets wrong, or null: a match that is
 * neither a candidate nor proven, or a proven filter that does not match.
 * Also checks that no item is returned twice (in either list).
 */
function firstMiss(index: FilterIndex<Live>, live: readonly Live[], v: unknown): string | null {
  const out: Live[] = [];
  const sure: Live[] = [];
  index.candidates(v, out, sure);
  const cand = new Set([...out, ...sure]);
  assert.equal(cand.size, out.length + sure.length, "no duplicates");
  for (const l of sure) {
    if (!l.f.matchesValue(v)) {
      return `filter ${l.id} ${l.f.spec.query} is proven to match ${JSON.stringify(v)} but does not (filed under ${JSON.stringify(index.filedUnder(l.id))})`;
    }
  }
  for (const l of live) {
    if (l.f.matchesValue(v) && !cand.has(l)) {
      return `filter ${l.id} ${l.f.spec.query} matches ${JSON.stringify(v)} but is not a candidate (filed under ${JSON.stringify(index.filedUnder(l.id))})`;
    }
  }
  return null;
}

function check(
  index: FilterIndex<Live>,
  live: readonly Live[],
  values: readonly unknown[],
): { matches: number; candidates: number; proven: number } {
  let matches = 0;
  let candidates = 0;
  let proven = 0;
  for (const v of values) {
    const miss = firstMiss(index, live, v);
    assert.equal(miss, null, miss ?? "");
    const out: Live[] = [];
    const sure: Live[] = [];
    index.candidates(v, out, sure);
    candidates += out.length + sure.length;
    proven += sure.length;
    for (const l of live) if (l.f.matchesValue(v)) matches++;
  }
  return { matches, candidates, proven };
}

test("every match is a candidate: random filters and values", () => {
  const rnd = mulberry32(20_260_611);
  const { fs, index, live } = randomIndex(rnd, 600);
  const values = Array.from({ length: 500 }, () => randomValue(rnd));
  const { matches, candidates, proven } = check(index, live, values);
  // The workload is meaningful: plenty of matches, and the index skipped most filters.
  assert.ok(matches > 2000, `matches: ${matches}`);
  assert.ok(proven > 0, `proven: ${proven}`);
  assert.ok(candidates < (live.length * values.length) / 3, `candidates: ${candidates}`);
  assert.ok(fs.filter((f) => f.indexCondition !== null).length > 350, "most random filters have a condition");
});

test("every proven match matches, and every match is found: random filters, values without arrays", () => {
  // Documents without arrays: the paths where the index proves matches of exact filters.
  const rnd = mulberry32(31_337);
  const { fs, index, live } = randomIndex(rnd, 600, { noArrays: true });
  const values = Array.from({ length: 800 }, () => randomValue(rnd, { noArrays: true }));
  const { matches, proven } = check(index, live, values);
  assert.ok(matches > 2000, `matches: ${matches}`);
  // Without arrays every path is plain: every match of an exact filter is proven.
  let exactMatches = 0;
  for (const v of values) for (const l of live) if (l.f.indexExact && l.f.matchesValue(v)) exactMatches++;
  assert.equal(proven, exactMatches);
  assert.ok(proven > 200, `proven: ${proven} of ${matches} matches`);
});

test("every match is a candidate while filters come and go and the statistics re-file them", () => {
  const rnd = mulberry32(7_700_111);
  // Every value sampled, short memory: the statistics change within the test.
  const index = new FilterIndex<Live>({ sampleEvery: 1, halfLifeSamples: 64 });
  let live: Live[] = [];
  let next = 0;
  const addSome = (n: number) => {
    for (const f of randomFilters(rnd, n)) {
      const l = { id: `f${next++}`, f };
      index.add(l.id, l.f, l);
      live.push(l);
    }
  };
  addSome(400);
  // Phases skew the scalars differently, so that terms become common or rare.
  const phases: Weights[] = [
    {},
    { scalar: (r: Rnd) => (r() < 0.7 ? "x" : scalar(r)) },
    { scalar: (r: Rnd) => (r() < 0.7 ? 1 : r() < 0.5 ? true : scalar(r)) },
    { scalar: (r: Rnd) => (r() < 0.6 ? [2, "y"][Math.floor(r() * 2)] : scalar(r)) },
    {},
  ];
  const filedBefore = new Map(live.map((l) => [l.id, JSON.stringify(index.filedUnder(l.id))]));
  for (const weights of phases) {
    // Learn the phase's statistics (candidates() samples every value), checking as we go.
    check(index, live, Array.from({ length: 250 }, () => randomValue(rnd, weights)));
    // Replace a fifth of the filters, and re-add some under their old id.
    const removed = live.filter(() => rnd() < 0.2);
    for (const l of removed) index.remove(l.id);
    live = live.filter((l) => !removed.includes(l));
    for (const l of removed.slice(0, 20)) {
      index.add(l.id, l.f, l);
      live.push(l);
    }
    addSome(removed.length - Math.min(20, removed.length));
    assert.equal(index.size, live.length);
    check(index, live, Array.from({ length: 150 }, () => randomValue(rnd, weights)));
  }
  const moved = live.filter((l) => filedBefore.has(l.id) && filedBefore.get(l.id) !== JSON.stringify(index.filedUnder(l.id)));
  assert.ok(index.stats().refiled > 20, `refiled: ${index.stats().refiled}`);
  assert.ok(moved.length > 10, `filters that moved: ${moved.length}`);
  // Everything removed: nothing is left behind.
  for (const l of live) index.remove(l.id);
  assert.equal(index.size, 0);
  const { filters, alwaysCandidates, paths } = index.stats();
  assert.deepEqual({ filters, alwaysCandidates, paths }, { filters: 0, alwaysCandidates: 0, paths: 0 });
  const out: Live[] = [];
  index.candidates({ a: "x", b: 1 }, out);
  assert.deepEqual(out, []);
});

test("the checker catches an index that drops a candidate", () => {
  // The property above is only worth something if a miss fails it: drop the
  // candidates of one kind of filter and watch the same check find it.
  const rnd = mulberry32(99);
  const { fs, index, live } = randomIndex(rnd, 300);
  const lossy = {
    candidates(v: unknown, out: Live[]) {
      const all: Live[] = [];
      index.candidates(v, all);
      for (const l of all) if (!l.f.spec.query.includes('"a.0"')) out.push(l);
    },
    filedUnder: (id: string) => index.filedUnder(id),
  } as unknown as FilterIndex<Live>;
  const values = Array.from({ length: 300 }, () => randomValue(rnd));
  assert.ok(values.some((v) => firstMiss(lossy, live, v) !== null), "dropping the filters on a.0 is noticed");
});

test("the checker catches an index that proves a filter that does not match", () => {
  // Likewise for proofs: report every candidate as proven and the check must
  // find one that does not match.
  const rnd = mulberry32(4242);
  const { fs, index, live } = randomIndex(rnd, 300);
  const overconfident = {
    candidates(v: unknown, out: Live[], sure: Live[] | null) {
      index.candidates(v, sure ?? out, sure);
    },
    filedUnder: (id: string) => index.filedUnder(id),
  } as unknown as FilterIndex<Live>;
  const values = Array.from({ length: 300 }, () => randomValue(rnd));
  assert.ok(values.some((v) => firstMiss(overconfident, live, v)?.includes("is proven to match")), "a false proof is noticed");
});

test("checks of several members (the first held in the posting lists, the rest read after it): random conjunctions", () => {
  // Conjunctions of 3-5 equalities, bounds and regexes with literals on a few
  // plain fields: each is filed under one or two members and checks the
  // others, so every part of a posted check decides some (value, filter).
  const rnd = mulberry32(5_150_001);
  const FIELDS = ["a", "b", "c", "d", "e"] as const;
  const WORDS = ["xyz1", "axyz", "q", "xy"] as const;
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
  const member = (): unknown => {
    const r = rnd();
    if (r < 0.45) return Math.floor(rnd() * 3);
    if (r < 0.6) return { $in: [Math.floor(rnd() * 3), Math.floor(rnd() * 3)] };
    if (r < 0.75) return { $gt: Math.floor(rnd() * 3) - 1 };
    if (r < 0.85) return { $lte: Math.floor(rnd() * 3) };
    return { $regex: pick(["xyz", "^axyz", "yz1$"]) };
  };
  const filters = Array.from({ length: 500 }, () => {
    const q: Record<string, unknown> = {};
    const n = 3 + Math.floor(rnd() * 3);
    for (const f of [...FIELDS].sort(() => rnd() - 0.5).slice(0, n)) q[f] = member();
    return filterOf(q);
  });
  const value = (): Record<string, unknown> => {
    const v: Record<string, unknown> = {};
    for (const f of FIELDS) v[f] = rnd() < 0.75 ? Math.floor(rnd() * 3) : pick(WORDS);
    return v;
  };
  const index = new FilterIndex<Live>();
  const live = filters.map((f, i) => ({ id: `f${i}`, f }));
  for (const l of live) index.add(l.id, l.f, l);
  for (let i = 0; i <= WARM_SAMPLES; i++) index.candidates(value(), []);
  const values = Array.from({ length: 1500 }, value);
  const { matches, candidates, proven } = check(index, live, values);
  assert.ok(matches > 500, `matches: ${matches}`);
  assert.ok(proven > 300, `proven: ${proven}`);
  assert.ok(candidates < matches * 3, `candidates: ${candidates} for ${matches} matches`);
});
