import assert from "node:assert/strict";
import { test } from "node:test";
import { compileFilter, FilterError } from "../../src/filter/index.js";
import { compile, spec } from "./helpers.js";

const project = (projection: string, value: unknown) => compile({ projection }).project(value);

test("no projection is the identity", () => {
  const v = { a: 1 };
  for (const p of ["", "{}", "  "]) {
    const f = compile({ projection: p });
    assert.equal(f.project(v), v);
    assert.equal(f.hasProjection, false);
    assert.equal(f.spec.projection, "");
  }
});

test("inclusion keeps the listed paths, in document order, through arrays", () => {
  const v = { z: 0, a: 1, b: { c: 2, d: 3 }, e: [{ c: 1, x: 2 }, 7, { x: 3 }, [{ c: 4 }]], f: "s" };
  assert.deepEqual(project('{"a": 1, "b.c": 1}', v), { a: 1, b: { c: 2 } });
  assert.deepEqual(project('{"e.c": true}', v), { e: [{ c: 1 }, {}, [{ c: 4 }]] });
  assert.deepEqual(project('{"f.c": 1, "missing": 1}', v), {}, "a scalar has no sub-fields");
  assert.deepEqual(project('{"b": 1}', v), { b: { c: 2, d: 3 } });
  assert.deepEqual(Object.keys(project('{"f": 1, "a": 1, "z": 1}', v) as object), ["z", "a", "f"]);
  assert.deepEqual(project('{"a": 1, "_id": 0}', { _id: 5, a: 1 }), { a: 1 }, "_id: 0 is allowed beside inclusions");
  assert.deepEqual(project('{"a": 1}', { _id: 5, a: 1 }), { a: 1 }, "no implicit _id");
});

test("exclusion removes the listed paths and keeps everything else", () => {
  const v = { a: 1, b: { c: 2, d: 3 }, e: [{ c: 1, x: 2 }, 7], f: "s" };
  assert.deepEqual(project('{"a": 0, "b.c": false}', v), { b: { d: 3 }, e: [{ c: 1, x: 2 }, 7], f: "s" });
  assert.deepEqual(project('{"e.c": 0, "f.g": 0}', v), { a: 1, b: { c: 2, d: 3 }, e: [{ x: 2 }, 7], f: "s" });
});

test("projecting never modifies the input, and non-objects pass through", () => {
  const v = { a: 1, b: { c: 2, d: 3 } };
  const copy = structuredClone(v);
  project('{"b.c": 0}', v);
  project('{"b.c": 1}', v);
  assert.deepEqual(v, copy);
  assert.equal(project('{"a": 1}', 5), 5);
  assert.equal(project('{"a": 1}', null), null);
  const arr = [{ a: 1, b: 2 }];
  assert.equal(project('{"a": 1}', arr), arr);
});

test("a __proto__ member of a value stays an own member", () => {
  const v = JSON.parse('{"__proto__": {"x": 1}, "a": 1, "b": 2}') as Record<string, unknown>;
  const out = project('{"b": 0}', v) as Record<string, unknown>;
  assert.equal(Object.getPrototypeOf(out), Object.prototype);
  assert.deepEqual(Object.keys(out), ["__proto__", "a"]);
  assert.equal(JSON.stringify(out), '{"__proto__":{"x":1},"a":1}');
});

test("the normalised projection is sorted, with 1 and 0", () => {
  assert.equal(compile({ projection: '{"b": true, "a.c": 1}' }).spec.projection, '{"a.c":1,"b":1}');
  assert.equal(compile({ projection: '{"b": false}' }).spec.projection, '{"b":0}');
});

test("mixed projections, operators and expressions are rejected", () => {
  const cases: Array<[string, string | RegExp]> = [
    ['{"a": 1, "b": 0}', 'projection: cannot mix inclusion and exclusion ("a" is included, "b" excluded)'],
    ['{"a": {"$slice": 2}}', /^projection\.a: only 0, 1, true or false are allowed .* not \{"\$slice":2\}; operators and expressions are not supported$/],
    ['{"a": "$b"}', /^projection\.a: only 0, 1, true or false are allowed/],
    ['{"a": {"$concat": ["$b", "$c"]}}', /^projection\.a: only 0, 1, true or false are allowed/],
    ['{"a": 2}', /^projection\.a: only 0, 1, true or false are allowed/],
    ['{"a.$": 1}', /^projection\.a\.\$: operators are not supported in projections/],
    ['{"$elemMatch": 1}', /^projection\.\$elemMatch: operators are not supported/],
    ['{"a": 1, "a.b": 1}', 'projection: path collision: "a.b" is inside "a"'],
    ['{"a..b": 1}', 'projection.a..b: invalid field path "a..b": empty path segment'],
    ["[1]", /^projection: must be a JSON object/],
    ['{"a": 1', /^projection: not valid JSON/],
  ];
  for (const [projection, message] of cases) {
    assert.throws(
      () => compileFilter(spec({ projection })),
      (err: unknown) => {
        assert.ok(err instanceof FilterError);
        assert.equal(err.field, "projection");
        if (typeof message === "string") assert.equal(err.message, message);
        else assert.match(err.message, message);
        return true;
      },
      projection,
    );
  }
});
