import assert from "node:assert/strict";
import { test } from "node:test";
import { ALLOWED_QUERY_OPERATORS, compileFilter, FilterError, type FilterSpec } from "../../src/filter/index.js";
import { spec } from "./helpers.js";

const ALLOWED = ALLOWED_QUERY_OPERATORS.join(", ");

/** Asserts that compiling throws a FilterError on `field` whose message matches. */
function rejects(parts: Partial<FilterSpec>, field: string, message: string | RegExp): void {
  assert.throws(
    () => compileFilter(spec(parts)),
    (err: unknown) => {
      assert.ok(err instanceof FilterError, `expected FilterError, got ${String(err)}`);
      assert.equal(err.field, field);
      if (typeof message === "string") assert.equal(err.message, message);
      else assert.match(err.message, message);
      return true;
    },
  );
}

test("operators that run code are rejected, wherever they are", () => {
  for (const op of ["$where", "$function", "$accumulator"]) {
    rejects(
      { query: `{"${op}": "function() { while (true) {} }"}` },
      "query",
      `query: operator ${op} is not allowed (it runs code); allowed: ${ALLOWED}`,
    );
  }
  rejects(
    { query: '{"$and": [{"a": 1}, {"price": {"$where": "sleep(1000)"}}]}' },
    "query",
    `query.$and[1].price: operator $where is not allowed (it runs code); allowed: ${ALLOWED}`,
  );
  rejects(
    { query: '{"$or": [{"a": {"$not": {"$function": {"body": "x", "args": [], "lang": "js"}}}}]}' },
    "query",
    `query.$or[0].a.$not: operator $function is not allowed (it runs code); allowed: ${ALLOWED}`,
  );
  rejects(
    { query: '{"items": {"$elemMatch": {"$where": "1"}}}' },
    "query",
    `query.items.$elemMatch: operator $where is not allowed (it runs code); allowed: ${ALLOWED}`,
  );
  rejects(
    { query: '{"items": {"$all": [{"$elemMatch": {"x": {"$accumulator": {}}}}]}}' },
    "query",
    `query.items.$all[0].$elemMatch.x: operator $accumulator is not allowed (it runs code); allowed: ${ALLOWED}`,
  );
});

test("every other operator off the whitelist is rejected with the reason", () => {
  const cases: Array<[string, string]> = [
    ['{"$expr": {"$gt": ["$a", "$b"]}}', "query: operator $expr is not allowed (aggregation expressions are not supported)"],
    ['{"$jsonSchema": {}}', "query: operator $jsonSchema is not allowed (JSON Schema validation is not supported)"],
    ['{"$text": {"$search": "x"}}', "query: operator $text is not allowed (text search is not supported)"],
    ['{"$comment": "hi"}', "query: operator $comment is not allowed (comments are not supported)"],
    ['{"a": {"$bitsAllSet": 3}}', "query.a: operator $bitsAllSet is not allowed (bitwise operators are not supported)"],
    ['{"a": {"$near": [0, 0]}}', "query.a: operator $near is not allowed (geospatial queries are not supported)"],
    ['{"a": {"$geoWithin": {}}}', "query.a: operator $geoWithin is not allowed (geospatial queries are not supported)"],
    ['{"a": {"$slice": 1}}', "query.a: operator $slice is not allowed (it is a projection operator)"],
    ['{"a": {"$foo": 1}}', "query.a: operator $foo is not allowed (unknown operator)"],
    ['{"$foo": 1}', "query: operator $foo is not allowed (unknown operator)"],
    ['{"a": {"$where x": 1}}', "query.a: operator $where x is not allowed (unknown operator)"],
    // The internal name $regex is compiled to cannot be used directly.
    ['{"a": {"$linearRegex": 0}}', "query.a: operator $linearRegex is not allowed (unknown operator)"],
  ];
  for (const [query, message] of cases) rejects({ query }, "query", `${message}; allowed: ${ALLOWED}`);
});

test("operators in the wrong place are rejected", () => {
  rejects({ query: '{"$gt": 5}' }, "query", /^query: operator \$gt must be applied to a field/);
  rejects({ query: '{"$not": {"a": 1}}' }, "query", /^query: operator \$not must be applied to a field/);
  rejects({ query: '{"a": {"$or": [{"b": 1}]}}' }, "query", /^query\.a: operator \$or is only allowed in a query document/);
  rejects({ query: '{"a": {"$gt": 1, "b": 2}}' }, "query", /^query\.a: cannot mix operators \(\$gt\) and field names \("b"\)/);
  rejects({ query: '{"a": {"b": {"$gt": 1}}}' }, "query", /^query\.a\.b: operator \$gt cannot appear inside a value compared for equality/);
  rejects({ query: '{"a": [{"$where": "1"}]}' }, "query", /^query\.a\[0\]: operator \$where cannot appear inside a value/);
  rejects({ query: '{"a": {"$eq": {"$x": 1}}}' }, "query", /^query\.a\.\$eq: field names starting with "\$" are not supported in values/);
  rejects({ query: '{"a": {"$in": [1, {"$where": "1"}]}}' }, "query", /^query\.a\.\$in\[1\]: operator \$where cannot appear/);
  rejects({ query: '{"a": {"$options": "i"}}' }, "query", "query.a.$options: $options is only allowed beside $regex");
});

test("operator arguments are checked", () => {
  rejects({ query: '{"$and": []}' }, "query", "query.$and: $and needs a non-empty array of query documents");
  rejects({ query: '{"$or": {"a": 1}}' }, "query", "query.$or: $or needs a non-empty array of query documents");
  rejects({ query: '{"$nor": [1]}' }, "query", "query.$nor[0]: must be a query document (a JSON object), not a number");
  rejects({ query: '{"a": {"$in": 1}}' }, "query", "query.a.$in: $in needs an array of values, not a number");
  rejects({ query: '{"a": {"$nin": "x"}}' }, "query", "query.a.$nin: $nin needs an array of values, not a string");
  rejects({ query: '{"a": {"$exists": "yes"}}' }, "query", "query.a.$exists: $exists needs true or false, not a string");
  rejects({ query: '{"a": {"$size": -1}}' }, "query", "query.a.$size: $size needs a non-negative integer, not -1");
  rejects({ query: '{"a": {"$size": 1.5}}' }, "query", "query.a.$size: $size needs a non-negative integer, not 1.5");
  rejects({ query: '{"a": {"$type": "javascript"}}' }, "query", /^query\.a\.\$type: \$type "javascript" is not supported/);
  rejects({ query: '{"a": {"$mod": [0, 1]}}' }, "query", "query.a.$mod: $mod divisor must not be 0");
  rejects({ query: '{"a": {"$mod": [2]}}' }, "query", "query.a.$mod: $mod needs [divisor, remainder] (two integers), not [2]");
  rejects({ query: '{"a": {"$not": 5}}' }, "query", /^query\.a\.\$not: \$not needs an object of operators/);
  rejects({ query: '{"a": {"$not": {}}}' }, "query", /^query\.a\.\$not: \$not needs an object of operators/);
  rejects({ query: '{"a": {"$elemMatch": [1]}}' }, "query", "query.a.$elemMatch: $elemMatch needs an object, not an array");
  rejects({ query: '{"a": {"$all": 1}}' }, "query", "query.a.$all: $all needs an array, not a number");
  rejects({ query: '{"a": {"$all": [{"$gt": 1}]}}' }, "query", /^query\.a\.\$all\[0\]: \$all takes values and \{"\$elemMatch": \.\.\.\} objects only/);
  rejects({ query: '{"a": {"$regex": 5}}' }, "query", "query.a.$regex: $regex needs a string (an RE2 pattern), not a number");
  rejects({ query: '{"a": {"$regex": "x", "$options": "ix"}}' }, "query", 'query.a.$options: unsupported regex option "x"; allowed: i, m, s');
  rejects({ query: '{"a..b": 1}' }, "query", 'query: invalid field path "a..b": empty path segment');
  rejects({ query: '{"a.$b": 1}' }, "query", 'query: invalid field path "a.$b": a path segment may not start with "$"');
  rejects({ query: '{"__proto__": {"x": 1}}' }, "query", 'query: the name "__proto__" is not allowed');
  rejects({ query: '{"a": 1e999}' }, "query", "query.a: number out of range");
});

test("the query must be a JSON object in valid JSON", () => {
  rejects({ query: '{"a": }' }, "query", /^query: not valid JSON: /);
  rejects({ query: "{'a': 1}" }, "query", /^query: not valid JSON: /);
  rejects({ query: "[1, 2]" }, "query", "query: must be a JSON object (a query document), not an array");
  rejects({ query: '"x"' }, "query", "query: must be a JSON object (a query document), not a string");
  rejects({ projection: "{a: 1}" }, "projection", /^projection: not valid JSON: /);
});

test("limits: query size, nesting depth, regex size and complexity", () => {
  const big = JSON.stringify({ a: { $in: Array.from({ length: 20_000 }, (_, i) => i) } });
  rejects({ query: big }, "query", /^query: too long: \d+ bytes \(limit 65536 bytes = 64 KiB\)$/);
  const depth32 = '{"a":'.repeat(31) + '{"b":1}' + "}".repeat(31);
  assert.doesNotThrow(() => compileFilter(spec({ query: depth32 })), "32 levels are allowed");
  const depth33 = '{"a":'.repeat(32) + '{"b":1}' + "}".repeat(32);
  rejects({ query: depth33 }, "query", /^query(\.a){32}: nested too deeply \(limit: depth 32\)$/);
  // Deeply nested arrays do not overflow anything: the limit stops the walk.
  rejects({ query: "[".repeat(30_000) + "]".repeat(30_000) }, "query", /nested too deeply \(limit: depth 32\)$/);
  rejects(
    { query: JSON.stringify({ a: { $regex: "x".repeat(1025) } }) },
    "query",
    "query.a.$regex: regex is too long: 1025 bytes (limit 1024 bytes)",
  );
  // Any literal that fits in 1 KiB is simple enough.
  assert.doesNotThrow(() => compileFilter(spec({ query: JSON.stringify({ a: { $regex: "x".repeat(1024) } }) })));
  rejects({ topics: [], topicRegex: "é".repeat(513) }, "topic_regex", "topic_regex: regex is too long: 1026 bytes (limit 1024 bytes)");
  rejects(
    { query: JSON.stringify({ a: { $regex: "[a-z]{1000}[0-9]{1000}" } }) },
    "query",
    /^query\.a\.\$regex: regex is too complex: it compiles to 2002 instructions \(limit 2000\)/,
  );
  rejects({ keyRegex: "[a-z]{1000}[0-9]{1000}" }, "key_regex", /^key_regex: regex is too complex/);
  // 1902 instructions each: the sixth goes over 10,000.
  const many = { $and: Array.from({ length: 8 }, () => ({ a: { $regex: "[a-z]{1000}[0-9]{900}" } })) };
  rejects({ query: JSON.stringify(many) }, "query", /^query\.\$and\[5\]\.a\.\$regex: the regexes of this query are too complex together/);
});

test("invalid RE2 syntax is reported for every regex field", () => {
  rejects({ topics: [], topicRegex: "orders-(eu" }, "topic_regex", 'topic_regex: invalid RE2 syntax: missing closing ) at "orders-(eu"');
  rejects({ keyRegex: "[z-a]" }, "key_regex", 'key_regex: invalid RE2 syntax: invalid character class range at "z-a"');
  rejects({ query: '{"s": {"$regex": "a**"}}' }, "query", 'query.s.$regex: invalid RE2 syntax: invalid nested repetition operator at "**"');
  // Backreferences and lookaheads are not RE2 (they are what makes matching exponential).
  rejects({ query: '{"s": {"$regex": "(a)\\\\1"}}' }, "query", /^query\.s\.\$regex: invalid RE2 syntax: invalid escape sequence/);
  rejects({ query: '{"s": {"$regex": "a(?=b)"}}' }, "query", /^query\.s\.\$regex: invalid RE2 syntax: /);
});

test("topics and key fields are checked", () => {
  rejects({ topics: [] }, "topics", "topics: give exactly one of topics and topic_regex (got neither)");
  rejects({ topics: ["a"], topicRegex: "a" }, "topics", "topics: give exactly one of topics and topic_regex (got both)");
  rejects({ topics: ["ok", "not ok"] }, "topics", /^topics\[1\]: invalid topic name "not ok": /);
  rejects({ topics: [".."] }, "topics", /^topics\[0\]: invalid topic name "\.\.": /);
  rejects({ topics: ["a", 5 as unknown as string] }, "topics", "topics[1]: must be a string, not a number");
  rejects({ keyPrefix: "x" as unknown as string[] }, "key_prefix", "key_prefix: must be a list of strings, not a string");
  rejects({ keyPrefix: Array.from({ length: 257 }, () => "*") }, "key_prefix", "key_prefix: too many elements: 257 (limit 256)");
  rejects({ keyRegex: 5 as unknown as string }, "key_regex", "key_regex: must be a string, not a number");
});

test("FilterError carries the protobuf field name and location", () => {
  try {
    compileFilter(spec({ query: '{"$or": [{"a": {"$expr": 1}}]}' }));
    assert.fail("expected a FilterError");
  } catch (err) {
    assert.ok(err instanceof FilterError);
    assert.ok(err instanceof Error);
    assert.equal(err.name, "FilterError");
    assert.equal(err.field, "query");
    assert.equal(err.location, "query.$or[0].a");
  }
});
