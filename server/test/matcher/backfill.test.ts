// A backfill epoch merges partitions by timestamp, across batch boundaries,
// and an interrupted scan resumes at its frontier without losing or
// repeating a match.
import { it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EmbeddedLog } from "../../src/source/embedded/embedded-log.js";
import { IndexStore } from "../../src/sequencer/index-store.js";
import { Sequencer } from "../../src/sequencer/sequencer.js";
import type { Epoch } from "../../src/sequencer/types.js";
import { runBackfill, type BackfillProgress } from "../../src/matcher/backfill.js";
import { compileFilter } from "../../src/filter/index.js";

const enc = new TextEncoder();

async function setup(path = ":memory:") {
  const log = new EmbeddedLog({ path: ":memory:", defaultPartitions: 3 });
  // Timestamps interleave across partitions; partition 2 has a late, out-of-order record.
  const plan: Array<[number, number]> = [[0, 10], [1, 11], [2, 12], [0, 13], [0, 14], [1, 15], [2, 16], [1, 17], [0, 18], [2, 10_000], [1, 19], [0, 20]];
  await log.produce("h", plan.map(([partition, ts]) => ({ partition, timestamp: ts, key: null, value: enc.encode(JSON.stringify({ ts, keep: ts % 2 === 0 })) })));
  const store = new IndexStore(path);
  const seq = new Sequencer(store, () => {});
  const filter = compileFilter({ topics: ["h"], topicRegex: "", keyPrefix: [], keyRegex: "", query: '{"keep":true}', projection: "" });
  const ends = new Map((await log.describeTopic("h")).partitions.map((p) => [`h:${p.partition}`, p.end]));
  const record = store.createStream(filter.streamId, "{}", ends, 0);
  const epoch: Epoch = { epoch: 1, ord: -1, kind: "backfill", start: new Map(), end: ends, lastSeq: 0, complete: false, frontier: new Map() };
  store.insertEpoch(record.sid, epoch);
  record.epochs.unshift(epoch);
  return { log, store, seq, stream: { record, filter }, epoch, path };
}

const progress = (): BackfillProgress => ({ scanned: 0, total: 0, matched: 0, startedAt: 0, waitingFor: "" });
const timestamps = (store: IndexStore, sid: number) => store.readMatches(sid, 1, 0, 100).map((m) => m.timestamp);

it("merges partitions by timestamp across batch boundaries", async () => {
  const { log, store, seq, stream, epoch } = await setup();
  const p = progress();
  await runBackfill(log, seq, stream, epoch, { batchSize: 2, signal: new AbortController().signal, progress: p });
  assert.equal(epoch.complete, true);
  // A k-way merge on the head records: partition 2's late 10000 waits for everything older.
  assert.deepEqual(timestamps(store, stream.record.sid), [10, 12, 14, 16, 18, 20, 10_000]);
  assert.deepEqual([p.scanned, p.total, p.matched], [12, 12, 7]);
  assert.deepEqual(store.readMatches(stream.record.sid, 1, 0, 100).map((m) => m.seq), [1, 2, 3, 4, 5, 6, 7]);
});

it("resumes an interrupted scan at its frontier: no match lost or repeated", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "grep-streams-backfill-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const { log, store, stream, epoch, path } = await setup(join(dir, "index.db"));
  const abort = new AbortController();
  let commits = 0;
  const counting = new Sequencer(store, () => {
    if (++commits === 3) abort.abort();
  });
  await assert.rejects(runBackfill(log, counting, stream, epoch, { batchSize: 2, signal: abort.signal, progress: progress() }));
  assert.equal(epoch.complete, false);
  const partial = timestamps(store, stream.record.sid);
  assert.ok(partial.length > 0 && partial.length < 7, `partial: ${partial}`);
  // A crash (nothing sealed: the journal is replayed), then a restart that scans again from the epoch as the index has it.
  store.db.close();
  const reopened = new IndexStore(path);
  t.after(() => reopened.close());
  const [reloaded] = reopened.loadStreams();
  const again = reloaded!.epochs.find((e) => e.epoch === 1)!;
  assert.deepEqual(timestamps(reopened, stream.record.sid), partial, "the committed matches survived the crash");
  await runBackfill(log, new Sequencer(reopened, () => {}), { record: reloaded!, filter: stream.filter }, again, { batchSize: 2, signal: new AbortController().signal, progress: progress() });
  const all = timestamps(reopened, stream.record.sid);
  assert.deepEqual([...all].sort((a, b) => a - b), [10, 12, 14, 16, 18, 20, 10_000]);
  assert.equal(new Set(all).size, 7);
});
