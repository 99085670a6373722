// Query semantics: the whitelisted operators behave as in MongoDB.
import assert from "node:assert/strict";
import { test } from "node:test";
import { q } from "./helpers.js";

/** Asserts which of `docs` the query matches. */
function matches(query: object, docs: unknown[], expected: boolean[]): void {
  const f = q(query);
  assert.deepEqual(
    docs.map((d) => f.matchesValue(d)),
    expected,
    `${JSON.stringify(query)} over ${JSON.stringify(docs)}`,
  );
}

test("equality: scalars, array fields contain the value, embedded documents and arrays whole", () => {
  matches({ a: 1 }, [{ a: 1 }, { a: "1" }, { a: [2, 1] }, { a: [[1]] }, {}, { b: 1 }], [true, false, true, false, false, false]);
  matches({ a: [1, 2] }, [{ a: [1, 2] }, { a: [2, 1] }, { a: [[1, 2], 3] }, { a: 1 }], [true, false, true, false]);
  matches({ "a.b": "x" }, [{ a: { b: "x" } }, { a: [{ b: "y" }, { b: "x" }] }, { a: { b: ["x"] } }, { a: "x" }], [true, true, true, false]);
  matches({ a: null }, [{ a: null }, {}, { a: 0 }, { a: [null, 1] }], [true, true, false, true]);
  matches({ "a.0": 5 }, [{ a: [5, 6] }, { a: [6, 5] }], [true, false]);
});

test("$ne, comparisons and type bracketing", () => {
  matches({ a: { $ne: 1 } }, [{ a: 1 }, { a: 2 }, {}, { a: [1, 2] }, { a: [2, 3] }], [false, true, true, false, true]);
  matches({ a: { $gt: 5 } }, [{ a: 6 }, { a: 5 }, { a: "6" }, { a: [1, 7] }, {}], [true, false, false, true, false]);
  matches({ a: { $gte: "b", $lt: "d" } }, [{ a: "b" }, { a: "c" }, { a: "d" }, { a: 3 }], [true, true, false, false]);
});

test("$in and $nin", () => {
  const docs = [{ a: 1 }, { a: 3 }, { a: [3, 2] }, { a: [3, 4] }, {}, { a: null }, { a: "1" }];
  matches({ a: { $in: [1, 2] } }, docs, [true, false, true, false, false, false, false]);
  matches({ a: { $nin: [1, 2] } }, docs, [false, true, false, true, true, true, true]);
  matches({ a: { $in: [null] } }, docs, [false, false, false, false, true, true, false]);
  matches({ a: { $in: [] } }, docs, docs.map(() => false));
  matches({ a: { $nin: [] } }, docs, docs.map(() => true));
});

test("$exists", () => {
  const docs = [{ a: 1 }, { a: null }, {}, { b: { a: 1 } }, { a: false }];
  matches({ a: { $exists: true } }, docs, [true, true, false, false, true]);
  matches({ a: { $exists: false } }, docs, [false, false, true, true, false]);
  matches({ "b.a": { $exists: true } }, docs, [false, false, false, true, false]);
  matches({ "x.y": { $exists: true } }, [{ x: [{ y: 1 }, {}] }, { x: [{}, {}] }], [true, false]);
});

test("$elemMatch needs one element to satisfy every condition", () => {
  const docs = [{ a: [1, 7] }, { a: [1, 12] }, { a: 7 }, { a: [] }, {}];
  matches({ a: { $elemMatch: { $gt: 5, $lt: 10 } } }, docs, [true, false, false, false, false]);
  // Without $elemMatch, different elements may satisfy different conditions.
  matches({ a: { $gt: 5, $lt: 10 } }, docs, [true, true, true, false, false]);
  const orders = [
    { items: [{ sku: "x", qty: 1 }, { sku: "y", qty: 5 }] },
    { items: [{ sku: "x", qty: 5 }] },
    { items: { sku: "x", qty: 5 } },
  ];
  matches({ items: { $elemMatch: { sku: "x", qty: { $gt: 2 } } } }, orders, [false, true, false]);
  matches({ "items.sku": "x", "items.qty": { $gt: 2 } }, orders, [true, true, true]);
  matches({ items: { $elemMatch: { $or: [{ sku: "y" }, { qty: { $gt: 4 } }] } } }, orders, [true, true, false]);
});

test("$not negates, and matches where the field is missing", () => {
  const docs = [{ a: 3 }, { a: 7 }, {}, { a: "x" }, { a: [1, 9] }];
  matches({ a: { $not: { $gt: 5 } } }, docs, [true, false, true, true, false]);
  matches({ a: { $not: { $in: [3, 7] } } }, docs, [false, false, true, true, true]);
  matches({ s: { $not: { $regex: "^a", $options: "i" } } }, [{ s: "Abc" }, { s: "bc" }, {}, { s: 5 }], [false, true, true, true]);
});

test("$and, $or, $nor", () => {
  const docs = [{ a: 1, b: 1 }, { a: 1, b: 2 }, { a: 2, b: 2 }, {}];
  matches({ $and: [{ a: 1 }, { b: 2 }] }, docs, [false, true, false, false]);
  matches({ $or: [{ a: 2 }, { b: 1 }] }, docs, [true, false, true, false]);
  matches({ $nor: [{ a: 2 }, { b: 1 }] }, docs, [false, true, false, true]);
  matches({ a: 1, $or: [{ b: 1 }, { b: 3 }] }, docs, [true, false, false, false]);
});

test("$all, $size, $type, $mod", () => {
  matches({ tags: { $all: ["a", "b"] } }, [{ tags: ["b", "c", "a"] }, { tags: ["a"] }, { tags: [] }], [true, false, false]);
  matches(
    { items: { $all: [{ $elemMatch: { n: { $gt: 1 } } }, { $elemMatch: { n: 0 } }] } },
    [{ items: [{ n: 0 }, { n: 2 }] }, { items: [{ n: 2 }] }],
    [true, false],
  );
  matches({ a: { $size: 2 } }, [{ a: [1, 2] }, { a: [1] }, { a: "ab" }, {}], [true, false, false, false]);
  matches({ a: { $type: "string" } }, [{ a: "x" }, { a: 1 }, {}], [true, false, false]);
  matches({ a: { $type: ["number", "null"] } }, [{ a: "x" }, { a: 1.5 }, { a: null }], [false, true, true]);
  matches({ a: { $type: "array" } }, [{ a: [] }, { a: {} }], [true, false]);
  matches({ a: { $mod: [4, 1] } }, [{ a: 5 }, { a: 6 }, { a: [2, 9] }, { a: "5" }, { a: 5.5 }, {}], [true, false, true, false, true, false]);
  matches({ a: { $mod: [4, -1] } }, [{ a: -5 }, { a: 5 }], [true, false]);
});

test("$regex: options, arrays, non-strings; unanchored like grep", () => {
  const docs = [{ s: "Hello world" }, { s: "say hello" }, { s: ["x", "HELLO"] }, { s: 5 }, {}];
  matches({ s: { $regex: "^hello" } }, docs, [false, false, false, false, false]);
  matches({ s: { $regex: "^hello", $options: "i" } }, docs, [true, false, true, false, false]);
  matches({ s: { $regex: "hello" } }, docs, [false, true, false, false, false]);
  matches({ s: { $regex: "^b$", $options: "m" } }, [{ s: "a\nb\nc" }, { s: "ab" }], [true, false]);
  matches({ s: { $regex: "a.b", $options: "s" } }, [{ s: "a\nb" }], [true]);
  matches({ s: { $regex: "a.b" } }, [{ s: "a\nb" }], [false]);
  matches({ tags: { $elemMatch: { $regex: "^a" } } }, [{ tags: ["b", "ab"] }, { tags: ["b"] }], [true, false]);
});

test("$regex is RE2, not JavaScript RegExp: RE2-only syntax works", () => {
  // Inline flags and (?P<name>) are RE2 syntax that `new RegExp` rejects (on
  // Node 20); they work, so the pattern never reached a native RegExp.
  matches({ s: { $regex: "(?i)^abc" } }, [{ s: "ABCd" }, { s: "xabc" }], [true, false]);
  matches({ s: { $regex: "^(?P<word>[a-z]+)-\\d+$" } }, [{ s: "abc-12" }, { s: "abc-" }], [true, false]);
});

test("a catastrophic-backtracking pattern returns (false) on a long input", () => {
  const f = q({ s: { $regex: "^(a+)+$" } });
  const s = "a".repeat(100_000) + "b";
  assert.equal(f.matchesValue({ s }), false);
  assert.equal(f.matchesValue({ s: "aaaa" }), true);
  const g = q({ s: { $regex: "(x+x+)+y" } });
  assert.equal(g.matchesValue({ s: "x".repeat(50_000) }), false);
  const h = q({ $or: [{ s: { $not: { $regex: "^(a|aa)+$" } } }, { t: 1 }] });
  assert.equal(h.matchesValue({ s: "a".repeat(50_000) + "!" }), true);
});

test("filter input never reaches a native RegExp", () => {
  const patterns = ["^(a+)+$", "^user-(\\d+)$"];
  const seen: string[] = [];
  const Original = globalThis.RegExp;
  globalThis.RegExp = new Proxy(Original, {
    construct(target, args: [string | RegExp, string?], newTarget) {
      seen.push(String(args[0] instanceof Original ? args[0].source : args[0]));
      return Reflect.construct(target, args, newTarget) as RegExp;
    },
    apply(target, thisArg, args: [string | RegExp, string?]) {
      seen.push(String(args[0] instanceof Original ? args[0].source : args[0]));
      return Reflect.apply(target, thisArg, args) as RegExp;
    },
  });
  try {
    const f = q({ $and: [{ s: { $regex: patterns[0], $options: "i" } }, { u: { $not: { $regex: patterns[1] } } }] });
    f.matchesValue({ s: "aaa", u: "user-1" });
    f.matchesValue({ s: ["aaa"], u: ["x"] });
    const g = q({ items: { $all: [{ $elemMatch: { s: { $regex: patterns[0] } } }] } });
    g.matchesValue({ items: [{ s: "a" }] });
  } finally {
    globalThis.RegExp = Original;
  }
  for (const p of patterns) assert.ok(!seen.includes(p), `a native RegExp was built from ${p}`);
});

test("only JSON objects match a non-empty query; the empty query matches everything", () => {
  const f = q({ a: { $exists: false } });
  assert.equal(f.matchesValue({}), true);
  for (const v of [5, "a", null, [1], undefined, true]) assert.equal(f.matchesValue(v), false, JSON.stringify(v));
  const all = q("");
  for (const v of [5, "a", null, [1], undefined, {}]) assert.equal(all.matchesValue(v), true);
});

test("field names that are Object.prototype members are plain fields", () => {
  matches({ constructor: { $exists: true } }, [{}, { constructor: 1 }], [false, true]);
  matches({ toString: 1 }, [{}, { toString: 1 }], [false, true]);
});

test("needsValue", () => {
  // The index condition derived from the query is tested in index-term.test.ts.
  assert.equal(q("").needsValue, false);
  assert.equal(q({ a: 1 }).needsValue, true);
});
