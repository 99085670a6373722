// What the filter index files filters under, and how values reach them:
// $or, checks of the other terms, numeric bounds, MongoDB path resolution
// (arrays at any level, numeric segments), hostile values.
import assert from "node:assert/strict";
import { test } from "node:test";
import { FilterIndex } from "../../src/matcher/filter-index.js";
import { NUMERIC_PATH_STEP_BUDGET } from "../../src/matcher/value-path.js";
import { filterOf } from "./filter-index-workload.js";

function indexOf(queries: Record<string, object>): FilterIndex<string> {
  const index = new FilterIndex<string>();
  for (const [id, q] of Object.entries(queries)) index.add(id, filterOf(q), id);
  return index;
}

function candidates(index: FilterIndex<string>, value: unknown): string[] {
  const out: string[] = [];
  index.candidates(value, out);
  return out.sort();
}

test("$or is filed under a term of each branch; $nor and $not never give terms", () => {
  const index = indexOf({
    or: { $or: [{ tenant: "t-1" }, { "user.id": "u-9" }] },
    nested: { $and: [{ x: { $exists: true } }, { $or: [{ a: 1 }, { b: { $in: [2, 3] } }] }] },
    partial: { $or: [{ tenant: "t-1" }, { msg: { $regex: "x" } }] },
    nor: { $nor: [{ tenant: "t-2" }] },
    not: { tenant: { $not: { $eq: "t-2" } } },
  });
  assert.deepEqual(index.filedUnder("or"), [
    { kind: "eq", path: "tenant", values: ["t-1"] },
    { kind: "eq", path: "user.id", values: ["u-9"] },
  ]);
  assert.equal(index.filedUnder("partial"), null, "a branch without a term: a candidate for everything");
  assert.equal(index.filedUnder("nor"), null);
  assert.equal(index.filedUnder("not"), null);
  const always = ["nor", "not", "partial"];
  assert.deepEqual(candidates(index, { tenant: "t-1" }), ["nor", "not", "or", "partial"]);
  assert.deepEqual(candidates(index, { tenant: "t-2", user: { id: "u-9" } }), ["nor", "not", "or", "partial"]);
  assert.deepEqual(candidates(index, { tenant: "t-3" }), always);
  assert.deepEqual(candidates(index, { b: 3 }), ["nested", ...always].sort());
  assert.deepEqual(candidates(index, { a: "1" }), always, '"1" is not 1');
});

test("a candidate's other terms are checked before it is returned", () => {
  const index = indexOf({
    ts: { tenant: "t-1", service: "s-9" },
    range: { tenant: "t-1", latency_ms: { $gte: 100, $lt: 200 } },
    or: { tenant: "t-1", $or: [{ level: "warn" }, { status: { $gte: 500 } }] },
  });
  assert.deepEqual(candidates(index, { tenant: "t-1", service: "s-1", latency_ms: 300, level: "info", status: 200 }), []);
  assert.deepEqual(candidates(index, { tenant: "t-1", service: "s-9", latency_ms: 150 }), ["range", "ts"]);
  assert.deepEqual(candidates(index, { tenant: "t-1", level: "warn", latency_ms: [50, 250] }), ["or", "range"], "each bound by some element");
  assert.deepEqual(candidates(index, { tenant: "t-1", status: [200, 503] }), ["or"]);
});

test("numeric bounds alone: a sorted structure per path, MongoDB's type brackets", () => {
  const index = indexOf({
    gt900: { latency_ms: { $gt: 900 } },
    gte900: { latency_ms: { $gte: 900 } },
    lt5: { latency_ms: { $lt: 5 } },
    lte5: { latency_ms: { $lte: 5 } },
    between: { latency_ms: { $gt: 10, $lt: 20 } },
  });
  for (const id of ["gt900", "gte900", "lt5", "lte5"]) {
    assert.deepEqual(index.filedUnder(id)?.map((t) => t.kind), [id.slice(0, id.search(/\d/))]);
  }
  assert.deepEqual(candidates(index, { latency_ms: 300 }), []);
  assert.deepEqual(candidates(index, { latency_ms: 900 }), ["gte900"]);
  assert.deepEqual(candidates(index, { latency_ms: 901 }), ["gt900", "gte900"]);
  assert.deepEqual(candidates(index, { latency_ms: 5 }), ["lte5"]);
  assert.deepEqual(candidates(index, { latency_ms: -0 }), ["lt5", "lte5"]);
  assert.deepEqual(candidates(index, { latency_ms: 15 }), ["between"]);
  assert.deepEqual(candidates(index, { latency_ms: [1, 1000] }), ["between", "gt900", "gte900", "lt5", "lte5"], "any element");
  assert.deepEqual(candidates(index, { latency_ms: [{ x: 1000 }, 300] }), []);
  assert.deepEqual(candidates(index, { latency_ms: 1e999 }), ["gt900", "gte900"], "Infinity from JSON.parse");
  // Strings, booleans and null are not in the number bracket.
  for (const v of ["1000", "1", true, false, null, {}, []]) assert.deepEqual(candidates(index, { latency_ms: v }), [], JSON.stringify(v));
});

test("1, \"1\" and true are different keys; 0 and -0 are one", () => {
  const index = indexOf({ one: { k: 1 }, str: { k: "1" }, yes: { k: true }, zero: { k: 0 }, no: { k: false } });
  assert.deepEqual(candidates(index, { k: 1 }), ["one"]);
  assert.deepEqual(candidates(index, { k: "1" }), ["str"]);
  assert.deepEqual(candidates(index, { k: true }), ["yes"]);
  assert.deepEqual(candidates(index, { k: -0 }), ["zero"]);
  assert.deepEqual(candidates(index, { k: [false, "1", 1.0] }), ["no", "one", "str"]);
});

test("paths resolve through arrays at any level, numeric segments as index and as field name", () => {
  const index = indexOf({
    ab: { "a.b": "x" },
    a0: { "a.0": 5 },
    a0b: { "a.0.b": 1 },
    proto: { constructor: "c" },
  });
  const has = (v: unknown, id: string) => candidates(index, v).includes(id);
  assert.ok(has({ a: { b: "x" } }, "ab"));
  assert.ok(has({ a: [{ b: "y" }, { b: ["z", "x"] }] }, "ab"), "arrays of documents, array leaves");
  assert.ok(has({ a: { b: [["x"]] } }, "ab"), "nested arrays at the leaf are flattened");
  assert.ok(has({ a: [["x"]] }, "ab"), "a nested array where a document is expected is taken whole (the evaluator's reading)");
  assert.ok(!has({ a: "x" }, "ab"));
  assert.ok(has({ a: [5, 6] }, "a0"), "array index");
  assert.ok(has({ a: [{ 0: 5 }] }, "a0"), "field named 0 in an array's document (MongoDB)");
  assert.ok(has({ a: { 0: 5 } }, "a0"), "field named 0 in a document");
  assert.ok(!has({ a: [6, 5] }, "a0"));
  assert.ok(has({ a: [{ b: 1 }] }, "a0b"));
  assert.ok(has({ a: [[{ b: 1 }]] }, "a0b"));
  assert.ok(has({ a: [{ 0: { b: [1] } }] }, "a0b"));
  assert.ok(!has({ a: [{ b: 2 }, { b: 1 }] }, "a0b"));
  assert.ok(has({ constructor: "c" }, "proto"));
  assert.ok(!has({}, "proto"), "inherited members are not values");
});

test("hostile values: deep nesting costs linear time and no stack", () => {
  const index = indexOf({ a: { a: 1 }, ab: { "a.b": 1 }, a00: { "a.0.0": 1 }, rng: { a: { $gt: 0 } } });
  let deep: unknown = 1;
  for (let i = 0; i < 100_000; i++) deep = [deep];
  let start = performance.now();
  assert.deepEqual(candidates(index, { a: deep }), ["a", "a00", "ab", "rng"]);
  assert.ok(performance.now() - start < 2000, "100,000 nested arrays");
  const wide = Array.from({ length: 200_000 }, (_, i) => ({ b: [i, [i]] }));
  start = performance.now();
  // (a.0.0 looks at every document for a field "0": beyond the step budget, so saturated.)
  assert.deepEqual(candidates(index, { a: wide }), ["a00", "ab"]);
  assert.ok(performance.now() - start < 2000, "200,000 documents in an array");
});

test("a numeric path that would take too many steps is saturated: all its filters are candidates", () => {
  const path = Array.from({ length: 40 }, () => "0").join(".");
  const index = indexOf({ deep: { [path]: 7 }, other: { [path]: 8, b: "z" } });
  // [{"0": [{"0": ...}]}]: each level can be read as an index or as a field name.
  let v: unknown = 7;
  for (let i = 0; i < 40; i++) v = [{ 0: v }];
  const start = performance.now();
  assert.deepEqual(candidates(index, { 0: v }), ["deep"], "saturated, but other terms are still checked");
  assert.ok(performance.now() - start < 2000, `bounded by the step budget (${NUMERIC_PATH_STEP_BUDGET})`);
});
