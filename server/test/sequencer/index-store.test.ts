// The index's storage of matches: segments, pending matches and the journal.
// Whatever order commits, seals, failures, crashes and restarts come in,
// every committed match is read back once, at its seq, with its epoch's
// counters and frontiers; nothing uncommitted appears.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { IndexStore, SEAL_AGE_MS, SEGMENT_ROWS } from "../../src/sequencer/index-store.js";
import type { Epoch, MatchRow, StreamRecord } from "../../src/sequencer/types.js";
import { mulberry32 } from "../../src/util/prng.js";

const tempDir = (t: { after: (fn: () => void) => void }) => {
  const dir = mkdtempSync(join(tmpdir(), "grep-streams-store-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
};

/** What the test holds to be committed, per "sid/epoch". */
interface ModelEpoch {
  rows: MatchRow[];
  frontier: Map<string, number>;
  complete: boolean;
}

const row = (epoch: number, seq: number, offset: number, ts: number, topic = "t"): MatchRow => ({ epoch, seq, topic, partition: offset % 3, offset, timestamp: ts, size: offset % 100 });

describe("IndexStore", () => {
  it("reads across segments and pending matches, seals by count and by age, and trims the journal", (t) => {
    const dir = tempDir(t);
    let now = 1_000;
    const store = new IndexStore(join(dir, "index.db"), { now: () => now });
    const s = store.createStream("00000000000000a1", "{}", new Map(), 1);
    const head = s.epochs[0]!;
    const commit = (n: number) => {
      const rows = Array.from({ length: n }, (_, i) => row(head.epoch, head.lastSeq + 1 + i, head.lastSeq + i, 5_000 + head.lastSeq + i, i % 2 ? "t" : "u"));
      store.append([{ sid: s.sid, epoch: head, rows, frontier: new Map([["t:0", head.lastSeq + n]]), complete: false }]);
      head.lastSeq += n;
      head.frontier.set("t:0", head.lastSeq);
    };
    const journal = () => store.db.prepare("SELECT COUNT(*) FROM match_journal").pluck().get();
    const segments = () => store.db.prepare("SELECT first_seq, last_seq FROM match_segments ORDER BY last_seq").raw().all();
    commit(SEGMENT_ROWS - 1);
    assert.deepEqual(segments(), [], "fewer than SEGMENT_ROWS stay pending");
    commit(2); // reaches SEGMENT_ROWS: sealed in this commit
    assert.deepEqual(segments(), [[1, SEGMENT_ROWS + 1]]);
    assert.equal(store.sealAged(), false);
    assert.equal(journal(), 0, "records every part of which is sealed are deleted (by the next sealAged)");
    commit(5);
    assert.equal(journal(), 1);
    assert.equal(store.sealAged(), false);
    assert.deepEqual(segments(), [[1, SEGMENT_ROWS + 1]], "not old enough yet");
    const all = store.readMatches(s.sid, 0, 0, 1_000);
    assert.deepEqual(all.map((m) => m.seq), Array.from({ length: SEGMENT_ROWS + 6 }, (_, i) => i + 1));
    assert.deepEqual(store.readMatches(s.sid, 0, SEGMENT_ROWS - 1, 4).map((m) => m.seq), [SEGMENT_ROWS, SEGMENT_ROWS + 1, SEGMENT_ROWS + 2, SEGMENT_ROWS + 3], "a page across the segment and the pending matches");
    assert.equal(store.matchAt(s.sid, 0, SEGMENT_ROWS + 4)?.offset, SEGMENT_ROWS + 3);
    assert.equal(store.matchAt(s.sid, 0, 3)?.topic, "u");
    assert.equal(store.matchAt(s.sid, 0, SEGMENT_ROWS + 7), undefined);
    assert.deepEqual([...store.iterateMatches(s.sid, 5_002, 5_004)].map((m) => m.seq).sort((a, b) => a - b), [3, 4]);
    // A seal while a time range is being read: the run it moves is read once.
    const reading = store.iterateMatches(s.sid, 0, 0);
    const first = reading.next();
    now += SEAL_AGE_MS;
    assert.equal(store.sealAged(), false);
    assert.deepEqual(segments(), [[1, SEGMENT_ROWS + 1], [SEGMENT_ROWS + 2, SEGMENT_ROWS + 6]]);
    assert.deepEqual([first.value as MatchRow, ...reading].map((m) => m.seq).sort((a, b) => a - b), all.map((m) => m.seq));
    assert.equal(journal(), 0);
    assert.deepEqual(store.readMatches(s.sid, 0, 0, 1_000), all, "the same rows once sealed");
    // The timer's seals commit without waiting for the disk; every other commit waits again (FULL = 2).
    assert.equal(store.db.pragma("synchronous", { simple: true }), 2);
    store.close();
  });

  it("rewrites an index of one row per match as segments when it opens it", (t) => {
    const dir = tempDir(t);
    const path = join(dir, "index.db");
    const old = new Database(path);
    old.exec(`CREATE TABLE streams (sid INTEGER PRIMARY KEY, stream_id TEXT NOT NULL UNIQUE, spec_json TEXT NOT NULL, created_at INTEGER NOT NULL, last_used_at INTEGER NOT NULL);
      CREATE TABLE epochs (sid INTEGER NOT NULL, epoch INTEGER NOT NULL, ord INTEGER NOT NULL, kind TEXT NOT NULL, start_map TEXT NOT NULL, end_map TEXT, last_seq INTEGER NOT NULL, complete INTEGER NOT NULL, frontier TEXT NOT NULL, PRIMARY KEY (sid, epoch)) WITHOUT ROWID;
      CREATE TABLE grep_match_seq (sid INTEGER NOT NULL, epoch INTEGER NOT NULL, seq INTEGER NOT NULL, topic TEXT NOT NULL, partition INTEGER NOT NULL, "offset" INTEGER NOT NULL, ts INTEGER NOT NULL, size INTEGER NOT NULL, PRIMARY KEY (sid, epoch, seq)) WITHOUT ROWID;
      CREATE INDEX grep_match_seq_ts ON grep_match_seq (sid, ts);
      INSERT INTO streams VALUES (1, '00000000000000b1', '{}', 1, 1);
      INSERT INTO epochs VALUES (1, 0, 0, 'head', '{}', NULL, 300, 0, '{"t:0":400}');
      INSERT INTO epochs VALUES (1, 1, -1, 'backfill', '{}', '{"t:0":7}', 2, 1, '{"t:0":7}');`);
    const ins = old.prepare('INSERT INTO grep_match_seq VALUES (1, ?, ?, ?, ?, ?, ?, ?)');
    for (let seq = 1; seq <= 300; seq++) ins.run(0, seq, "t", 0, seq * 2, 10_000 + seq, seq);
    ins.run(1, 1, "t", 0, 3, 50, 1);
    ins.run(1, 2, "t", 0, 5, 60, 1);
    old.close();

    const store = new IndexStore(path);
    t.after(() => store.close());
    const tables = store.db.prepare("SELECT name FROM sqlite_master WHERE name LIKE 'grep_match_seq%'").pluck().all();
    assert.deepEqual(tables, [], "the old table and its index are gone");
    const [s] = store.loadStreams() as [StreamRecord];
    assert.deepEqual(s.epochs.map((e) => [e.epoch, e.lastSeq]), [[1, 2], [0, 300]]);
    const head = store.readMatches(1, 0, 0, 1_000);
    assert.deepEqual(head.map((m) => [m.seq, m.offset, m.timestamp, m.size]), Array.from({ length: 300 }, (_, i) => [i + 1, (i + 1) * 2, 10_001 + i, i + 1]));
    assert.deepEqual(store.readMatches(1, 1, 0, 10).map((m) => [m.seq, m.offset]), [[1, 3], [2, 5]]);
  });

  it("a failed commit leaves the tables, the pending matches and the journal as they were", (t) => {
    const dir = tempDir(t);
    const store = new IndexStore(join(dir, "index.db"));
    t.after(() => store.close());
    const a = store.createStream("00000000000000c1", "{}", new Map(), 1);
    const b = store.createStream("00000000000000c2", "{}", new Map(), 1);
    const ha = a.epochs[0]!;
    const hb = b.epochs[0]!;
    store.append([{ sid: a.sid, epoch: ha, rows: [row(0, 1, 10, 10)], frontier: new Map([["t:0", 11]]), complete: false }]);
    ha.lastSeq = 1;
    // b's commit would seal a segment; the disk fails that insert, after the journal record was written.
    store.db.exec("CREATE TRIGGER fail BEFORE INSERT ON match_segments BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END");
    const many = Array.from({ length: SEGMENT_ROWS }, (_, i) => row(0, i + 1, i, i));
    assert.throws(
      () => store.append([
        { sid: a.sid, epoch: ha, rows: [row(0, 2, 12, 12)], frontier: new Map([["t:0", 13]]), complete: false },
        { sid: b.sid, epoch: hb, rows: many, frontier: new Map([["t:0", SEGMENT_ROWS]]), complete: false },
      ]),
      /disk I\/O error/,
    );
    assert.deepEqual(store.readMatches(a.sid, 0, 0, 10).map((m) => m.seq), [1]);
    assert.deepEqual(store.readMatches(b.sid, 0, 0, 10), []);
    assert.equal(store.db.prepare("SELECT COUNT(*) FROM match_journal").pluck().get(), 1);
    // A write whose seqs do not follow its epoch's is refused the same way.
    store.db.exec("DROP TRIGGER fail");
    assert.throws(() => store.append([{ sid: a.sid, epoch: ha, rows: [row(0, 3, 14, 14)], frontier: new Map(), complete: false }]), /match 3 written where 2 belongs/);
    assert.deepEqual(store.readMatches(a.sid, 0, 0, 10).map((m) => m.seq), [1]);
  });

  it("an evicted stream's epochs are never saved, even when SQLite gives its sid to a new stream", (t) => {
    const dir = tempDir(t);
    const store = new IndexStore(join(dir, "index.db"));
    t.after(() => store.close());
    const old = store.createStream("00000000000000e1", "{}", new Map([["t:0", 5]]), 1);
    const head = old.epochs[0]!;
    store.append([{ sid: old.sid, epoch: head, rows: [row(0, 1, 5, 5)], frontier: new Map([["t:0", 6]]), complete: false }]);
    head.lastSeq = 1;
    head.frontier.set("t:0", 900);
    store.evictStream(old, 2);
    const fresh = store.createStream("00000000000000e2", "{}", new Map([["t:0", 7]]), 3);
    assert.equal(fresh.sid, old.sid, "the sid is reused (the premise of this test)");
    store.saveEpoch(old.sid, head); // a checkpoint that still held the old stream
    const [reloaded] = store.loadStreams();
    assert.deepEqual([reloaded!.streamId, reloaded!.epochs[0]!.lastSeq, reloaded!.epochs[0]!.frontier.get("t:0")], ["00000000000000e2", 0, 7]);
    assert.deepEqual(store.readMatches(fresh.sid, 0, 0, 10), [], "the old stream's matches are gone with it");
  });

  it("keeps every committed match and frontier through random commits, seals, failures, crashes and restarts", (t) => {
    const dir = tempDir(t);
    const path = join(dir, "index.db");
    const seed = Number(process.env.GREP_STREAMS_STORE_SEED ?? 20261201);
    const rand = mulberry32(seed);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
    let now = 0;
    let store = new IndexStore(path, { now: () => now });
    const model = new Map<string, ModelEpoch>();
    let streams: StreamRecord[] = [];
    for (let i = 0; i < 4; i++) {
      const s = store.createStream(`00000000000000d${i}`, "{}", new Map([["t:0", 0]]), 1);
      const backfill: Epoch = { epoch: 1, ord: -1, kind: "backfill", start: new Map(), end: new Map([["t:0", 1e6]]), lastSeq: 0, complete: false, frontier: new Map() };
      store.insertEpoch(s.sid, backfill);
      s.epochs.unshift(backfill);
      streams.push(s);
      for (const e of s.epochs) model.set(`${s.sid}/${e.epoch}`, { rows: [], frontier: new Map(e.frontier), complete: false });
    }
    let offset = 0;
    const stats = { commits: 0, failures: 0, crashes: 0, restarts: 0, seals: 0, reads: 0 };
    const check = (where: string) => {
      for (const s of streams) {
        for (const e of s.epochs) {
          const m = model.get(`${s.sid}/${e.epoch}`)!;
          assert.equal(e.lastSeq, m.rows.length, `${where}: stream ${s.sid} epoch ${e.epoch} last seq`);
          const after = Math.floor(rand() * (m.rows.length + 1));
          const limit = 1 + Math.floor(rand() * 150);
          assert.deepEqual(store.readMatches(s.sid, e.epoch, after, limit), m.rows.slice(after, after + limit), `${where}: stream ${s.sid} epoch ${e.epoch} after ${after} limit ${limit}`);
          if (m.rows.length > 0) {
            const seq = 1 + Math.floor(rand() * m.rows.length);
            assert.deepEqual(store.matchAt(s.sid, e.epoch, seq), m.rows[seq - 1], `${where}: match ${seq}`);
          }
          stats.reads++;
        }
        const from = Math.floor(rand() * offset);
        const to = from + Math.floor(rand() * 200);
        const expected = [...model].filter(([k]) => k.startsWith(`${s.sid}/`)).flatMap(([, m]) => m.rows).filter((r) => r.timestamp >= from && r.timestamp < to);
        const got = [...store.iterateMatches(s.sid, from, to)];
        const key = (r: MatchRow) => `${r.epoch}/${r.seq}`;
        assert.deepEqual(got.map(key).sort(), expected.map(key).sort(), `${where}: time range [${from}, ${to}) of stream ${s.sid}`);
      }
    };
    const reopen = (crash: boolean) => {
      if (crash) store.db.close();
      else store.close();
      store = new IndexStore(path, { now: () => now });
      streams = store.loadStreams();
      for (const s of streams) {
        for (const e of s.epochs) {
          const m = model.get(`${s.sid}/${e.epoch}`)!;
          assert.equal(e.complete, m.complete, `after a ${crash ? "crash" : "restart"}: complete`);
          // Frontiers persisted with matches are exact; a crash may lose only what checkpoints would have saved (none here).
          assert.deepEqual([...e.frontier].sort(), [...m.frontier].sort(), `after a ${crash ? "crash" : "restart"}: frontier of stream ${s.sid} epoch ${e.epoch}`);
        }
      }
      assert.equal(store.db.prepare("SELECT COUNT(*) FROM match_journal").pluck().get(), 0, "the journal was folded when the index opened");
    };

    for (let step = 0; step < 1_500; step++) {
      const r = rand();
      if (r < 0.7) {
        // A commit: some streams' head or backfill epochs, a few matches each (sometimes none, or many).
        const chosen = new Set(Array.from({ length: 1 + Math.floor(rand() * 3) }, () => pick(streams)));
        const writes = [...chosen].map((s) => {
          const e = pick(s.epochs.filter((x) => !x.complete));
          const n = rand() < 0.2 ? 0 : rand() < 0.05 ? 100 + Math.floor(rand() * 300) : Math.floor(rand() * 20);
          const rows = Array.from({ length: n }, (_, i) => row(e.epoch, e.lastSeq + 1 + i, offset + i, offset + i, pick(["t", "u", "orders-é"])));
          offset += n + 1;
          const pk = pick(["t:0", "t:1", "u:0"]);
          return { s, e, rows, frontier: new Map([[pk, offset]]), complete: e.kind === "backfill" && rand() < 0.02 };
        });
        const fail = rand() < 0.05;
        if (fail) store.db.exec(`CREATE TRIGGER fail BEFORE INSERT ON ${pick(["match_journal", "match_segments"])} BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END`);
        try {
          store.append(writes.map((w) => ({ sid: w.s.sid, epoch: w.e, rows: w.rows, frontier: w.frontier, complete: w.complete })));
          for (const w of writes) {
            w.e.lastSeq += w.rows.length;
            for (const [pk, o] of w.frontier) w.e.frontier.set(pk, o);
            w.e.complete ||= w.complete;
            const m = model.get(`${w.s.sid}/${w.e.epoch}`)!;
            m.rows.push(...w.rows);
            for (const [pk, o] of w.frontier) m.frontier.set(pk, o);
            m.complete ||= w.complete;
          }
          stats.commits++;
        } catch (err) {
          // A trigger on segments fails only commits that seal one.
          if (!fail) throw err;
          stats.failures++;
        } finally {
          if (fail) store.db.exec("DROP TRIGGER IF EXISTS fail");
        }
      } else if (r < 0.75) {
        // A checkpoint: a frontier that moved without matches (as the sequencer's members without any) is saved as is.
        const s = pick(streams);
        const e = s.epochs.find((x) => x.kind === "head")!;
        const pk = pick(["t:0", "t:1", "u:0"]);
        e.frontier.set(pk, ++offset);
        model.get(`${s.sid}/${e.epoch}`)!.frontier.set(pk, offset);
        store.saveEpoch(s.sid, e);
      } else if (r < 0.85) {
        now += Math.floor(rand() * SEAL_AGE_MS);
        while (store.sealAged(1 + Math.floor(rand() * 3))) stats.seals++;
        stats.seals++;
      } else if (r < 0.95) {
        check(`step ${step}`);
      } else if (r < 0.98) {
        reopen(true);
        stats.crashes++;
        check(`after crash at step ${step}`);
      } else {
        reopen(false);
        stats.restarts++;
        check(`after restart at step ${step}`);
      }
    }
    check("the end");
    store.close();
    t.diagnostic(`seed ${seed} (GREP_STREAMS_STORE_SEED): ${JSON.stringify(stats)}`);
    assert.ok(stats.crashes > 5 && stats.failures > 5 && stats.commits > 500, JSON.stringify(stats));
  });
});
