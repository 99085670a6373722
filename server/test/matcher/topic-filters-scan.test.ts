// Scanning values instead of parsing them changes nothing a batch matches:
// the same (record, filter) pairs and skip counts with the scanner forced
// on and off, on the soundness workload (every operator, arrays at every
// level, fields named "0", mixed types), its values written as JSON text in
// several ways (escapes, whitespace, duplicate keys) and sometimes broken.
import { it } from "node:test";
import assert from "node:assert/strict";
import { TopicFilters } from "../../src/matcher/topic-filters.js";
import { PackedBatch, packBatch } from "../../src/matcher/match-batch.js";
import type { SourceRecord } from "../../src/source/types.js";
import { mulberry32 } from "../../src/util/prng.js";
import { filters, value } from "./filter-index-workload.js";

/** The value as a writer might have written it. */
function written(v: unknown, rnd: () => number): string {
  const text = v === undefined ? "" : JSON.stringify(v);
  const r = rnd();
  if (r < 0.1) return text.replace(/"([a-z])/g, (_m, c: string) => `"\\u00${c.charCodeAt(0).toString(16)}`); // escaped letters, keys too
  if (r < 0.15) return text.replace(/,/g, " ,\n\t");
  if (r < 0.2 && text.startsWith("{") && text.length > 2) return `{"a":"shadowed",${text.slice(1)}`; // a duplicate key: the last wins
  if (r < 0.23) return text.slice(0, Math.floor(rnd() * text.length)); // cut off
  if (r < 0.25) return "\uFEFF" + text;
  return text;
}

it("a batch matches the same pairs whether its values are scanned or parsed", () => {
  const rnd = mulberry32(Number(process.env.GREP_STREAMS_SCAN_SEED ?? 11));
  const fs = filters(rnd, 400);
  const scanned = new TopicFilters("always");
  const parsed = new TopicFilters("never");
  fs.forEach((f, i) => {
    scanned.add(i + 1, f.spec);
    parsed.add(i + 1, f.spec);
  });
  const enc = new TextEncoder();
  let pairs = 0;
  let nonJson = 0;
  for (let b = 0; b < 40; b++) {
    const records: SourceRecord[] = Array.from({ length: 100 }, (_, i) => ({
      topic: "t", partition: 0, offset: b * 100 + i, timestamp: 0, key: null, value: rnd() < 0.02 ? null : enc.encode(written(value(rnd), rnd)), headers: [],
    }));
    const packed = packBatch(records, { keys: false, values: true });
    const a = scanned.match(new PackedBatch(packed, records.length));
    const e = parsed.match(new PackedBatch(packed, records.length));
    assert.deepEqual([...a.pairs], [...e.pairs], `batch ${b}`);
    assert.equal(a.nonJson, e.nonJson, `batch ${b}: values that are not JSON`);
    pairs += e.pairs.length / 2;
    nonJson += e.nonJson;
  }
  assert.ok(pairs > 5_000 && nonJson > 50, `the workload matches (${pairs}) and has values that are not JSON (${nonJson})`);
});
