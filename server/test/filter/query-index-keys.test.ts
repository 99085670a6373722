// The filter index (matcher/filter-index.ts) skips a filter for a message
// unless the message has one of the filter's index keys, which ValuePath
// (matcher/value-path.ts) extracts with its own, generous path rules. That is
// only sound if the keys cover every scalar the compiled evaluator can find
// equal on the path; this checks it on the differential test's random
// documents and paths.

import assert from "node:assert/strict";
import { test } from "node:test";
import { startEvaluation } from "../../src/filter/budget.js";
import type { IndexScalar } from "../../src/filter/index-term.js";
import { ValuePath } from "../../src/matcher/value-path.js";
import { compilePath } from "../../src/filter/paths.js";
import { QueryGenerator } from "./query-generator.js";

/** The scalars the evaluator offers an equality test on `path`. */
function scalarsOnPath(doc: object, path: string): IndexScalar[] {
  const out: IndexScalar[] = [];
  const walk = compilePath(
    path,
    (v) => {
      if (typeof v === "string" || typeof v === "number" || typeof v === "boolean") out.push(v);
      return false;
    },
    { expandLeafArrays: true, rootMayBeArray: false },
  );
  startEvaluation();
  walk(doc);
  return out;
}

test("index keys cover every scalar the evaluator can match on a path", (t) => {
  const gen = new QueryGenerator(7);
  let checked = 0;
  const key = (v: IndexScalar): string => `${typeof v}:${JSON.stringify(v)}`;
  for (let i = 0; i < 20_000; i++) {
    const path = gen.path();
    const doc = i % 4 === 0 ? gen.document() : gen.documentFor({ [path]: gen.literal() });
    const walker = new ValuePath(path);
    walker.extract(doc, i + 1);
    const keys = new Set(walker.keys.slice(0, walker.keyCount).map(key));
    for (const v of scalarsOnPath(doc, path)) {
      checked++;
      assert.ok(walker.saturated || keys.has(key(v)), `${path} in ${JSON.stringify(doc)}: ${JSON.stringify(v)} has no index key`);
    }
  }
  t.diagnostic(`${checked} values checked`);
  assert.ok(checked > 5000, `only ${checked} values checked`);
});
