// The index condition a query implies (what the filter index files it under).
import assert from "node:assert/strict";
import { test } from "node:test";
import { q } from "./helpers.js";

const cond = (query: object | string) => q(query).indexCondition;
const eq = (path: string, ...values: Array<string | number | boolean>) => ({ kind: "eq", path, values });

test("equalities, $in and $all of scalars, array literals", () => {
  assert.deepEqual(cond({ a: 1 }), eq("a", 1));
  assert.deepEqual(cond({ a: { $eq: "x" } }), eq("a", "x"));
  assert.deepEqual(cond({ b: { $in: ["x", "y", "x"] } }), eq("b", "x", "y"), "deduplicated");
  assert.deepEqual(cond({ b: { $in: [1, "1", true] } }), eq("b", 1, "1", true), "1, \"1\" and true differ");
  assert.deepEqual(cond({ b: { $in: [] } }), eq("b"), "matches nothing: a term no value holds");
  assert.deepEqual(cond({ t: { $all: ["x", "y", ["z"]] } }), { kind: "and", of: [eq("t", "x"), eq("t", "y")] });
  assert.deepEqual(cond({ t: [1, [2], 1] }), eq("t", 1), "the scalars of an array literal");
  assert.deepEqual(cond({ a: 1, b: { $in: ["x", "y"] } }), { kind: "and", of: [eq("a", 1), eq("b", "x", "y")] });
  assert.deepEqual(cond({ $and: [{ c: { $eq: true, $gt: 0 } }] }), { kind: "and", of: [eq("c", true), { kind: "gt", path: "c", bound: 0 }] });
});

test("numeric bounds, one term per bound", () => {
  assert.deepEqual(cond({ n: { $gt: 900 } }), { kind: "gt", path: "n", bound: 900 });
  assert.deepEqual(cond({ n: { $gte: 1, $lt: 5 } }), {
    kind: "and",
    of: [{ kind: "gte", path: "n", bound: 1 }, { kind: "lt", path: "n", bound: 5 }],
  });
  // Bounds that are not numbers: strings, booleans and null compare in their own type bracket.
  for (const query of [{ s: { $gt: "b" } }, { s: { $lte: true } }, { s: { $gte: null } }, { s: { $lt: [1] } }]) {
    assert.equal(cond(query), null, JSON.stringify(query));
  }
});

test("$or: a term of every branch, or nothing", () => {
  assert.deepEqual(cond({ $or: [{ a: 1 }, { b: 2 }] }), { kind: "or", of: [eq("a", 1), eq("b", 2)] });
  assert.deepEqual(cond({ $or: [{ a: 1 }, { b: { $ne: 2 } }] }), null, "a branch without a term");
  assert.deepEqual(cond({ $or: [{ a: 1, c: 3 }, { $or: [{ b: 2 }, { d: 4 }] }] }), {
    kind: "or",
    of: [{ kind: "and", of: [eq("a", 1), eq("c", 3)] }, eq("b", 2), eq("d", 4)],
  });
  // Nested in $and: contributes when all its branches have terms.
  assert.deepEqual(cond({ $and: [{ x: { $exists: true } }, { $or: [{ a: 1 }, { b: 2 }] }] }), { kind: "or", of: [eq("a", 1), eq("b", 2)] });
  assert.deepEqual(cond({ k: "v", $or: [{ a: 1 }, { b: { $regex: "x" } }] }), eq("k", "v"));
});

test("no term: negations, null, documents, operators without an equality", () => {
  for (const query of [
    { $nor: [{ a: 1 }] },
    { a: { $not: { $eq: 1 } } },
    { a: { $elemMatch: { $eq: 1 } } },
    { a: null },
    { a: { $in: [1, null] } },
    { a: { $in: [1, [2]] } },
    { a: { b: 1 } },
    { a: [] },
    { a: { $ne: 1 } },
    { a: { $nin: [1] } },
    { a: { $exists: true } },
    { a: { $type: "number" } },
    { a: { $size: 1 } },
    { a: { $mod: [2, 1] } },
    { a: { $regex: "^x" } },
    { a: { $all: [] } },
  ]) {
    assert.equal(cond(query), null, JSON.stringify(query));
  }
  assert.equal(cond(""), null, "empty query");
  assert.deepEqual(cond({ a: { $ne: 1 }, $nor: [{ b: 2 }], c: "z" }), eq("c", "z"));
});

test("$regex: the literal every match contains, as a check", () => {
  const has = (path: string, text: string) => ({ kind: "has", path, text });
  assert.deepEqual(cond({ msg: { $regex: "timeout" } }), has("msg", "timeout"));
  assert.deepEqual(cond({ t: "a", msg: { $regex: "^sign(ed)? in" } }), { kind: "and", of: [has("msg", "sign"), eq("t", "a")] });
  assert.deepEqual(cond({ $or: [{ a: 1 }, { msg: { $regex: "refused" } }] }), { kind: "or", of: [eq("a", 1), has("msg", "refused")] });
  // No literal: case folding, alternation, too short.
  for (const query of [{ m: { $regex: "timeout", $options: "i" } }, { m: { $regex: "a|b" } }, { m: { $regex: "ab" } }]) {
    assert.equal(cond(query), null, JSON.stringify(query));
  }
  assert.equal(q({ msg: { $regex: "timeout" } }).indexExact, false);
});
