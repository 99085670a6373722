// The SQLite index: streams, epochs (with their scan frontiers) and the
// grep_match_seq table of numbered matches. The sequencer writes matches and
// frontiers, the stream registry streams and epochs, the engine durable
// positions; the cursor reads it. Frontier and matches are written in one
// transaction, which is what makes numbering exactly-once across crashes.
import Database from "better-sqlite3";
import type { Epoch, MatchRow, OffsetMap, StreamRecord } from "./types.js";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS streams (
  sid          INTEGER PRIMARY KEY,
  stream_id    TEXT NOT NULL UNIQUE,
  spec_json    TEXT NOT NULL,
  created_at   INTEGER NOT NULL,
  last_used_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS epochs (
  sid       INTEGER NOT NULL,
  epoch     INTEGER NOT NULL,
  ord       INTEGER NOT NULL,
  kind      TEXT NOT NULL,
  start_map TEXT NOT NULL,
  end_map   TEXT,
  last_seq  INTEGER NOT NULL,
  complete  INTEGER NOT NULL,
  frontier  TEXT NOT NULL,
  PRIMARY KEY (sid, epoch)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS grep_match_seq (
  sid       INTEGER NOT NULL,
  epoch     INTEGER NOT NULL,
  seq       INTEGER NOT NULL,
  topic     TEXT NOT NULL,
  partition INTEGER NOT NULL,
  "offset"  INTEGER NOT NULL,
  ts        INTEGER NOT NULL,
  size      INTEGER NOT NULL,
  PRIMARY KEY (sid, epoch, seq)
) WITHOUT ROWID;
-- No index on (sid, ts): every match would dirty a second B-tree page, and
-- a commit costs per page it dirties (at 1,000 live streams that index made
-- writing a match ~1.5x as costly). Count's time ranges scan the stream's rows.
DROP INDEX IF EXISTS grep_match_seq_ts;
-- Streams evicted to stay within the disk budget: their IDs get a clear error,
-- and a stream created again for the same filter numbers its epochs from
-- next_epoch, so an old event ID can never name a new event.
CREATE TABLE IF NOT EXISTS evicted_streams (
  stream_id  TEXT PRIMARY KEY,
  evicted_at INTEGER NOT NULL,
  next_epoch INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS durable_subscriptions (
  name       TEXT PRIMARY KEY,
  stream_id  TEXT NOT NULL,
  last_ack   TEXT NOT NULL,
  updated_at INTEGER NOT NULL
);
`;

const mapToJson = (m: OffsetMap): string => JSON.stringify(Object.fromEntries([...m].sort(([a], [b]) => (a < b ? -1 : 1))));
const jsonToMap = (s: string): OffsetMap => new Map(Object.entries(JSON.parse(s) as Record<string, number>));

interface EpochRow {
  epoch: number;
  ord: number;
  kind: "head" | "backfill";
  start_map: string;
  end_map: string | null;
  last_seq: number;
  complete: number;
  frontier: string;
}

export class IndexStore {
  readonly db: Database.Database;
  private readonly st;
  private readonly runInTx: (fn: () => unknown) => unknown;

  constructor(path: string) {
    this.db = new Database(path);
    this.db.pragma("journal_mode = WAL");
    // FULL: a committed frontier must survive power loss, or a restart could renumber.
    this.db.pragma("synchronous = FULL");
    this.db.exec(SCHEMA);
    const db = this.db;
    // Made once: db.transaction() prepares BEGIN/COMMIT/ROLLBACK statements on every call.
    this.runInTx = db.transaction((fn: () => unknown) => fn());
    this.st = {
      streams: db.prepare("SELECT sid, stream_id, spec_json, created_at, last_used_at FROM streams"),
      epochs: db.prepare("SELECT * FROM epochs WHERE sid = ? ORDER BY ord"),
      insertStream: db.prepare("INSERT INTO streams (stream_id, spec_json, created_at, last_used_at) VALUES (?, ?, ?, ?)"),
      insertEpoch: db.prepare(
        "INSERT INTO epochs (sid, epoch, ord, kind, start_map, end_map, last_seq, complete, frontier) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
      ),
      updateEpoch: db.prepare("UPDATE epochs SET last_seq = ?, complete = ?, frontier = ? WHERE sid = ? AND epoch = ?"),
      insertMatch: db.prepare(
        'INSERT INTO grep_match_seq (sid, epoch, seq, topic, partition, "offset", ts, size) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      ),
      readMatches: db.prepare(
        'SELECT epoch, seq, topic, partition, "offset" AS offset, ts AS timestamp, size FROM grep_match_seq WHERE sid = ? AND epoch = ? AND seq > ? ORDER BY seq LIMIT ?',
      ),
      matchAt: db.prepare(
        'SELECT epoch, seq, topic, partition, "offset" AS offset, ts AS timestamp, size FROM grep_match_seq WHERE sid = ? AND epoch = ? AND seq = ?',
      ),
      matchesInTime: db.prepare(
        'SELECT epoch, seq, topic, partition, "offset" AS offset, ts AS timestamp, size FROM grep_match_seq WHERE sid = ? AND ts >= ? AND ts < ?',
      ),
      touch: db.prepare("UPDATE streams SET last_used_at = ? WHERE sid = ?"),
      evicted: db.prepare("SELECT evicted_at AS evictedAt, next_epoch AS nextEpoch FROM evicted_streams WHERE stream_id = ?"),
      putEvicted: db.prepare(
        "INSERT INTO evicted_streams (stream_id, evicted_at, next_epoch) VALUES (?, ?, ?) ON CONFLICT(stream_id) DO UPDATE SET evicted_at = excluded.evicted_at, next_epoch = excluded.next_epoch",
      ),
      deleteMatches: db.prepare("DELETE FROM grep_match_seq WHERE sid = ?"),
      deleteEpochs: db.prepare("DELETE FROM epochs WHERE sid = ?"),
      deleteStream: db.prepare("DELETE FROM streams WHERE sid = ?"),
      getDurable: db.prepare("SELECT stream_id AS streamId, last_ack AS lastAck FROM durable_subscriptions WHERE name = ?"),
      putDurable: db.prepare(
        "INSERT INTO durable_subscriptions (name, stream_id, last_ack, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET stream_id = excluded.stream_id, last_ack = excluded.last_ack, updated_at = excluded.updated_at",
      ),
    };
  }

  /** Runs `fn` in one transaction (nested calls join the outer one). */
  tx<T>(fn: () => T): T {
    return this.runInTx(fn) as T;
  }

  loadStreams(): StreamRecord[] {
    const rows = this.st.streams.all() as Array<{ sid: number; stream_id: string; spec_json: string; created_at: number; last_used_at: number }>;
    return rows.map((r) => ({
      sid: r.sid,
      streamId: r.stream_id,
      specJson: r.spec_json,
      createdAt: r.created_at,
      lastUsedAt: r.last_used_at,
      epochs: (this.st.epochs.all(r.sid) as EpochRow[]).map(toEpoch),
    }));
  }

  /**
   * A new stream with its head epoch starting at `headStart`: epoch 0, or
   * the next number after those of an evicted stream of the same id.
   */
  createStream(streamId: string, specJson: string, headStart: OffsetMap, now: number): StreamRecord {
    return this.tx(() => {
      const first = this.evicted(streamId)?.nextEpoch ?? 0;
      const sid = Number(this.st.insertStream.run(streamId, specJson, now, now).lastInsertRowid);
      const head: Epoch = { epoch: first, ord: 0, kind: "head", start: new Map(headStart), end: null, lastSeq: 0, complete: false, frontier: new Map(headStart) };
      this.insertEpoch(sid, head);
      return { sid, streamId, specJson, createdAt: now, lastUsedAt: now, epochs: [head] };
    });
  }

  insertEpoch(sid: number, e: Epoch): void {
    this.st.insertEpoch.run(sid, e.epoch, e.ord, e.kind, mapToJson(e.start), e.end ? mapToJson(e.end) : null, e.lastSeq, e.complete ? 1 : 0, mapToJson(e.frontier));
  }

  /** Persists an epoch's counters and frontier (call inside the transaction that wrote its matches). */
  saveEpoch(sid: number, e: Epoch): void {
    this.st.updateEpoch.run(e.lastSeq, e.complete ? 1 : 0, mapToJson(e.frontier), sid, e.epoch);
  }

  insertMatch(sid: number, m: MatchRow): void {
    this.st.insertMatch.run(sid, m.epoch, m.seq, m.topic, m.partition, m.offset, m.timestamp, m.size);
  }

  readMatches(sid: number, epoch: number, afterSeq: number, limit: number): MatchRow[] {
    return this.st.readMatches.all(sid, epoch, afterSeq, limit) as MatchRow[];
  }

  matchAt(sid: number, epoch: number, seq: number): MatchRow | undefined {
    return this.st.matchAt.get(sid, epoch, seq) as MatchRow | undefined;
  }

  /** The stream's matches with fromMs <= timestamp < toMs (0 = unbounded), streamed from disk. */
  iterateMatches(sid: number, fromMs: number, toMs: number): IterableIterator<MatchRow> {
    return this.st.matchesInTime.iterate(sid, fromMs > 0 ? fromMs : Number.MIN_SAFE_INTEGER, toMs > 0 ? toMs : Number.MAX_SAFE_INTEGER) as IterableIterator<MatchRow>;
  }

  touch(sid: number, now: number): void {
    this.st.touch.run(now, sid);
  }

  evicted(streamId: string): { evictedAt: number; nextEpoch: number } | undefined {
    return this.st.evicted.get(streamId) as { evictedAt: number; nextEpoch: number } | undefined;
  }

  /** Deletes a stream and its matches, remembering that it was evicted. */
  evictStream(stream: StreamRecord, now: number): void {
    this.tx(() => {
      const nextEpoch = Math.max(...stream.epochs.map((e) => e.epoch)) + 1;
      this.st.deleteMatches.run(stream.sid);
      this.st.deleteEpochs.run(stream.sid);
      this.st.deleteStream.run(stream.sid);
      this.st.putEvicted.run(stream.streamId, now, nextEpoch);
    });
  }

  /** Bytes of the index file in use (free pages left by deletes excluded). */
  usedBytes(): number {
    const pages = this.db.pragma("page_count", { simple: true }) as number;
    const free = this.db.pragma("freelist_count", { simple: true }) as number;
    const size = this.db.pragma("page_size", { simple: true }) as number;
    return (pages - free) * size;
  }

  getDurable(name: string): { streamId: string; lastAck: string } | undefined {
    return this.st.getDurable.get(name) as { streamId: string; lastAck: string } | undefined;
  }

  putDurable(name: string, streamId: string, lastAck: string, now: number): void {
    this.st.putDurable.run(name, streamId, lastAck, now);
  }

  close(): void {
    this.db.close();
  }
}

function toEpoch(r: EpochRow): Epoch {
  return {
    epoch: r.epoch,
    ord: r.ord,
    kind: r.kind,
    start: jsonToMap(r.start_map),
    end: r.end_map === null ? null : jsonToMap(r.end_map),
    lastSeq: r.last_seq,
    complete: r.complete === 1,
    frontier: jsonToMap(r.frontier),
  };
}
