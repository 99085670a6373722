// The sequencer's promise: matches and the scan frontier are committed
// together, so reopening the index after a crash continues the numbering
// exactly where the last commit left it.
import { it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { IndexStore } from "../../src/sequencer/index-store.js";
import { MAX_GROUP_WAIT_MS, Sequencer, type SequencedMatch } from "../../src/sequencer/sequencer.js";
import { headEpoch, type StreamRecord } from "../../src/sequencer/types.js";
import type { SourceRecord } from "../../src/source/types.js";

const rec = (offset: number, partition = 0): SourceRecord => ({
  topic: "t", partition, offset, timestamp: 1000 + offset, key: null, value: new Uint8Array(offset + 1), headers: [],
});

it("numbers densely per epoch and persists matches with the frontier", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "grep-streams-seq-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, "index.db");
  let store = new IndexStore(path);
  const appended: SequencedMatch[][] = [];
  let seq = new Sequencer(store, (_s, _e, m) => appended.push([...m]));
  const s = store.createStream("00000000000000aa", "{}", new Map([["t:0", 10], ["t:1", 0]]), 1);
  // Submitted in one turn: one group commit, and the listener hears of the stream's matches once, in seq order.
  await Promise.all([
    seq.commitHead("t:0", 15, [s], new Map([[s, [rec(11), rec(13)]]])),
    seq.commitHead("t:1", 3, [s], new Map([[s, [rec(2, 1)]]])),
  ]);
  await seq.commitHead("t:0", 20, [s], new Map()); // moved without matches: only in memory until a checkpoint
  assert.deepEqual(appended.map((a) => a.map((m) => [m.row.seq, m.row.offset])), [[[1, 11], [2, 13], [3, 2]]]);
  assert.equal(headEpoch(s).lastSeq, 3);
  assert.deepEqual([...headEpoch(s).frontier], [["t:0", 20], ["t:1", 3]]);
  store.db.close(); // a crash before the checkpoint: nothing sealed, the journal is replayed

  store = new IndexStore(path);
  const [reloaded] = store.loadStreams() as [StreamRecord];
  const head = headEpoch(reloaded);
  assert.equal(head.lastSeq, 3);
  // The frontier of t:0 is the one committed with the last match: 15, not 20. Rescanning 15..19 finds no match again.
  assert.deepEqual([...head.frontier].sort(), [["t:0", 15], ["t:1", 3]]);
  assert.deepEqual(store.readMatches(reloaded.sid, 0, 0, 10).map((m) => [m.seq, m.partition, m.offset, m.size]), [[1, 0, 11, 12], [2, 0, 13, 14], [3, 1, 2, 3]]);
  seq = new Sequencer(store, () => {});
  await seq.commitHead("t:0", 21, [reloaded], new Map([[reloaded, [rec(20)]]]));
  assert.equal(store.matchAt(reloaded.sid, 0, 4)?.offset, 20);
  seq.checkpoint();
  store.close();
});

it("a failed transaction leaves memory as it was, for every batch of the group commit", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "grep-streams-seq-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const store = new IndexStore(join(dir, "index.db"));
  const appended: number[] = [];
  const seq = new Sequencer(store, (_s, _e, m) => appended.push(m.length));
  const s = store.createStream("00000000000000bb", "{}", new Map(), 1);
  const other = store.createStream("00000000000000cc", "{}", new Map(), 1);
  await seq.commitHead("t:0", 5, [s], new Map([[s, [rec(4)]]]));
  // The disk fails the next commit (a trigger stands in for it): the whole group is rolled back, the other stream's batch too.
  store.db.exec("CREATE TRIGGER fail BEFORE INSERT ON match_journal BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END");
  const results = await Promise.allSettled([
    seq.commitHead("t:1", 3, [other], new Map([[other, [rec(1, 1), rec(2, 1)]]])),
    seq.commitHead("t:0", 9, [s], new Map([[s, [rec(6), rec(8)]]])),
  ]);
  assert.deepEqual(results.map((r) => r.status), ["rejected", "rejected"]);
  assert.equal(headEpoch(s).lastSeq, 1);
  assert.equal(headEpoch(s).frontier.get("t:0"), 5);
  assert.equal(headEpoch(other).lastSeq, 0);
  assert.equal(headEpoch(other).frontier.get("t:1"), undefined);
  assert.equal(store.readMatches(s.sid, 0, 0, 10).length, 1);
  assert.equal(store.readMatches(other.sid, 0, 0, 10).length, 0);
  assert.deepEqual(appended, [1]);
  store.close();
});

it("a stream that left before the group commit takes no part in it", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "grep-streams-seq-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const store = new IndexStore(join(dir, "index.db"));
  const seq = new Sequencer(store, () => {});
  const stays = store.createStream("00000000000000dd", "{}", new Map(), 1);
  const leaves = store.createStream("00000000000000ee", "{}", new Map(), 1);
  const members = new Set([stays, leaves]);
  const done = seq.commitHead("t:0", 3, [stays, leaves], new Map([[stays, [rec(1)]], [leaves, [rec(2)]]]), (r) => members.has(r));
  members.delete(leaves); // before the turn ends
  await done;
  assert.deepEqual([headEpoch(stays).lastSeq, headEpoch(stays).frontier.get("t:0")], [1, 3]);
  assert.deepEqual([headEpoch(leaves).lastSeq, headEpoch(leaves).frontier.get("t:0")], [0, undefined]);
  assert.equal(store.readMatches(leaves.sid, 0, 0, 10).length, 0);
  store.close();
});

it("a group commit waits for announced batches, and not longer than its wait", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "grep-streams-seq-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const store = new IndexStore(join(dir, "index.db"));
  t.after(() => store.close());
  const transactions = () => Number(store.db.prepare("SELECT COALESCE(MAX(id), 0) FROM match_journal").pluck().get());
  // A long wait, so that only the announced batch can end it.
  const patient = new Sequencer(store, () => {}, { groupWaitMs: 60_000 });
  const s = store.createStream("00000000000000ff", "{}", new Map(), 1);
  // Partition 1's batch is still being matched when partition 0's is submitted: one transaction for both.
  const release = patient.expect();
  const first = patient.commitHead("t:0", 2, [s], new Map([[s, [rec(1)]]]));
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(headEpoch(s).lastSeq, 0, "the commit waits for the announced batch");
  release();
  const second = patient.commitHead("t:1", 4, [s], new Map([[s, [rec(3, 1)]]]));
  await Promise.all([first, second]);
  assert.equal(transactions(), 1);
  assert.equal(headEpoch(s).lastSeq, 2);
  // An announced batch that never comes (a worker that is slow or failed) holds a commit up for the wait only.
  const seq = new Sequencer(store, () => {}, { groupWaitMs: 30 });
  const never = seq.expect();
  const started = performance.now();
  await seq.commitHead("t:0", 6, [s], new Map([[s, [rec(5)]]]));
  const waited = performance.now() - started;
  assert.ok(waited >= 25 && waited < 5_000, `waited ${waited} ms`);
  assert.equal(transactions(), 2);
  never();
  never(); // a second call changes nothing
  await seq.commitHead("t:0", 8, [s], new Map([[s, [rec(7)]]]));
  assert.equal(headEpoch(s).lastSeq, 4);
  assert.ok(MAX_GROUP_WAIT_MS <= 2, "the default wait stays short: it adds to every live delivery");
});

it("moves the frontiers of members without matches lazily, and settles them before they are read or saved", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "grep-streams-seq-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, "index.db");
  let store = new IndexStore(path);
  const seq = new Sequencer(store, () => {});
  const a = store.createStream("0000000000000a01", "{}", new Map([["t:0", 0]]), 1);
  const b = store.createStream("0000000000000a02", "{}", new Map([["t:0", 0]]), 1);
  const members = [a, b];
  const all = () => true;
  await seq.commitHead("t:0", 5, members, new Map(), undefined, all);
  await seq.commitHead("t:0", 9, members, new Map([[a, [rec(7)]]]), undefined, all);
  // The stream that matched has its frontier at once (it was written with the match); the other's waits.
  assert.equal(headEpoch(a).frontier.get("t:0"), 9);
  assert.equal(headEpoch(b).frontier.get("t:0"), 0);
  await seq.commitHead("t:0", 12, members, new Map(), undefined, all);
  seq.settleFrontiers("t:0");
  assert.deepEqual([headEpoch(a).frontier.get("t:0"), headEpoch(b).frontier.get("t:0")], [12, 12]);
  // A batch whose members changed (not all of them still members) moves them at once, after settling what was lazy.
  await seq.commitHead("t:0", 14, members, new Map(), undefined, all);
  await seq.commitHead("t:0", 20, [a], new Map(), undefined, () => false);
  assert.deepEqual([headEpoch(a).frontier.get("t:0"), headEpoch(b).frontier.get("t:0")], [20, 14]);
  // A checkpoint settles and saves: the restart finds every frontier.
  await seq.commitHead("t:0", 25, members, new Map(), undefined, all);
  seq.checkpoint();
  store.db.close();
  store = new IndexStore(path);
  t.after(() => store.close());
  assert.deepEqual(store.loadStreams().map((s) => headEpoch(s).frontier.get("t:0")), [25, 25]);
});
