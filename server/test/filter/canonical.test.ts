import assert from "node:assert/strict";
import { test } from "node:test";
import { compileFilter } from "../../src/filter/index.js";
import { compile, spec } from "./helpers.js";

test("reordered, re-spaced and duplicated filters have one canonical form and stream id", () => {
  const a = compile({
    topics: ["payments", "orders", "orders"],
    keyPrefix: ["tenant-7", "*"],
    query: '{"status": "paid", "amount": {"$gte": 10, "$lt": 100}, "$or": [{"a": 1}, {"b": {"y": 2, "x": 1}}]}',
  });
  const b = compile({
    topics: ["orders", "payments"],
    keyPrefix: ["tenant-7", "*"],
    query: `{ "$or": [ {"a": 1}, {"b": {"x": 1, "y": 2}} ],
              "amount": { "$lt": 100, "$gte": 10 }, "status": "paid" }`,
  });
  assert.equal(a.canonical, b.canonical);
  assert.equal(a.streamId, b.streamId);
  assert.match(a.streamId, /^[0-9a-f]{16}$/);
  assert.deepEqual(a.spec.topics, ["orders", "payments"]);
  assert.equal(
    a.canonical,
    '{"keyPrefix":["tenant-7","*"],"keyRegex":"","query":{"$or":[{"a":1},{"b":{"x":1,"y":2}}],"amount":{"$gte":10,"$lt":100},"status":"paid"},"topicRegex":"","topics":["orders","payments"]}',
  );
});

test('"" and "{}" are the same query, and the canonical form has every member', () => {
  const a = compile({ query: "" });
  const b = compile({ query: " {} " });
  assert.equal(a.canonical, b.canonical);
  assert.equal(a.canonical, '{"keyPrefix":[],"keyRegex":"","query":{},"topicRegex":"","topics":["orders"]}');
  assert.equal(a.needsValue, false);
  assert.equal(b.needsValue, false);
  assert.equal(b.spec.query, "");
});

test("integer-like member names are sorted as strings, not in property order", () => {
  const f = compile({ query: '{"10": 1, "2": 1, "b": 1, "a": 1}' });
  assert.equal(f.spec.query, '{"10":1,"2":1,"a":1,"b":1}');
});

test("$options letters are normalised", () => {
  const a = compile({ query: '{"s": {"$regex": "^a", "$options": "mi"}}' });
  const b = compile({ query: '{"s": {"$options": "imm", "$regex": "^a"}}' });
  const c = compile({ query: '{"s": {"$regex": "^a", "$options": ""}}' });
  const d = compile({ query: '{"s": {"$regex": "^a"}}' });
  assert.equal(a.streamId, b.streamId);
  assert.equal(c.streamId, d.streamId);
  assert.notEqual(a.streamId, d.streamId);
});

test("different filters have different stream ids", () => {
  const variants = [
    spec(),
    spec({ topics: ["payments"] }),
    spec({ topics: ["orders", "payments"] }),
    spec({ topics: [], topicRegex: "^orders" }),
    spec({ topics: [], topicRegex: "^orders$" }),
    spec({ keyPrefix: ["tenant-7"] }),
    spec({ keyPrefix: ["tenant-7", "*"] }),
    spec({ keyRegex: "^tenant-7/" }),
    spec({ query: '{"a": 1}' }),
    spec({ query: '{"a": "1"}' }),
    spec({ query: '{"a": [1, 2]}' }),
    spec({ query: '{"a": [2, 1]}' }),
    spec({ query: '{"a": {"$gt": 1}}' }),
    spec({ query: '{"a": {"$regex": "x"}}' }),
    spec({ query: '{"a": {"$regex": "x", "$options": "i"}}' }),
  ];
  const ids = variants.map((s) => compileFilter(s).streamId);
  assert.equal(new Set(ids).size, variants.length);
});

test("the projection is not part of the stream id", () => {
  const a = compile({ query: '{"a": 1}' });
  const b = compile({ query: '{"a": 1}', projection: '{"a": 1}' });
  assert.equal(a.streamId, b.streamId);
  assert.equal(a.canonical, b.canonical);
  assert.equal(b.spec.projection, '{"a":1}');
});

test("compiling the normalised spec again gives the same filter", () => {
  const f = compile({
    topics: ["b", "a", "b"],
    keyPrefix: ["x"],
    keyRegex: "y$",
    query: '{"z": {"$in": [3, 1]}, "a": {"$not": {"$regex": "q", "$options": "si"}}}',
    projection: '{"b": true, "a.c": 1}',
  });
  const g = compileFilter(JSON.parse(JSON.stringify(f.spec)));
  assert.equal(g.canonical, f.canonical);
  assert.equal(g.streamId, f.streamId);
  assert.deepEqual(g.spec, f.spec);
});

test("a filter with topic_regex keeps the regex as given", () => {
  const f = compile({ topics: [], topicRegex: "^orders-(eu|us)$" });
  assert.equal(f.spec.topicRegex, "^orders-(eu|us)$");
  assert.deepEqual(f.spec.topics, []);
  assert.equal(f.matchesTopic("orders-eu"), true);
  assert.equal(f.matchesTopic("orders-asia"), false);
  const g = compile({ topics: ["orders", "payments"] });
  assert.equal(g.matchesTopic("orders"), true);
  assert.equal(g.matchesTopic("order"), false);
});
