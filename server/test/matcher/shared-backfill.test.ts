// Shared backfill scans (matcher/backfill.ts, backfill-scans.ts): epochs of
// several streams over overlapping ranges, joining a running scan behind it,
// ahead of it and too far away to join, some aborted mid-scan and scanned
// again, must each end with exactly the matches of their own range, in time
// order, densely numbered: the same as parsing every record and testing the
// filter (no prefilter, no sharing). Randomised over seeds.
import assert from "node:assert/strict";
import { test } from "node:test";
import { compileFilter, type CompiledFilter } from "../../src/filter/index.js";
import { parseKey } from "../../src/filter/key.js";
import { BackfillScans } from "../../src/matcher/backfill-scans.js";
import type { BackfillProgress } from "../../src/matcher/backfill.js";
import { IndexStore } from "../../src/sequencer/index-store.js";
import { Sequencer } from "../../src/sequencer/sequencer.js";
import { partitionKey, type Epoch, type OffsetMap, type StreamRecord } from "../../src/sequencer/types.js";
import { EmbeddedLog } from "../../src/source/embedded/embedded-log.js";
import type { Source, SourceRecord } from "../../src/source/types.js";
import { mulberry32 } from "../../src/util/prng.js";

const enc = new TextEncoder();
const PARTITIONS = 3;
const PER_PARTITION = 240;
const BATCH = 7; // a join window of 32 batches: 224 offsets

const QUERIES = ['{"t":"a"}', '{"t":"b"}', '{"t":{"$in":["a","c"]}}', '{"n":{"$gte":300}}', "", '{"$or":[{"t":"c"},{"u":true}]}'];

/** Values spelled in ways the prefilter must see through, some not JSON at all. */
function valueOf(rnd: () => number, n: number): Uint8Array | null {
  const t = ["a", "b", "c"][Math.floor(rnd() * 3)]!;
  const r = rnd();
  if (r < 0.05) return null;
  if (r < 0.1) return enc.encode("not json");
  if (r < 0.2) return enc.encode(`{"t":"\\u00${t.charCodeAt(0).toString(16)}","n":${n}}`);
  return enc.encode(JSON.stringify({ t, n, u: rnd() < 0.3 }));
}

async function history(seed: number): Promise<EmbeddedLog> {
  const rnd = mulberry32(seed);
  const log = new EmbeddedLog({ path: ":memory:", defaultPartitions: PARTITIONS });
  // Strictly increasing timestamps in each partition, distinct across them: one merge order.
  let ts = 1000;
  const rows = [];
  for (let i = 0; i < PER_PARTITION * PARTITIONS; i++) rows.push({ partition: i % PARTITIONS, timestamp: ts += 1 + Math.floor(rnd() * 3), key: enc.encode('["k"]'), value: valueOf(rnd, i) });
  await log.produce("h", rows);
  return log;
}

const matchesPlainly = (f: CompiledFilter, r: SourceRecord): boolean => {
  if (f.needsKey) {
    const key = parseKey(r.key);
    if (key === null || !f.matchesKey(key)) return false;
  }
  if (!f.needsValue) return true;
  if (r.value === null) return false;
  let v: unknown;
  try {
    v = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(r.value));
  } catch {
    return false;
  }
  return f.matchesValue(v);
};

/** Counts reads and runs a hook before each (to join or abort members mid-scan). */
class WatchedSource {
  reads = 0;
  hook: (reads: number) => void = () => {};
  constructor(private readonly inner: Source) {}
  read(topic: string, partition: number, offset: number, limit: number): Promise<SourceRecord[]> {
    this.hook(++this.reads);
    return this.inner.read(topic, partition, offset, limit);
  }
}

interface Planned {
  readonly record: StreamRecord;
  readonly filter: CompiledFilter;
  readonly epoch: Epoch;
  readonly sid: number;
  readonly joinAtRead: number;
  readonly abortAtRead: number | null;
  readonly expected: Array<[number, number]>;
}

/** A stream of this id with one backfill epoch over [start, end). */
function backfillEpoch(store: IndexStore, id: string, start: OffsetMap, end: OffsetMap): { record: StreamRecord; epoch: Epoch } {
  const record = store.createStream(id, "{}", new Map(), 0);
  const epoch: Epoch = { epoch: 1, ord: -1, kind: "backfill", start, end, lastSeq: 0, complete: false, frontier: new Map(start) };
  store.insertEpoch(record.sid, epoch);
  record.epochs.unshift(epoch);
  return { record, epoch };
}

/** A history, an index, and shared scans reading it through a WatchedSource. */
async function scanning(seed: number, opts: { batchSize: number; maxScans: number }) {
  const log = await history(seed);
  const store = new IndexStore(":memory:");
  const source = new WatchedSource(log);
  const scans = new BackfillScans(source as unknown as Source, new Sequencer(store, () => {}), opts);
  return { log, store, source, scans };
}

const progress = (): BackfillProgress => ({ scanned: 0, total: 0, matched: 0, startedAt: 0, waitingFor: "" });

for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
  test(`shared scans give every epoch exactly its own matches (seed ${seed})`, async () => {
    const rnd = mulberry32(seed * 7919);
    const log = await history(seed);
    const all: SourceRecord[] = [];
    for (let p = 0; p < PARTITIONS; p++) all.push(...(await log.read("h", p, 0, PER_PARTITION)));
    all.sort((a, b) => a.timestamp - b.timestamp);
    const store = new IndexStore(":memory:");
    const sequencer = new Sequencer(store, () => {});
    const source = new WatchedSource(log);
    const scans = new BackfillScans(source as unknown as Source, sequencer, { batchSize: BATCH, maxScans: 1 + Math.floor(rnd() * 2) });

    // Ranges near each other (they share) and some far apart (they do not); joins at random reads.
    const base = Math.floor(rnd() * 100);
    const planned: Planned[] = [];
    const members = 3 + Math.floor(rnd() * 6);
    for (let i = 0; i < members; i++) {
      const query = QUERIES[Math.floor(rnd() * QUERIES.length)]!;
      const filter = compileFilter({ topics: ["h"], topicRegex: "", keyPrefix: i % 4 === 3 ? ["k"] : [], keyRegex: "", query, projection: "" });
      const start: OffsetMap = new Map();
      const end: OffsetMap = new Map();
      for (let p = 0; p < PARTITIONS; p++) {
        const from = rnd() < 0.2 ? Math.floor(rnd() * PER_PARTITION) : Math.min(PER_PARTITION, base + Math.floor(rnd() * 40));
        start.set(partitionKey("h", p), from);
        end.set(partitionKey("h", p), Math.min(PER_PARTITION, from + Math.floor(rnd() * 120)));
      }
      const { record, epoch } = backfillEpoch(store, `${seed}-${i}`.padStart(16, "0"), start, end);
      const expected = all
        .filter((r) => r.offset >= start.get(partitionKey("h", r.partition))! && r.offset < end.get(partitionKey("h", r.partition))! && matchesPlainly(filter, r))
        .map((r): [number, number] => [r.partition, r.offset]);
      planned.push({ record, filter, epoch, sid: record.sid, joinAtRead: i === 0 ? 0 : Math.floor(rnd() * 30), abortAtRead: rnd() < 0.25 ? Math.floor(rnd() * 30) : null, expected });
    }

    const finished: Array<Promise<void>> = [];
    const start = (pl: Planned) => {
      const abort = new AbortController();
      const stream = { record: pl.record, filter: pl.filter };
      const once = scans.scan({ stream, epoch: pl.epoch, signal: abort.signal, progress: progress() });
      if (pl.abortAtRead === null) {
        finished.push(once);
        return;
      }
      const at = source.reads + 1 + pl.abortAtRead;
      aborts.push([at, abort]);
      // Aborted: nothing it did not commit is kept; scanned again from its frontier.
      finished.push(
        once.then(
          () => {},
          () => scans.scan({ stream, epoch: pl.epoch, signal: new AbortController().signal, progress: progress() }),
        ),
      );
    };
    const aborts: Array<[number, AbortController]> = [];
    const later = planned.slice(1).sort((a, b) => a.joinAtRead - b.joinAtRead);
    source.hook = (reads) => {
      while (later.length > 0 && later[0]!.joinAtRead <= reads) start(later.shift()!);
      for (const [at, a] of aborts) if (at <= reads) a.abort(new Error("aborted by the test"));
    };
    start(planned[0]!);
    // Members that were to join after the last read join at the end.
    while (finished.length < planned.length || later.length > 0) {
      await Promise.all(finished);
      while (later.length > 0) start(later.shift()!);
    }
    await Promise.all(finished);

    for (const pl of planned) {
      assert.equal(pl.epoch.complete, true);
      const rows = store.readMatches(pl.sid, 1, 0, 10_000);
      assert.deepEqual(rows.map((m) => [m.partition, m.offset]), pl.expected, `epoch of ${pl.filter.canonical}, range ${JSON.stringify([...pl.epoch.start])} -> ${JSON.stringify([...pl.epoch.end!])}`);
      assert.deepEqual(rows.map((m) => m.seq), pl.expected.map((_, i) => i + 1));
      assert.equal(pl.epoch.lastSeq, pl.expected.length);
    }
    store.close();
  });
}

test("epochs over one range share one scan: each record read once", async () => {
  const { log, store, source, scans } = await scanning(11, { batchSize: 50, maxScans: 4 });
  const epochs: Array<Promise<void>> = [];
  const sids: number[] = [];
  for (let i = 0; i < 20; i++) {
    const filter = compileFilter({ topics: ["h"], topicRegex: "", keyPrefix: [], keyRegex: "", query: QUERIES[i % QUERIES.length]!, projection: "" });
    const start: OffsetMap = new Map();
    const end: OffsetMap = new Map();
    for (let p = 0; p < PARTITIONS; p++) {
      start.set(partitionKey("h", p), i);
      end.set(partitionKey("h", p), PER_PARTITION);
    }
    const { record, epoch } = backfillEpoch(store, String(i).padStart(16, "0"), start, end);
    sids.push(record.sid);
    epochs.push(scans.scan({ stream: { record, filter }, epoch, signal: new AbortController().signal, progress: progress() }));
  }
  await Promise.all(epochs);
  assert.equal(scans.joined, 19, "every epoch after the first joined its scan");
  // 3 partitions of 240 records in batches of 50: 5 reads each, and one more each at the end.
  assert.ok(source.reads <= 3 * 6, `reads: ${source.reads}`);
  const a = store.readMatches(sids[0]!, 1, 0, 10_000).length;
  assert.ok(a > 50, `matches of {"t":"a"}: ${a}`);
  store.close();
});

test("a failed read fails every member of the scan; scanned again, each gets its matches once", async () => {
  const log = await history(12);
  const store = new IndexStore(":memory:");
  const sequencer = new Sequencer(store, () => {});
  let fail = 4;
  const failing = {
    read: (topic: string, partition: number, offset: number, limit: number) => {
      if (--fail === 0) return Promise.reject(new Error("broker unreachable"));
      return log.read(topic, partition, offset, limit);
    },
  };
  const scans = new BackfillScans(failing as unknown as Source, sequencer, { batchSize: 20, maxScans: 1 });
  const filter = compileFilter({ topics: ["h"], topicRegex: "", keyPrefix: [], keyRegex: "", query: '{"t":"b"}', projection: "" });
  const members = [0, 1, 2].map((i) => {
    const start: OffsetMap = new Map([[partitionKey("h", 0), i], [partitionKey("h", 1), 0], [partitionKey("h", 2), 0]]);
    const end: OffsetMap = new Map([[partitionKey("h", 0), PER_PARTITION], [partitionKey("h", 1), PER_PARTITION], [partitionKey("h", 2), PER_PARTITION]]);
    const { record, epoch } = backfillEpoch(store, `f${i}`.padStart(16, "0"), start, end);
    return { record, epoch, stream: { record, filter } };
  });
  const results = await Promise.allSettled(members.map((m) => scans.scan({ ...m, signal: new AbortController().signal, progress: progress() })));
  assert.deepEqual(results.map((r) => r.status), ["rejected", "rejected", "rejected"]);
  assert.match(String((results[0] as PromiseRejectedResult).reason), /broker unreachable/);
  await Promise.all(members.map((m) => scans.scan({ ...m, signal: new AbortController().signal, progress: progress() })));
  const counts = members.map((m) => store.readMatches(m.record.sid, 1, 0, 10_000));
  for (const rows of counts) {
    assert.deepEqual(rows.map((r) => r.seq), rows.map((_, i) => i + 1));
    assert.equal(new Set(rows.map((r) => `${r.partition}:${r.offset}`)).size, rows.length);
  }
  const all: SourceRecord[] = [];
  for (let p = 0; p < PARTITIONS; p++) all.push(...(await log.read("h", p, 0, PER_PARTITION)));
  const expected = (from0: number) => all.filter((r) => (r.partition !== 0 || r.offset >= from0) && matchesPlainly(filter, r)).length;
  assert.deepEqual(counts.map((rows) => rows.length), [expected(0), expected(1), expected(2)]);
  store.close();
});

test("an epoch aborted mid-scan leaves it; the others go on; scanned again it completes exactly", async () => {
  const { log, store, source, scans } = await scanning(13, { batchSize: 10, maxScans: 1 });
  const filter = compileFilter({ topics: ["h"], topicRegex: "", keyPrefix: [], keyRegex: "", query: '{"t":"a"}', projection: "" });
  const made = [0, 1].map((i) => {
    const start: OffsetMap = new Map([0, 1, 2].map((p) => [partitionKey("h", p), 0]));
    const end: OffsetMap = new Map([0, 1, 2].map((p) => [partitionKey("h", p), PER_PARTITION]));
    const { record, epoch } = backfillEpoch(store, `g${i}`.padStart(16, "0"), start, end);
    return { record, epoch, stream: { record, filter } };
  });
  const abort = new AbortController();
  source.hook = (reads) => {
    if (reads === 12) abort.abort(new Error("stream evicted"));
  };
  const [gone, stays] = await Promise.allSettled([
    scans.scan({ ...made[0]!, signal: abort.signal, progress: progress() }),
    scans.scan({ ...made[1]!, signal: new AbortController().signal, progress: progress() }),
  ]);
  assert.equal(gone.status, "rejected");
  assert.match(String((gone as PromiseRejectedResult).reason), /stream evicted/);
  assert.equal(stays.status, "fulfilled");
  assert.equal(made[0]!.epoch.complete, false);
  const partial = store.readMatches(made[0]!.record.sid, 1, 0, 10_000).length;
  const full = store.readMatches(made[1]!.record.sid, 1, 0, 10_000).length;
  assert.ok(partial > 0 && partial < full, `partial ${partial} of ${full}`);
  await scans.scan({ ...made[0]!, signal: new AbortController().signal, progress: progress() });
  assert.deepEqual(
    store.readMatches(made[0]!.record.sid, 1, 0, 10_000).map((m) => [m.partition, m.offset, m.seq]),
    store.readMatches(made[1]!.record.sid, 1, 0, 10_000).map((m) => [m.partition, m.offset, m.seq]),
  );
  store.close();
});
