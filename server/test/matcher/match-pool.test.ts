// The match workers: the same answers as matching inline, whatever the
// worker; batches carry only what the filters read; a worker that dies is
// replaced and given every filter again.
import { it } from "node:test";
import assert from "node:assert/strict";
import { MatchPool, MatchWorkerError } from "../../src/matcher/match-pool.js";
import { PackedBatch, packBatch } from "../../src/matcher/match-batch.js";
import { TopicFilters } from "../../src/matcher/topic-filters.js";
import type { FilterSpec } from "../../src/filter/index.js";
import type { SourceRecord } from "../../src/source/types.js";
import { createLogger } from "../../src/util/log.js";
import { mulberry32 } from "../../src/util/prng.js";

const enc = new TextEncoder();
const quiet = createLogger({}, () => {});

function spec(query: string, keyPrefix: string[] = []): FilterSpec {
  return { topics: ["t"], topicRegex: "", keyPrefix, keyRegex: "", query, projection: "" };
}

function record(offset: number, key: string | null, value: string | null): SourceRecord {
  return { topic: "t", partition: 0, offset, timestamp: 0, key: key === null ? null : enc.encode(key), value: value === null ? null : enc.encode(value), headers: [] };
}

/** Seeded records: mostly JSON objects with keys, some non-JSON values and bad keys. */
function workload(n: number): SourceRecord[] {
  const rnd = mulberry32(3);
  const out: SourceRecord[] = [];
  for (let i = 0; i < n; i++) {
    const r = rnd();
    const key = r < 0.1 ? "not a key" : r < 0.15 ? null : JSON.stringify([`k${Math.floor(rnd() * 5)}`, "x"]);
    const value = r > 0.95 ? "{broken" : r > 0.92 ? null : JSON.stringify({ n: Math.floor(rnd() * 10), s: `s${Math.floor(rnd() * 3)}`, tags: ["a", "b"].slice(0, Math.floor(rnd() * 3)) });
    out.push(record(i, key, value));
  }
  return out;
}

const specs = [
  spec('{"n":3}'),
  spec('{"n":{"$gt":7}}'),
  spec('{"s":"s1","tags":"b"}'),
  spec("", ["k2"]),
  spec('{"$or":[{"n":1},{"s":"s2"}]}', ["k1", "*"]),
  spec(""),
];

function inline(records: SourceRecord[]) {
  const t = new TopicFilters();
  specs.forEach((s, i) => t.add(i + 1, s));
  return t.match(new PackedBatch(packBatch(records, { keys: true, values: true }), records.length));
}

it("answers exactly what matching inline answers, on every worker", async (t) => {
  const pool = new MatchPool(2, quiet);
  t.after(() => pool.close());
  specs.forEach((s, i) => pool.add("t", i + 1, s));
  const records = workload(2000);
  const expected = inline(records);
  assert.ok(expected.pairs.length > 1000 && expected.nonJson > 0 && expected.badKey > 0, "the workload exercises matches and both skip counts");
  for (const w of [0, 1]) {
    const got = await pool.match(w, "t", records, { keys: true, values: true });
    assert.deepEqual([...got.pairs], [...expected.pairs]);
    assert.equal(got.nonJson, expected.nonJson);
    assert.equal(got.badKey, expected.badKey);
  }
  // A removed filter is gone on every worker; the others stay.
  pool.remove("t", 6);
  const without = [...expected.pairs].flatMap((x, i, a) => (i % 2 === 0 && a[i + 1] !== 6 ? [x, a[i + 1]!] : []));
  for (const w of [0, 1]) assert.deepEqual([...(await pool.match(w, "t", records, { keys: true, values: true })).pairs], without);
});

it("a topic whose filters read no values gets no value bytes, and parses none", async (t) => {
  const records = [record(0, '["a"]', "{broken"), record(1, '["b"]', '{"n":1}'), record(2, "bad", "x")];
  const keysOnly = packBatch(records, { keys: true, values: false });
  assert.equal(keysOnly.byteLength, records.length * 16 + '["a"]["b"]bad'.length);
  const batch = new PackedBatch(keysOnly, records.length);
  assert.equal(batch.value(0), null);
  assert.equal(new TextDecoder().decode(batch.key(1)!), '["b"]');

  const pool = new MatchPool(1, quiet);
  t.after(() => pool.close());
  pool.add("t", 1, spec("", ["a"]));
  const got = await pool.match(0, "t", records, { keys: true, values: false });
  assert.deepEqual([...got.pairs], [0, 1]);
  // Nobody reads the values, so none is parsed and none counts as not JSON.
  assert.deepEqual([got.nonJson, got.badKey], [0, 1]);
});

it("replaces a worker that dies, fails its batch, and gives the new one every filter", async (t) => {
  const problems: string[] = [];
  const log = createLogger({}, (line) => void problems.push(JSON.parse(line).msg));
  const pool = new MatchPool(1, log, { workerUrl: new URL("../helpers/exiting-match-worker.js", import.meta.url) });
  t.after(() => pool.close());
  pool.add("t", 1, spec('{"n":1}'));
  pool.add("t", 2, spec('{"n":2}'));
  pool.add("exit-now", 3, spec(""));
  const records = [record(0, null, '{"n":2}'), record(1, null, '{"n":1}')];
  assert.deepEqual([...(await pool.match(0, "t", records, { keys: false, values: true })).pairs], [0, 2, 1, 1]);

  await assert.rejects(pool.match(0, "exit-now", records, { keys: false, values: true }), (err: Error) => {
    assert.ok(err instanceof MatchWorkerError);
    assert.match(err.message, /match worker 0 exited with code 7/);
    return true;
  });
  assert.ok(problems.includes("match worker exited; starting another"), problems.join("; "));
  assert.deepEqual([...(await pool.match(0, "t", records, { keys: false, values: true })).pairs], [0, 2, 1, 1]);
});

it("spreads partition readers over the least loaded workers", async (t) => {
  const pool = new MatchPool(2, quiet);
  t.after(() => pool.close());
  const a = pool.acquire();
  const b = pool.acquire();
  assert.notEqual(a, b);
  pool.release(a);
  assert.equal(pool.acquire(), a);
  assert.throws(() => new MatchPool(0, quiet), /expected an integer >= 1/);
});
