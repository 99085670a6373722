import assert from "node:assert/strict";
import { test } from "node:test";
import { parseKey } from "../../src/filter/index.js";
import { compile } from "./helpers.js";

const utf8 = (s: string) => new TextEncoder().encode(s);

test("parseKey accepts JSON arrays of strings only", () => {
  assert.deepEqual(parseKey(utf8('["tenant-7","user-42"]')), ["tenant-7", "user-42"]);
  assert.deepEqual(parseKey(utf8(' [ "a" ] ')), ["a"]);
  assert.deepEqual(parseKey(utf8("[]")), []);
  assert.deepEqual(parseKey(utf8('["é/x"]')), ["é/x"]);
  for (const bad of ['["a", 1]', '"a"', '{"a": 1}', "[", "tenant-7", "", "null", '[["a"]]', '["a", null]']) {
    assert.equal(parseKey(utf8(bad)), null, bad);
  }
  assert.equal(parseKey(null), null);
  assert.equal(parseKey(new Uint8Array([0x5b, 0x22, 0xff, 0x22, 0x5d])), null, "invalid UTF-8");
});

test("key prefix: elements in order, '*' matches any one element", () => {
  const f = compile({ keyPrefix: ["tenant-7", "*", "orders"] });
  assert.equal(f.needsKey, true);
  assert.equal(f.needsValue, false);
  assert.equal(f.matchesKey(["tenant-7", "user-1", "orders"]), true);
  assert.equal(f.matchesKey(["tenant-7", "user-2", "orders", "42"]), true);
  assert.equal(f.matchesKey(["tenant-7", "user-1", "invoices"]), false);
  assert.equal(f.matchesKey(["tenant-7", "user-1"]), false, "shorter than the prefix");
  assert.equal(f.matchesKey(["tenant-8", "user-1", "orders"]), false);
  assert.equal(f.matchesKey(["tenant-7", "*", "orders"]), true);
  assert.equal(compile({ keyPrefix: ["tenant-7"] }).matchesKey(["tenant-70"]), false, "elements match whole");
});

test("key regex runs over the elements joined by '/'", () => {
  const f = compile({ keyRegex: "^tenant-7/user-4" });
  assert.equal(f.needsKey, true);
  assert.equal(f.matchesKey(["tenant-7", "user-42"]), true);
  assert.equal(f.matchesKey(["tenant-7", "user-5"]), false);
  assert.equal(f.matchesKey(["tenant-7/user-4"]), true);
  assert.equal(f.matchesKey([]), false);
  assert.equal(compile({ keyRegex: "user-\\d+$" }).matchesKey(["t", "user-42"]), true, "unanchored");
});

test("key prefix and key regex together must both match", () => {
  const f = compile({ keyPrefix: ["tenant-7"], keyRegex: "/user-\\d+$" });
  assert.equal(f.matchesKey(["tenant-7", "user-1"]), true);
  assert.equal(f.matchesKey(["tenant-7", "admin"]), false);
  assert.equal(f.matchesKey(["tenant-8", "user-1"]), false);
});

test("no key condition: needsKey is false", () => {
  const f = compile();
  assert.equal(f.needsKey, false);
  assert.equal(f.matchesKey(["anything"]), true);
});
