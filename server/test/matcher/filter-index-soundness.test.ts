// The filter index is a sound superset: every filter whose predicate matches a
// value is among its candidates, for a seeded random workload (every
// operator, nesting, dotted and numeric paths, arrays, nulls, mixed types),
// also while filters are added and removed and the statistics move filters
// between terms.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { CompiledFilter } from "../../src/filter/index.js";
import { FilterIndex } from "../../src/matcher/filter-index.js";
import { mulberry32 } from "../../src/util/prng.js";
import { filters as randomFilters, scalar, value as randomValue, type Rnd, type Weights } from "./filter-index-workload.js";

interface Live {
  readonly id: string;
  readonly f: CompiledFilter;
}

/** The first (value, filter) the index misses, or null; also checks that no item is returned twice. */
function firstMiss(index: FilterIndex<Live>, live: readonly Live[], v: unknown): string | null {
  const out: Live[] = [];
  index.candidates(v, out);
  const cand = new Set(out);
  assert.equal(cand.size, out.length, "no duplicates");
  for (const l of live) {
    if (l.f.matchesValue(v) && !cand.has(l)) {
      return `filter ${l.id} ${l.f.spec.query} matches ${JSON.stringify(v)} but is not a candidate (filed under ${JSON.stringify(index.filedUnder(l.id))})`;
    }
  }
  return null;
}

function check(index: FilterIndex<Live>, live: readonly Live[], values: readonly unknown[]): { matches: number; candidates: number } {
  let matches = 0;
  let candidates = 0;
  for (const v of values) {
    const miss = firstMiss(index, live, v);
    assert.equal(miss, null, miss ?? "");
    const out: Live[] = [];
    index.candidates(v, out);
    candidates += out.length;
    for (const l of live) if (l.f.matchesValue(v)) matches++;
  }
  return { matches, candidates };
}

test("every match is a candidate: random filters and values", () => {
  const rnd = mulberry32(20_260_611);
  const fs = randomFilters(rnd, 600);
  const index = new FilterIndex<Live>();
  const live = fs.map((f, i) => ({ id: `f${i}`, f }));
  for (const l of live) index.add(l.id, l.f, l);
  const values = Array.from({ length: 500 }, () => randomValue(rnd));
  const { matches, candidates } = check(index, live, values);
  // The workload is meaningful: plenty of matches, and the index skipped most filters.
  assert.ok(matches > 2000, `matches: ${matches}`);
  assert.ok(candidates < (live.length * values.length) / 3, `candidates: ${candidates}`);
  assert.ok(fs.filter((f) => f.indexCondition !== null).length > 350, "most random filters have a condition");
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
  const fs = randomFilters(rnd, 300);
  const index = new FilterIndex<Live>();
  const live = fs.map((f, i) => ({ id: `f${i}`, f }));
  for (const l of live) index.add(l.id, l.f, l);
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
