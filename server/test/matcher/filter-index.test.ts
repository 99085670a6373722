import assert from "node:assert/strict";
import { test } from "node:test";
import { compileFilter, type CompiledFilter, type IndexCondition } from "../../src/filter/index.js";
import { FilterIndex } from "../../src/matcher/filter-index.js";
import { mulberry32 } from "../../src/util/prng.js";

const filter = (query: object | string): CompiledFilter =>
  compileFilter({
    topics: ["t"],
    topicRegex: "",
    keyPrefix: [],
    keyRegex: "",
    query: typeof query === "string" ? query : JSON.stringify(query),
    projection: "",
  });

function candidates<T>(index: FilterIndex<T>, value: unknown): T[] {
  const out: T[] = [];
  index.candidates(value, out);
  return out;
}

const sorted = (xs: string[]) => [...xs].sort();

/** The term a filter is filed under first (alone, or as the first of a pair). */
function lead<T>(index: FilterIndex<T>, id: string): IndexCondition | undefined {
  const filed = index.filedUnder(id);
  assert.ok(filed && filed.length === 1, `${id} is filed under one term or pair: ${JSON.stringify(filed)}`);
  const f = filed[0]!;
  return f.kind === "and" ? f.of[0] : f;
}

test("filters without a term are always candidates; others only on their values", () => {
  const index = new FilterIndex<string>();
  index.add("all", filter(""), "all");
  index.add("or", filter({ $or: [{ type: "a" }, { type: "b" }] }), "or");
  index.add("nor", filter({ $nor: [{ type: "a" }] }), "nor");
  index.add("a", filter({ type: "a" }), "a");
  index.add("ab", filter({ type: { $in: ["a", "b"] }, n: { $gt: 1 } }), "ab");
  index.add("one", filter({ type: 1 }), "one");
  assert.equal(index.size, 6);
  assert.deepEqual(sorted(candidates(index, { type: "a", n: 2 })), ["a", "ab", "all", "nor", "or"]);
  assert.deepEqual(sorted(candidates(index, { type: "a" })), ["a", "all", "nor", "or"], "ab's other term (n > 1) is checked");
  assert.deepEqual(sorted(candidates(index, { type: "b", n: 2 })), ["ab", "all", "nor", "or"]);
  assert.deepEqual(sorted(candidates(index, { type: "1" })), ["all", "nor"], '"1" is not 1');
  assert.deepEqual(sorted(candidates(index, { type: 1 })), ["all", "nor", "one"]);
  assert.deepEqual(sorted(candidates(index, { type: ["x", "b", "a"], n: [0, 5] })), ["a", "ab", "all", "nor", "or"], "array fields, no duplicates");
  assert.deepEqual(sorted(candidates(index, {})), ["all", "nor"]);
  assert.deepEqual(sorted(candidates(index, undefined)), ["all", "nor"], "not JSON");
  assert.deepEqual(sorted(candidates(index, "a")), ["all", "nor"], "not an object");
});

test("remove and replace", () => {
  const index = new FilterIndex<string>();
  index.add("x", filter({ type: "a" }), "x1");
  index.add("y", filter({ type: "a" }), "y");
  index.add("x", filter({ type: "b" }), "x2");
  assert.equal(index.size, 2);
  assert.deepEqual(candidates(index, { type: "a" }), ["y"]);
  assert.deepEqual(candidates(index, { type: "b" }), ["x2"]);
  index.remove("x");
  index.remove("x");
  index.remove("nope");
  assert.equal(index.size, 1);
  assert.deepEqual(candidates(index, { type: "b" }), []);
  index.remove("y");
  assert.equal(index.size, 0);
  assert.deepEqual(candidates(index, { type: "a" }), []);
});

test("a filter with several terms is filed under the one rarest in the data, and moves when that changes", () => {
  // Quick statistics: every value sampled, a short memory.
  const index = new FilterIndex<string>({ sampleEvery: 1, halfLifeSamples: 500 });
  for (let i = 0; i < 50; i++) index.add(`f${i}`, filter({ type: "click", user: `u${i}` }), `f${i}`);
  // Every value is a click of some user: "click" is the worse term, whatever the postings say.
  for (let n = 0; n < 2000; n++) candidates(index, { type: "click", user: `u${n % 1000}` });
  for (let i = 0; i < 50; i++) assert.deepEqual(lead(index, `f${i}`), { kind: "eq", path: "user", values: [`u${i}`] });
  assert.deepEqual(sorted(candidates(index, { type: "click", user: "u7" })), ["f7"]);
  // Now users u0..u49 are in every value and "click" in none: the filters move.
  const everyone = Array.from({ length: 50 }, (_, i) => `u${i}`);
  for (let n = 0; n < 5000; n++) candidates(index, { type: "view", user: everyone });
  for (let i = 0; i < 50; i++) assert.deepEqual(lead(index, `f${i}`), { kind: "eq", path: "type", values: ["click"] });
  assert.ok(index.stats().refiled >= 100);
  assert.deepEqual(sorted(candidates(index, { type: "click", user: "u7" })), ["f7"], "the user term is now a check");
});

test("property: candidates are a superset of the matches, equal to brute force after matching", () => {
  const rnd = mulberry32(20240611);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
  const SCALARS = ["a", "b", "c", 1, 2, "1", true, false, 0, -0, 1.5, null] as const;
  const PATHS = ["type", "user", "tags", "n.x", "n.0", "items.k", "deep.a.b"] as const;

  const scalar = () => pick(SCALARS);
  // Values at a path: scalars, arrays (also nested), objects, arrays of objects.
  const fieldValue = (depth: number): unknown => {
    const r = rnd();
    if (r < 0.45 || depth > 2) return scalar();
    if (r < 0.7) return Array.from({ length: Math.floor(rnd() * 4) }, () => fieldValue(depth + 1));
    if (r < 0.85) return { x: fieldValue(depth + 1), k: scalar(), 0: scalar(), a: { b: scalar() } };
    return [[scalar()], { x: scalar(), k: [scalar()] }];
  };
  const doc = (): unknown => {
    if (rnd() < 0.03) return pick([undefined, 5, "x", null, [{ type: "a" }]]);
    const d: Record<string, unknown> = {};
    for (const f of ["type", "user", "tags", "n", "items", "deep"]) if (rnd() < 0.7) d[f] = fieldValue(0);
    return d;
  };
  const condition = (): unknown => {
    const r = rnd();
    if (r < 0.3) return scalar();
    if (r < 0.4) return { $eq: scalar() };
    if (r < 0.55) return { $in: Array.from({ length: 1 + Math.floor(rnd() * 3) }, scalar) };
    if (r < 0.6) return { $in: [scalar(), [scalar()]] };
    if (r < 0.65) return { $nin: [scalar()] };
    if (r < 0.7) return { $ne: scalar() };
    if (r < 0.75) return { $exists: rnd() < 0.5 };
    if (r < 0.8) return { $not: { $eq: scalar() } };
    if (r < 0.85) return { $elemMatch: { $eq: scalar() } };
    if (r < 0.9) return { $eq: scalar(), $exists: true };
    if (r < 0.95) return [scalar()];
    return { $gt: 0 };
  };
  const fieldConditions = (): Record<string, unknown> => {
    const q: Record<string, unknown> = {};
    const n = 1 + Math.floor(rnd() * 3);
    for (let i = 0; i < n; i++) q[pick(PATHS)] = condition();
    return q;
  };
  const query = (): object => {
    const r = rnd();
    if (r < 0.05) return {};
    const q = fieldConditions();
    if (r < 0.25) q["$and"] = [fieldConditions(), { $and: [fieldConditions()] }];
    else if (r < 0.35) q["$or"] = [fieldConditions(), fieldConditions()];
    else if (r < 0.4) q["$nor"] = [fieldConditions()];
    return q;
  };

  const index = new FilterIndex<number>();
  const filters: CompiledFilter[] = [];
  for (let i = 0; i < 400; i++) {
    const f = filter(query());
    filters.push(f);
    index.add(`f${i}`, f, i);
  }
  // Remove some and add them back under their id, to exercise remove().
  for (let i = 0; i < 400; i += 7) index.remove(`f${i}`);
  for (let i = 0; i < 400; i += 7) index.add(`f${i}`, filters[i] as CompiledFilter, i);
  assert.equal(index.size, 400);
  assert.ok(filters.filter((f) => f.indexCondition !== null).length > 150, "most random filters have a term");

  let totalCandidates = 0;
  let totalMatches = 0;
  for (let d = 0; d < 400; d++) {
    const value = doc();
    const out = candidates(index, value);
    assert.equal(new Set(out).size, out.length, "no duplicates");
    const cand = new Set(out);
    const brute = filters.flatMap((f, i) => (f.matchesValue(value) ? [i] : []));
    for (const i of brute) {
      assert.ok(cand.has(i), `filter ${JSON.stringify(filters[i]?.spec.query)} matches ${JSON.stringify(value)} but is not a candidate`);
    }
    const viaIndex = out.filter((i) => (filters[i] as CompiledFilter).matchesValue(value)).sort((a, b) => a - b);
    assert.deepEqual(viaIndex, brute);
    totalCandidates += out.length;
    totalMatches += brute.length;
  }
  assert.ok(totalMatches > 0);
  assert.ok(totalCandidates < 400 * 400, "the index skipped some filters");
});

test("exact filters are proven to match by their keys, unless arrays are on their paths", () => {
  const index = new FilterIndex<string>();
  const add = (id: string, q: object) => index.add(id, filter(q), id);
  add("eq", { tenant: "t-1" });
  add("in-range", { tenant: "t-1", level: { $in: ["warn", "error"] }, ms: { $gt: 100 } });
  add("dotted", { "user.id": "u-1" });
  add("or", { $or: [{ tenant: "t-2" }, { "user.id": "u-1" }] });
  add("or-of-and", { $or: [{ tenant: "t-1", level: "info" }, { "user.id": "u-9" }] });
  add("regex", { tenant: "t-1", msg: { $regex: "x" } }); // not exact: the regex is not in the condition
  add("ne", { tenant: "t-1", level: { $ne: "debug" } }); // not exact
  const split = (v: unknown) => {
    const out: string[] = [];
    const sure: string[] = [];
    index.candidates(v, out, sure);
    return { maybe: sorted(out), sure: sorted(sure) };
  };
  assert.deepEqual(split({ tenant: "t-1", level: "warn", ms: 150, user: { id: "u-1" }, msg: "x" }), {
    maybe: ["ne", "regex"],
    sure: ["dotted", "eq", "in-range", "or"],
  });
  // The bound fails: in-range is not even a candidate; or-of-and's branch is filed under one of its terms and proven by the rest.
  assert.deepEqual(split({ tenant: "t-1", level: "info", ms: 100 }), { maybe: ["ne", "regex"], sure: ["eq", "or-of-and"] });
  // A filing inside an $or branch covers part of it: the rest is checked before a proof (level is not "info" here).
  const v = { tenant: "t-1", level: "warn", ms: 1 };
  assert.ok(!split(v).sure.includes("or-of-and"));
  assert.equal(filter({ $or: [{ tenant: "t-1", level: "info" }, { "user.id": "u-9" }] }).matchesValue(v), false);
  // Arrays on a path: MongoDB's array rules apply, so the predicate decides.
  assert.deepEqual(split({ tenant: ["t-1"], user: [{ id: "u-1" }] }), { maybe: ["dotted", "eq", "ne", "or", "regex"], sure: [] });
  // Without a list for proofs, everything is a candidate as before.
  assert.deepEqual(sorted(candidates(index, { tenant: "t-1", user: { id: "u-1" } })), ["dotted", "eq", "ne", "or", "regex"]);
});

test("which queries are exact", () => {
  const exact = (q: object) => filter(q).indexExact;
  for (const q of [
    { a: 1 },
    { a: "x", "b.c": true },
    { a: { $in: [1, "1", false] } },
    { a: { $eq: 2 }, b: { $gte: 1, $lt: 5 } },
    { $or: [{ a: 1 }, { b: { $in: [] } }] },
    { $and: [{ a: 1 }, { $or: [{ b: 2 }, { c: { $lte: -1.5 } }] }] },
  ]) {
    assert.equal(exact(q), true, JSON.stringify(q));
  }
  for (const q of [
    { a: null },
    { a: [1] },
    { a: { b: 1 } },
    { a: { $in: [1, null] } },
    { a: { $eq: [1] } },
    { a: { $ne: 1 } },
    { a: 1, b: { $exists: true } },
    { a: { $all: [1] } },
    { a: { $gt: "x" } },
    { a: 1, b: { $regex: "x" } },
    { $or: [{ a: 1 }, { b: { $ne: 2 } }] },
    { $nor: [{ a: 1 }] },
    { a: { $elemMatch: { $gt: 1 } } },
  ]) {
    assert.equal(exact(q), false, JSON.stringify(q));
  }
});

test("a regex's literal is checked before its predicate runs", () => {
  const index = new FilterIndex<string>();
  index.add("alone", filter({ msg: { $regex: "^panic" } }), "alone");
  index.add("tenant", filter({ tenant: "t-1", msg: { $regex: "time(d )?out" } }), "tenant");
  index.add("short", filter({ msg: { $regex: "^x" } }), "short"); // no literal of 3 characters: a candidate for every value
  // Not filed under the literal (it says little about the data): the regex-only filter is a candidate only for values that hold it.
  assert.equal(index.filedUnder("alone"), null);
  assert.deepEqual(sorted(candidates(index, { msg: "panic: out of memory", tenant: "t-1" })), ["alone", "short"]);
  assert.deepEqual(sorted(candidates(index, { msg: "request timeout", tenant: "t-1" })), ["short", "tenant"]);
  assert.deepEqual(sorted(candidates(index, { msg: "request timeout", tenant: "t-2" })), ["short"]);
  assert.deepEqual(sorted(candidates(index, { msg: ["ok", "a timeout"], tenant: "t-1" })), ["short", "tenant"], "any string of an array");
  assert.deepEqual(sorted(candidates(index, { msg: 5, tenant: "t-1" })), ["short"]);
  // A filter with a check has a query, which never matches a value that is not an object; one without is left to its predicate.
  assert.deepEqual(sorted(candidates(index, "not an object")), ["short"]);
  index.remove("alone");
  assert.equal(index.stats().alwaysCandidates, 1);
});

test("a check of several members: the first is held in the posting list, the rest must hold too", () => {
  const index = new FilterIndex<string>();
  // Filed under a pair of its four equalities; the other two are its check (the first copied, the second its rest).
  index.add("four", filter({ a: 1, b: 2, c: 3, d: 4 }), "four");
  index.add("text", filter({ a: 1, b: 2, c: 3, msg: { $regex: "timeout" } }), "text");
  const both = (v: object) => {
    const out: string[] = [];
    const sure: string[] = [];
    index.candidates(v, out, sure);
    return { out: sorted(out), sure: sorted(sure) };
  };
  assert.deepEqual(both({ a: 1, b: 2, c: 3, d: 4, msg: "timeout" }), { out: ["text"], sure: ["four"] });
  for (const k of ["a", "b", "c"]) {
    assert.deepEqual(both({ a: 1, b: 2, c: 3, d: 4, msg: "timeout", [k]: 9 }), { out: [], sure: [] }, `${k} differs`);
  }
  assert.deepEqual(both({ a: 1, b: 2, c: 3, d: 5, msg: "no" }), { out: [], sure: [] }, "the last member fails");
  assert.deepEqual(both({ a: 1, b: 2, c: 3, d: [4], msg: ["a timeout"] }), { out: ["four", "text"], sure: [] }, "an array: a candidate, not proven");
});
