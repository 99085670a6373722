// Where the compiled query evaluator deliberately follows MongoDB instead of
// mingo (the former evaluator, query-reference.ts): one test per deviation
// listed in docs/query-semantics.md, each pinning MongoDB's answer and that
// mingo's differs (so the test notices if mingo changes). Also MongoDB's own
// expectations for null from its test suite, and the places where we follow
// mingo rather than MongoDB.

import assert from "node:assert/strict";
import { test } from "node:test";
import { canonicalJson, type JsonObject } from "../../src/filter/json.js";
import { compileQueryReference } from "../../src/filter/query-reference.js";
import { validateQuery } from "../../src/filter/query-validate.js";
import { q } from "./helpers.js";

function mingo(query: object): (doc: unknown) => boolean {
  const v = validateQuery(JSON.parse(JSON.stringify(query)) as JsonObject);
  return compileQueryReference(JSON.parse(canonicalJson(v.query)) as JsonObject, v.regexes);
}

/** The compiled evaluator answers `expected` on each doc, and mingo the opposite. */
function deviates(query: object, docs: unknown[], expected: boolean): void {
  const ours = q(query);
  const theirs = mingo(query);
  for (const doc of docs) {
    const what = `${JSON.stringify(query)} on ${JSON.stringify(doc)}`;
    assert.equal(ours.matchesValue(doc), expected, `compiled: ${what}`);
    assert.equal(theirs(doc), !expected, `mingo: ${what}`);
  }
}

/** Both evaluators give `expected` on each doc. */
function agrees(query: object, docs: unknown[], expected: boolean[]): void {
  const ours = q(query);
  const theirs = mingo(query);
  docs.forEach((doc, i) => {
    const what = `${JSON.stringify(query)} on ${JSON.stringify(doc)}`;
    assert.equal(ours.matchesValue(doc), expected[i], `compiled: ${what}`);
    assert.equal(theirs(doc), expected[i], `mingo: ${what}`);
  });
}

test("paths-through-arrays: a document in an array without the field gives a missing value", () => {
  deviates({ "items.discount": null }, [{ items: [{ discount: 5 }, {}] }], true);
  agrees({ "items.discount": { $exists: false } }, [{ items: [{ discount: 5 }, {}] }, { items: [{}] }], [false, true]);
  deviates({ "items.discount": { $ne: null } }, [{ items: [{ discount: 5 }, {}] }], false);
});

test("paths-through-arrays: values collected through an array are not one array", () => {
  deviates({ "a.b": { $size: 2 } }, [{ a: [{ b: 1 }, { b: 2 }] }], false);
  deviates({ "a.b": { $type: "array" } }, [{ a: [{ b: 1 }, { b: 2 }] }], false);
  deviates({ "a.b": [1, 2] }, [{ a: [{ b: 1 }, { b: 2 }] }], false);
  deviates({ "a.b": { $gt: 5 } }, [{ a: [{ b: [1, 7] }, { b: [2] }] }], true);
});

test("paths-through-arrays: arrays directly inside arrays are not walked into by a name", () => {
  deviates({ "a.b": { $size: 1 } }, [{ a: [[{ b: 1 }]] }], false);
  deviates({ "a.b": { $exists: true } }, [{ a: [[{ b: 1 }]] }], false);
});

test("paths-through-arrays: a position past the end gives no value; an array at a position is one value", () => {
  deviates({ "a.5": null }, [{ a: [1] }], false);
  deviates({ "a.0": 1 }, [{ a: [[1, 2]] }], false);
  agrees({ "a.0": [1, 2] }, [{ a: [[1, 2]] }], [true]);
  agrees({ "a.5": { $exists: false } }, [{ a: [1] }], [true]);
});

test("final-array-values: a final array gives its elements and itself, nested arrays are not flattened", () => {
  deviates({ a: { $type: "number" } }, [{ a: [1, "x"] }], true);
  deviates({ a: { $in: [[1, 2]] } }, [{ a: [1, 2] }], true);
  deviates({ a: { $nin: [[1, 2]] } }, [{ a: [1, 2] }], false);
  deviates({ "a.b": 1 }, [{ a: { b: [[1]] } }], false);
  deviates({ a: { $regex: "x" } }, [{ a: [["x"]] }], false);
});

test("null-order: $gte and $lte null match a missing value, as they match null", () => {
  deviates({ a: { $gte: null } }, [{}, { b: 1 }], true);
  deviates({ a: { $lte: null } }, [{}], true);
  agrees({ a: { $gte: null } }, [{ a: null }, { a: 0 }], [true, false]);
  agrees({ a: { $gt: null } }, [{}, { a: null }], [false, false]);
});

test("all-is-and-of-eq: $all is an $and of $eq over the same path", () => {
  deviates({ a: { $all: [1] } }, [{ a: 1 }], true);
  deviates({ a: { $all: [[1, 2]] } }, [{ a: [1, 2] }], true);
  deviates({ a: { $all: [null] } }, [{}], true);
  deviates({ "a.b": { $all: [1, 2] } }, [{ a: [{ b: 1 }, { b: [2] }] }], true);
  agrees({ a: { $all: [] } }, [{ a: [] }, {}], [false, false]);
});

test("elem-match: operators apply to each element as it is; a query document to documents and arrays only", () => {
  deviates({ a: { $elemMatch: { $gt: 5 } } }, [{ a: [[1, 7]] }], false);
  deviates({ a: { $elemMatch: { b: 5 } } }, [{ a: [5] }], false);
  deviates({ a: { $elemMatch: { b: { $exists: false } } } }, [{ a: [[1]] }], true);
  deviates({ a: { $elemMatch: { b: 1 } } }, [{ a: [[{ b: 1 }]] }], false);
  deviates({ a: { $elemMatch: {} } }, [{ a: [[1]] }], true);
  agrees({ a: { $elemMatch: { "0": 1 } } }, [{ a: [[1, 2]] }, { a: [[2, 1]] }], [true, false]);
});

test("container-order: arrays compare element by element, objects member by member (type, name, value)", () => {
  deviates({ a: { $gt: [2] } }, [{ a: [3, 1] }], true);
  deviates({ a: { $lt: [2, 0] } }, [{ a: [1, 9] }], true);
  deviates({ a: { $lt: { b: 1 } } }, [{ a: { a: "x" } }], false);
});

test("string-order: strings compare by code point, as MongoDB's UTF-8 bytes do", () => {
  deviates({ s: { $gt: "\uFFFF" } }, [{ s: "\u{1F600}" }], true);
  deviates({ s: { $lt: "\u{1F600}" } }, [{ s: "\uE000" }], true);
  agrees({ s: { $gt: "a" } }, [{ s: "b" }, { s: "B" }, { s: "ab" }], [true, false, true]);
});

test("mod-int64: $mod matches no dividend outside the 64-bit integers", () => {
  deviates({ a: { $mod: [2, 0] } }, [{ a: 1e20 }, { a: -1e20 }, { a: 2 ** 63 }], false);
  agrees({ a: { $mod: [2, 0] } }, [{ a: -(2 ** 63) }, { a: 2 ** 62 }], [true, true]);
});

test("prototype-member-names: objects with members named constructor or toString compare like others", () => {
  deviates({ a: { $nin: [1] } }, [{ a: { constructor: 1 } }], true);
  deviates({ a: { constructor: {} } }, [{ a: { constructor: {} } }], true);
  deviates({ a: { $in: [{ constructor: {} }, 1] } }, [{ a: { constructor: {} } }], true);
  agrees({ a: { toString: "x" } }, [{ a: { toString: "x" } }, { a: { toString: "y" } }], [true, false]);
});

// From MongoDB's jstests/core/null_query_semantics.js (8.0), without the
// documents holding `undefined`, which JSON cannot express.
test("MongoDB's null query semantics", () => {
  const docs: Record<string, unknown> = {
    no_a: {},
    a_null: { a: null },
    a_number: { a: 4 },
    a_empty_subobject: { a: {} },
    a_subobject_b_not_null: { a: { b: "hi" } },
    a_subobject_b_null: { a: { b: null } },
    a_double_array: { a: [[]] },
    a_empty_array: { a: [] },
    a_object_array_no_b_nulls: { a: [{ b: 1 }, { b: 3 }, { b: "string" }] },
    a_object_array_some_b_nulls: { a: [{ b: null }, { b: 3 }, { b: null }] },
    a_object_array_some_b_missing: { a: [{ b: 3 }, {}] },
    a_value_array_all_nulls: { a: [null, null] },
    a_value_array_no_nulls: { a: [1, "string", 4] },
    a_value_array_with_null: { a: [1, "string", null, 4] },
  };
  const expect = (query: object, matching: string[]): void => {
    const f = q(query);
    const got = Object.keys(docs).filter((id) => f.matchesValue(docs[id]));
    assert.deepEqual(got.sort(), [...matching].sort(), JSON.stringify(query));
  };
  const all = Object.keys(docs);
  const not = (ids: string[]): string[] => all.filter((id) => !ids.includes(id));
  const eqNull = ["a_null", "no_a", "a_value_array_all_nulls", "a_value_array_with_null"];
  expect({ a: { $eq: null } }, eqNull);
  expect({ a: { $ne: null } }, not(eqNull));
  expect({ a: { $in: [null, 75] } }, eqNull);
  expect({ a: { $nin: [null, 75] } }, not(eqNull));
  expect({ a: { $exists: false } }, ["no_a"]);
  expect({ a: { $elemMatch: { $eq: null } } }, ["a_value_array_all_nulls", "a_value_array_with_null"]);
  expect({ a: { $elemMatch: { $ne: null } } }, [
    "a_double_array", "a_object_array_no_b_nulls", "a_object_array_some_b_nulls", "a_object_array_some_b_missing",
    "a_value_array_no_nulls", "a_value_array_with_null",
  ]);
  const dottedEqNull = [
    "a_empty_subobject", "a_null", "a_number", "a_subobject_b_null", "no_a", "a_object_array_some_b_nulls",
    "a_object_array_some_b_missing",
  ];
  expect({ "a.b": { $eq: null } }, dottedEqNull);
  expect({ "a.b": { $ne: null } }, not(dottedEqNull));
  expect({ "a.b": { $in: [null, 75] } }, dottedEqNull);
  expect({ "a.b": { $nin: [null, 75] } }, not(dottedEqNull));
  expect({ $or: [{ "a.b": null }, { "a.b": 75 }] }, dottedEqNull);
});

test("where we follow mingo rather than MongoDB: member order, integer types, positions", () => {
  // Object equality ignores member order (the canonical form sorts a
  // query's members, so the order a client wrote cannot be kept).
  agrees({ a: { x: 1, y: 2 } }, [{ a: { y: 2, x: 1 } }, { a: { x: 1 } }], [true, false]);
  // JSON numbers are doubles; integral ones are also int and long.
  agrees({ a: { $type: "int" } }, [{ a: 5 }, { a: 5.5 }, { a: -0 }, { a: 1e20 }], [true, false, true, true]);
  agrees({ a: { $type: "double" } }, [{ a: 5 }, { a: 5.5 }], [true, true]);
  // A number segment on an array selects by position only ("01" is 1); MongoDB
  // would also look for a member "0" in the array's documents.
  agrees({ "a.0": 5 }, [{ a: [{ "0": 5 }] }, { a: [5] }, { a: { "0": 5 } }], [false, true, true]);
  agrees({ "a.01": 6 }, [{ a: [5, 6] }], [true]);
});
