// Bad input on both sides of a query: filters too costly to compile are
// refused at validation (each limit with its exact message), and no message
// value, however deep, long or big, makes an evaluation throw, hang or take
// seconds.

import assert from "node:assert/strict";
import { test } from "node:test";
import { compileFilter, FilterError } from "../../src/filter/index.js";
import {
  MAX_EVALUATION_STEPS,
  MAX_PATH_SEGMENTS,
  MAX_QUERY_CONDITIONS,
  MAX_QUERY_LIST,
  MAX_QUERY_REGEXES,
  MAX_REGEX_INPUT,
} from "../../src/filter/limits.js";
import { q, spec } from "./helpers.js";

function rejects(query: object, message: string): void {
  assert.throws(
    () => compileFilter(spec({ query: JSON.stringify(query) })),
    (err: unknown) => {
      assert.ok(err instanceof FilterError, `expected FilterError, got ${String(err)}`);
      assert.equal(err.field, "query");
      assert.equal(err.message, message);
      return true;
    },
  );
}

const accepts = (query: object): void => assert.doesNotThrow(() => q(query), JSON.stringify(query).slice(0, 80));
const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

test("limit: field conditions and operators in one query", () => {
  assert.equal(MAX_QUERY_CONDITIONS, 1000);
  // $or counts one, each member's field condition one.
  accepts({ $or: range(999).map((i) => ({ a: i })) });
  rejects(
    { $or: range(1000).map((i) => ({ a: i })) },
    "query.$or[999].a: too many conditions: a query may have at most 1000 field conditions and operators in all (limit 1000)",
  );
  // Operators count too, wherever they are.
  const members = range(332).map((i): object => ({ a: { $not: { $gt: i } } })); // 1 + 332 x 3 = 997
  accepts({ $and: [...members, { a: { $gt: 1, $lt: 2 } }] });
  rejects(
    { $and: [...members, { a: { $gt: 1, $lt: 2, $ne: 3 } }] },
    "query.$and[332].a.$ne: too many conditions: a query may have at most 1000 field conditions and operators in all (limit 1000)",
  );
});

test("limit: values of $in, $nin and $all", () => {
  assert.equal(MAX_QUERY_LIST, 10_000);
  accepts({ a: { $in: range(10_000) } });
  rejects({ a: { $in: range(10_001) } }, "query.a.$in: $in has too many values: 10001 (limit 10000)");
  rejects({ b: { $nin: range(10_001) } }, "query.b.$nin: $nin has too many values: 10001 (limit 10000)");
  rejects({ c: { $all: range(10_001) } }, "query.c.$all: $all has too many values: 10001 (limit 10000)");
});

test("limit: regexes in one query", () => {
  assert.equal(MAX_QUERY_REGEXES, 64);
  accepts({ $and: range(64).map(() => ({ s: { $regex: "a" } })) });
  rejects(
    { $and: range(65).map(() => ({ s: { $regex: "a" } })) },
    "query.$and[64].s.$regex: too many regexes: a query may use $regex at most 64 times (limit 64)",
  );
});

test("limit: segments of a field path; no __proto__ segment", () => {
  assert.equal(MAX_PATH_SEGMENTS, 100);
  const path = (n: number): string => Array.from({ length: n }, () => "a").join(".");
  accepts({ [path(100)]: 1 });
  rejects({ [path(101)]: 1 }, `query: invalid field path "${path(101)}": too many segments: 101 (limit 100)`);
  rejects({ "a.__proto__": 1 }, 'query: invalid field path "a.__proto__": the name "__proto__" is not allowed');
});

/** Runs `f`, asserting it returns within `ms` milliseconds (generous: the machine may be busy). */
function quickly<T>(what: string, f: () => T, ms = 2000): T {
  const start = performance.now();
  const result = f();
  const took = performance.now() - start;
  assert.ok(took < ms, `${what} took ${took.toFixed(0)} ms`);
  return result;
}

test("a value nested 100,000 deep evaluates without recursion on it", () => {
  let objects: unknown = 1;
  let arrays: unknown = 1;
  for (let i = 0; i < 100_000; i++) {
    objects = { a: objects };
    arrays = [arrays];
  }
  const value = { a: objects, b: arrays };
  const cases: Array<[object, boolean]> = [
    [{ "a.a.a": { $exists: true } }, true],
    [{ "a.a.a": 1 }, false],
    [{ a: { $type: "object" } }, true],
    [{ a: { a: { a: 1 } } }, false],
    [{ a: { $in: [{ a: {} }, 5] } }, false],
    [{ a: { $gt: { a: { a: 1 } } } }, true],
    [{ a: { $all: [{ a: 1 }] } }, false],
    [{ "a.a": { $regex: "x" } }, false],
    [{ b: { $elemMatch: { $elemMatch: { $elemMatch: { $size: 1 } } } } }, true],
    [{ b: { $elemMatch: { "0": { $type: "array" } } } }, true],
    [{ b: [[[1]]] }, false],
    [{ b: { $gt: [[[2]]] } }, true], // an array is greater than a number, at the fourth level
    [{ "b.0.0.0.0.0": { $size: 1 } }, true],
    [{ $nor: [{ b: { $size: 1 } }] }, false],
  ];
  for (const [query, expected] of cases) {
    const f = q(query);
    assert.equal(quickly(JSON.stringify(query), () => f.matchesValue(value)), expected, JSON.stringify(query));
  }
});

test("an array of 1,000,000 elements evaluates in bounded time", () => {
  const numbers = { a: range(1_000_000) };
  const documents = { a: range(1_000_000).map((i) => ({ b: i })) };
  const cases: Array<[object, unknown, boolean]> = [
    [{ a: 999_999 }, numbers, true],
    [{ a: { $in: [-1, 999_999] } }, numbers, true],
    [{ a: { $nin: [-1, -2] } }, numbers, true],
    [{ a: { $all: [0, 500_000, 999_999] } }, numbers, true],
    [{ a: { $size: 1_000_000 } }, numbers, true],
    [{ a: { $elemMatch: { $gt: 999_998 } } }, numbers, true],
    [{ a: { $type: "string" } }, numbers, false],
    [{ a: { $regex: "x" } }, numbers, false],
    [{ a: [1, 2] }, numbers, false],
    [{ "a.b": 999_999 }, documents, true],
    [{ "a.b": null }, documents, false],
    [{ a: { $elemMatch: { b: { $gte: 999_999 } } } }, documents, true],
  ];
  for (const [query, value, expected] of cases) {
    const f = q(query);
    assert.equal(quickly(JSON.stringify(query), () => f.matchesValue(value)), expected, JSON.stringify(query));
  }
});

test("the evaluation budget ends evaluations that would take long: they do not match", () => {
  assert.equal(MAX_EVALUATION_STEPS, 4 * 1024 * 1024);
  const numbers = { a: range(1_000_000) };
  // 999 walks over a million elements would be a billion steps; 998 is at
  // the end of the array, so the true answer is a match.
  const f = q({ $or: range(999).map((i) => ({ a: -1 - i })).concat([{ a: 998 }]).slice(1) });
  assert.equal(quickly("999 conditions over 1,000,000 elements", () => f.matchesValue(numbers)), false);
  // Within budget, the same kind of query matches.
  const g = q({ $or: [{ a: -1 }, { a: -2 }, { a: 999_999 }] });
  assert.equal(g.matchesValue(numbers), true);
});

test("a 10 MB string against regexes: the first 128 KiB are searched, in bounded time", () => {
  assert.equal(MAX_REGEX_INPUT, 128 * 1024);
  const s = "x".repeat(10_000_000);
  const cases: Array<[object, string, boolean]> = [
    [{ s: { $regex: "x" } }, s, true],
    [{ s: { $regex: "y" } }, s, false],
    [{ s: { $regex: "^(x+x+)+y$" } }, s, false],
    // The regex sees the string as if it ended at the cut.
    [{ s: { $regex: "^x+$" } }, s, true],
    [{ s: { $regex: "y" } }, `${s}y`, false],
    // A slow program on a long input is refused by the regex budget (no match).
    [{ s: { $regex: "[\\pL]{0,990}[yz]w" } }, s, false],
    [{ s: { $not: { $regex: "[\\pL]{0,990}[yz]w" } } }, s, false],
    // The cut does not split a surrogate pair.
    [{ s: { $regex: "^a+$" } }, `${"a".repeat(MAX_REGEX_INPUT - 1)}\u{1F600}`, true],
  ];
  for (const [query, value, expected] of cases) {
    const f = q(query);
    assert.equal(quickly(JSON.stringify(query), () => f.matchesValue({ s: value })), expected, JSON.stringify(query));
  }
});

test("values of every JSON type, and non-JSON ones, never throw", () => {
  const f = q({ $or: [{ a: { $gt: 1 } }, { "a.b.0": { $regex: "x" } }, { a: { $elemMatch: { b: { $all: [1, [2]] } } } }] });
  const odd: unknown[] = [
    {}, { a: null }, { a: [] }, { a: {} }, { a: [[], {}, null] }, { a: -0 }, { a: 1e308 }, { a: "" },
    { a: [{ b: [null] }] }, { a: { b: { "0": 5 } } }, Object.create(null), { a: Object.create(null) },
    { a: () => 1 }, { a: Symbol("s") }, { a: 10n }, { a: new Date(0) }, { a: undefined }, { a: [undefined] },
    null, 5, "s", [1], true, undefined,
  ];
  for (const v of odd) assert.doesNotThrow(() => f.matchesValue(v));
  assert.equal(f.matchesValue({ a: [{ b: { "0": "xy" } }] }), true);
});
