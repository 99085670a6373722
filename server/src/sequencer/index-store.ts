// The SQLite index: streams, epochs (with their scan frontiers) and their
// numbered matches. The sequencer appends matches with frontiers, the stream
// registry writes streams and epochs, the engine durable positions; the
// cursor reads it. Frontier and matches are committed in one transaction,
// which is what makes numbering exactly-once across crashes.
//
// Matches are stored as segments (runs of one epoch's consecutive seqs, one
// row each), because a row per match dirtied a B-tree page per match: the
// streams of a commit each have their own place in the table. A commit
// therefore writes one journal record (what it numbered, and the frontiers
// it moved) and keeps the new matches in memory, pending. An epoch's pending
// matches are sealed into a segment, with its epoch row, when there are
// SEGMENT_ROWS of them (in the commit that makes them so) or when they are
// SEAL_AGE_MS old (sealAged(), which the engine calls on a timer); an epoch
// sealed in a commit needs no part of its journal record. Journal
// records are deleted once every part of them is sealed; opening the index
// replays what is left (a crash), so memory is never the only copy of a
// committed match. Readers see segments, then pending matches.
import Database from "better-sqlite3";
import { decodeJournalRecord, encodeJournalRecord, type JournalEntry } from "./journal-codec.js";
import { decodeSegment, encodeSegment } from "./segment-codec.js";
import type { Epoch, MatchRow, OffsetMap, PartitionKey, StreamRecord } from "./types.js";

/** Pending matches of an epoch are sealed into a segment when there are this many. */
export const SEGMENT_ROWS = 64;
/** Pending matches (and frontiers) older than this are sealed by sealAged(). */
export const SEAL_AGE_MS = 2_000;
/** A segment holds at most this many matches (replay, migration and large commits split runs). */
const MAX_SEGMENT_ROWS = 256;

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
-- The numbered matches: runs of one epoch's consecutive seqs, one row each
-- (segment-codec.ts). Recent matches wait in memory and in match_journal
-- (one row per commit) until their run is long or old enough.
CREATE TABLE IF NOT EXISTS match_segments (
  sid       INTEGER NOT NULL,
  epoch     INTEGER NOT NULL,
  first_seq INTEGER NOT NULL,
  last_seq  INTEGER NOT NULL,
  min_ts    INTEGER NOT NULL,
  max_ts    INTEGER NOT NULL,
  body      BLOB NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS match_segments_seq ON match_segments (sid, epoch, last_seq);
CREATE TABLE IF NOT EXISTS match_journal (
  id   INTEGER PRIMARY KEY,
  body BLOB NOT NULL
);
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

/** One epoch's part of a commit. */
export interface EpochAppend {
  readonly sid: number;
  /** The epoch as committed so far; append() does not change it (the caller applies the commit after it returns). */
  readonly epoch: Epoch;
  /** The new matches: seqs epoch.lastSeq + 1, + 2, ... */
  readonly rows: readonly MatchRow[];
  /** The partitions whose frontier the commit moves, with their new next offsets. */
  readonly frontier: ReadonlyMap<PartitionKey, number>;
  /** Whether the commit completes the epoch (a backfill's last batch). */
  readonly complete: boolean;
}

/** What an epoch has committed that its segments and epoch row do not hold yet. */
interface Pending {
  readonly sid: number;
  readonly epoch: Epoch;
  /** Matches not in a segment yet, seqs consecutive, after the epoch's last segment. */
  rows: readonly MatchRow[];
  /** The oldest journal record with a part of this epoch that the tables do not hold (0: none). */
  since: number;
  /** When that record was written. */
  sinceAt: number;
}

interface SegmentRow {
  epoch: number;
  first_seq: number;
  last_seq: number;
  body: Buffer;
}

export class IndexStore {
  readonly db: Database.Database;
  private readonly st;
  private readonly runInTx: (fn: () => unknown) => unknown;
  /** Per sid, per epoch number. */
  private readonly pending = new Map<number, Map<number, Pending>>();
  private readonly now: () => number;
  /** Epochs of streams evicted by this process (saveEpoch ignores them). */
  private readonly evictedEpochs = new WeakSet<Epoch>();

  constructor(path: string, options: { now?: () => number } = {}) {
    this.now = options.now ?? Date.now;
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
      epochRow: db.prepare("SELECT * FROM epochs WHERE sid = ? AND epoch = ?"),
      insertStream: db.prepare("INSERT INTO streams (stream_id, spec_json, created_at, last_used_at) VALUES (?, ?, ?, ?)"),
      insertEpoch: db.prepare(
        "INSERT INTO epochs (sid, epoch, ord, kind, start_map, end_map, last_seq, complete, frontier) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
      ),
      updateEpoch: db.prepare("UPDATE epochs SET last_seq = ?, complete = ?, frontier = ? WHERE sid = ? AND epoch = ?"),
      insertSegment: db.prepare("INSERT INTO match_segments (sid, epoch, first_seq, last_seq, min_ts, max_ts, body) VALUES (?, ?, ?, ?, ?, ?, ?)"),
      segmentsAfter: db.prepare("SELECT epoch, first_seq, last_seq, body FROM match_segments WHERE sid = ? AND epoch = ? AND last_seq > ? ORDER BY last_seq"),
      segmentAt: db.prepare("SELECT epoch, first_seq, last_seq, body FROM match_segments WHERE sid = ? AND epoch = ? AND last_seq >= ? ORDER BY last_seq LIMIT 1"),
      lastSegmentSeq: db.prepare("SELECT MAX(last_seq) AS seq FROM match_segments WHERE sid = ? AND epoch = ?").pluck(),
      segmentsInTime: db.prepare("SELECT epoch, first_seq, last_seq, body FROM match_segments WHERE sid = ? AND max_ts >= ? AND min_ts < ?"),
      insertJournal: db.prepare("INSERT INTO match_journal (body) VALUES (?)"),
      journal: db.prepare("SELECT id, body FROM match_journal ORDER BY id"),
      trimJournal: db.prepare("DELETE FROM match_journal WHERE id < ?"),
      clearJournal: db.prepare("DELETE FROM match_journal"),
      touch: db.prepare("UPDATE streams SET last_used_at = ? WHERE sid = ?"),
      evicted: db.prepare("SELECT evicted_at AS evictedAt, next_epoch AS nextEpoch FROM evicted_streams WHERE stream_id = ?"),
      putEvicted: db.prepare(
        "INSERT INTO evicted_streams (stream_id, evicted_at, next_epoch) VALUES (?, ?, ?) ON CONFLICT(stream_id) DO UPDATE SET evicted_at = excluded.evicted_at, next_epoch = excluded.next_epoch",
      ),
      deleteSegments: db.prepare("DELETE FROM match_segments WHERE sid = ?"),
      deleteEpochs: db.prepare("DELETE FROM epochs WHERE sid = ?"),
      deleteStream: db.prepare("DELETE FROM streams WHERE sid = ?"),
      getDurable: db.prepare("SELECT stream_id AS streamId, last_ack AS lastAck FROM durable_subscriptions WHERE name = ?"),
      putDurable: db.prepare(
        "INSERT INTO durable_subscriptions (name, stream_id, last_ack, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET stream_id = excluded.stream_id, last_ack = excluded.last_ack, updated_at = excluded.updated_at",
      ),
    };
    this.migrateMatchRows();
    this.replayJournal();
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

  /**
   * Persists an epoch's counters and frontier as they are in memory
   * (committed state only). An epoch of an evicted stream is not saved: its
   * sid may belong to a new stream by now.
   */
  saveEpoch(sid: number, e: Epoch): void {
    if (this.evictedEpochs.has(e)) return;
    this.writeEpochRow(sid, e.epoch, e.lastSeq, e.complete, e.frontier);
  }

  /** An epoch row's counters and frontier (its other columns never change). */
  private writeEpochRow(sid: number, epoch: number, lastSeq: number, complete: boolean, frontier: OffsetMap): void {
    this.st.updateEpoch.run(lastSeq, complete ? 1 : 0, mapToJson(frontier), sid, epoch);
  }

  /**
   * Commits the writes in one transaction: one journal record, and a
   * segment for each epoch whose pending matches reach SEGMENT_ROWS. Throws,
   * with nothing written and nothing changed in memory, when the
   * transaction fails or a write's seqs do not follow its epoch's.
   */
  append(writes: readonly EpochAppend[]): void {
    const now = this.now();
    // What each epoch's pending part becomes, applied once the transaction committed.
    const next: Array<{ p: Pending; rows: readonly MatchRow[]; sealed: boolean }> = [];
    const written = new Set<Pending>();
    const id = this.tx(() => {
      const entries: JournalEntry[] = [];
      for (const w of writes) {
        for (let i = 0; i < w.rows.length; i++) {
          const seq = w.epoch.lastSeq + 1 + i;
          if (w.rows[i]!.seq !== seq) throw new Error(`stream ${w.sid} epoch ${w.epoch.epoch}: match ${w.rows[i]!.seq} written where ${seq} belongs`);
        }
        const p = this.pendingOf(w.sid, w.epoch);
        if (written.has(p)) throw new Error(`stream ${w.sid} epoch ${w.epoch.epoch} is written twice in one commit`);
        written.add(p);
        const rows = p.rows.length === 0 ? w.rows : [...p.rows, ...w.rows];
        const lastSeq = w.epoch.lastSeq + w.rows.length;
        const complete = w.complete || w.epoch.complete;
        const sealed = rows.length >= SEGMENT_ROWS;
        if (sealed) {
          // Sealed in this commit, with its epoch row: the journal needs nothing of it.
          this.writeSegments(w.sid, w.epoch.epoch, rows);
          const frontier = new Map(w.epoch.frontier);
          for (const [pk, o] of w.frontier) frontier.set(pk, o);
          this.writeEpochRow(w.sid, w.epoch.epoch, lastSeq, complete, frontier);
        } else {
          entries.push({ sid: w.sid, epoch: w.epoch.epoch, lastSeq, complete, frontier: w.frontier, rows: w.rows });
        }
        next.push({ p, rows: sealed ? [] : rows, sealed });
      }
      return entries.length > 0 ? Number(this.st.insertJournal.run(encodeJournalRecord(entries)).lastInsertRowid) : 0;
    });
    for (const { p, rows, sealed } of next) {
      p.rows = rows;
      if (sealed) {
        p.since = 0;
        p.sinceAt = 0;
      } else if (p.since === 0) {
        p.since = id;
        p.sinceAt = now;
      }
    }
  }

  /**
   * Seals up to `max` epochs whose pending part is SEAL_AGE_MS old: their
   * matches into segments and their counters and frontiers into their
   * epoch rows, in one transaction; then deletes the journal records that
   * nothing pending refers to. Returns whether more are due.
   */
  sealAged(max = 32): boolean {
    const now = this.now();
    const due: Pending[] = [];
    let more = false;
    for (const byEpoch of this.pending.values()) {
      for (const p of byEpoch.values()) {
        if (p.since === 0 || now - p.sinceAt < SEAL_AGE_MS) continue;
        if (due.length < max) due.push(p);
        else more = true;
      }
    }
    this.seal(due, false);
    return more;
  }

  /** Seals everything pending and empties the journal (before an eviction, and on close). */
  sealAll(): void {
    const all: Pending[] = [];
    for (const byEpoch of this.pending.values()) for (const p of byEpoch.values()) if (p.since !== 0) all.push(p);
    this.seal(all, true);
  }

  /** Matches of an epoch after `afterSeq`, at most `limit`, in seq order. */
  readMatches(sid: number, epoch: number, afterSeq: number, limit: number): MatchRow[] {
    const out: MatchRow[] = [];
    const pending = this.pending.get(sid)?.get(epoch)?.rows;
    const firstPending = pending && pending.length > 0 ? pending[0]!.seq : Infinity;
    if (afterSeq + 1 < firstPending) {
      for (const s of this.st.segmentsAfter.iterate(sid, epoch, afterSeq) as IterableIterator<SegmentRow>) {
        const from = Math.max(0, afterSeq + 1 - s.first_seq);
        decodeSegment(s.body, epoch, s.first_seq, out, from, limit - out.length);
        if (out.length >= limit) break;
      }
    }
    if (pending && out.length < limit) {
      const from = Math.max(0, afterSeq + 1 - firstPending);
      for (let i = from; i < pending.length && out.length < limit; i++) out.push(pending[i]!);
    }
    return out;
  }

  matchAt(sid: number, epoch: number, seq: number): MatchRow | undefined {
    const pending = this.pending.get(sid)?.get(epoch)?.rows;
    if (pending && pending.length > 0 && seq >= pending[0]!.seq) return pending[seq - pending[0]!.seq];
    const s = this.st.segmentAt.get(sid, epoch, seq) as SegmentRow | undefined;
    if (!s || s.first_seq > seq) return undefined;
    return decodeSegment(s.body, epoch, s.first_seq, [], seq - s.first_seq, 1)[0];
  }

  /** The stream's matches with fromMs <= timestamp < toMs (0 = unbounded), streamed from disk, in no particular order. */
  *iterateMatches(sid: number, fromMs: number, toMs: number): IterableIterator<MatchRow> {
    const from = fromMs > 0 ? fromMs : Number.MIN_SAFE_INTEGER;
    const to = toMs > 0 ? toMs : Number.MAX_SAFE_INTEGER;
    // The pending ones first, then segments below them: a run sealed meanwhile is neither seen twice nor missed.
    const firstPending = new Map<number, number>();
    for (const p of this.pending.get(sid)?.values() ?? []) {
      if (p.rows.length === 0) continue;
      firstPending.set(p.epoch.epoch, p.rows[0]!.seq);
      for (const r of p.rows) if (r.timestamp >= from && r.timestamp < to) yield r;
    }
    for (const s of this.st.segmentsInTime.iterate(sid, from, to) as IterableIterator<SegmentRow>) {
      const below = firstPending.get(s.epoch) ?? Infinity;
      for (const r of decodeSegment(s.body, s.epoch, s.first_seq, [])) if (r.seq < below && r.timestamp >= from && r.timestamp < to) yield r;
    }
  }

  touch(sid: number, now: number): void {
    this.st.touch.run(now, sid);
  }

  evicted(streamId: string): { evictedAt: number; nextEpoch: number } | undefined {
    return this.st.evicted.get(streamId) as { evictedAt: number; nextEpoch: number } | undefined;
  }

  /** Deletes a stream and its matches, remembering that it was evicted. */
  evictStream(stream: StreamRecord, now: number): void {
    // No journal record may name the sid afterwards: SQLite may give it to the next new stream.
    this.sealAll();
    this.tx(() => {
      const nextEpoch = Math.max(...stream.epochs.map((e) => e.epoch)) + 1;
      this.st.deleteSegments.run(stream.sid);
      this.st.deleteEpochs.run(stream.sid);
      this.st.deleteStream.run(stream.sid);
      this.st.putEvicted.run(stream.streamId, now, nextEpoch);
    });
    this.pending.delete(stream.sid);
    for (const e of stream.epochs) this.evictedEpochs.add(e);
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

  /** Seals what is pending (so the next open replays nothing) and closes. */
  close(): void {
    try {
      this.sealAll();
    } finally {
      this.db.close();
    }
  }

  private pendingOf(sid: number, epoch: Epoch): Pending {
    let byEpoch = this.pending.get(sid);
    if (!byEpoch) this.pending.set(sid, (byEpoch = new Map()));
    let p = byEpoch.get(epoch.epoch);
    if (!p) byEpoch.set(epoch.epoch, (p = { sid, epoch, rows: [], since: 0, sinceAt: 0 }));
    return p;
  }

  /**
   * Writes the pending parts to segments and epoch rows and trims the
   * journal, in one transaction: FULL when `durable`, else relaxed (below).
   */
  private seal(list: readonly Pending[], durable: boolean): void {
    // The journal keeps what is still pending after this seal.
    const sealing = new Set(list);
    let oldest = Infinity;
    for (const byEpoch of this.pending.values()) for (const p of byEpoch.values()) if (!sealing.has(p) && p.since > 0 && p.since < oldest) oldest = p.since;
    const write = () => {
      for (const p of list) {
        if (p.rows.length > 0) this.writeSegments(p.sid, p.epoch.epoch, p.rows);
        this.saveEpoch(p.sid, p.epoch);
      }
      if (oldest === Infinity) this.st.clearJournal.run();
      else this.st.trimJournal.run(oldest);
    };
    if (durable) this.tx(write);
    else this.relaxedTx(write);
    for (const p of list) {
      p.rows = [];
      p.since = 0;
      p.sinceAt = 0;
    }
  }

  /**
   * A transaction whose commit does not wait for the disk (synchronous =
   * NORMAL), for writes that only reorganise what committed transactions
   * already hold: every match a seal writes is in the journal, which a seal
   * trims in the same transaction. A power cut loses such a transaction
   * whole or not at all (WAL frames are checksummed and replayed in order),
   * and the next FULL commit's sync of the WAL makes it durable with it.
   * The timer's seals (twice a second) no longer wait for the disk on the
   * event loop.
   */
  private relaxedTx(fn: () => void): void {
    this.db.pragma("synchronous = NORMAL");
    try {
      this.tx(fn);
    } finally {
      this.db.pragma("synchronous = FULL");
    }
  }

  /** Inserts rows (consecutive seqs of one epoch) as segments of at most MAX_SEGMENT_ROWS. */
  private writeSegments(sid: number, epoch: number, rows: readonly MatchRow[]): void {
    for (let i = 0; i < rows.length; i += MAX_SEGMENT_ROWS) {
      const run = rows.slice(i, i + MAX_SEGMENT_ROWS);
      let min = Infinity;
      let max = -Infinity;
      for (const r of run) {
        if (r.timestamp < min) min = r.timestamp;
        if (r.timestamp > max) max = r.timestamp;
      }
      this.st.insertSegment.run(sid, epoch, run[0]!.seq, run[run.length - 1]!.seq, min, max, encodeSegment(run));
    }
  }

  /**
   * After a crash: folds the journal's records into segments and epoch
   * rows. Counters and `complete` only grow and frontiers only advance, so
   * each is the maximum of the epoch row and the records; a match already
   * in a segment is skipped. Records of streams evicted since are ignored.
   */
  private replayJournal(): void {
    const records = this.st.journal.all() as Array<{ id: number; body: Buffer }>;
    if (records.length === 0) return;
    interface Replay { frontier: OffsetMap; lastSeq: number; complete: boolean; sealed: number; rows: MatchRow[] }
    const epochs = new Map<string, Replay>();
    this.tx(() => {
      for (const { body } of records) {
        for (const e of decodeJournalRecord(body)) {
          const k = `${e.sid}/${e.epoch}`;
          let r = epochs.get(k);
          if (!r) {
            const row = this.st.epochRow.get(e.sid, e.epoch) as EpochRow | undefined;
            if (!row) continue;
            const sealed = (this.st.lastSegmentSeq.get(e.sid, e.epoch) as number | null) ?? 0;
            epochs.set(k, (r = { frontier: jsonToMap(row.frontier), lastSeq: row.last_seq, complete: row.complete === 1, sealed, rows: [] }));
          }
          r.lastSeq = Math.max(r.lastSeq, e.lastSeq);
          r.complete ||= e.complete;
          for (const [pk, o] of e.frontier) r.frontier.set(pk, Math.max(o, r.frontier.get(pk) ?? 0));
          for (const m of e.rows) {
            const expected = r.sealed + r.rows.length + 1;
            if (m.seq < expected) continue;
            if (m.seq > expected) throw new Error(`index journal: stream ${e.sid} epoch ${e.epoch} jumps from match ${expected - 1} to ${m.seq}`);
            r.rows.push(m);
          }
        }
      }
      for (const [k, r] of epochs) {
        const [sid, epoch] = k.split("/").map(Number) as [number, number];
        if (r.rows.length > 0) this.writeSegments(sid, epoch, r.rows);
        if (r.sealed + r.rows.length < r.lastSeq) throw new Error(`index journal: stream ${sid} epoch ${epoch} has ${r.sealed + r.rows.length} matches of ${r.lastSeq}`);
        this.writeEpochRow(sid, epoch, r.lastSeq, r.complete, r.frontier);
      }
      this.st.clearJournal.run();
    });
  }

  /** An index written before segments held a row per match: rewrites them as segments, once. */
  private migrateMatchRows(): void {
    const old = this.db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'grep_match_seq'").get();
    if (!old) return;
    // Read in pages by key: a statement cannot iterate while the same connection inserts.
    const page = this.db.prepare(
      'SELECT sid, epoch, seq, topic, partition, "offset" AS offset, ts AS timestamp, size FROM grep_match_seq WHERE (sid, epoch, seq) > (?, ?, ?) ORDER BY sid, epoch, seq LIMIT 10000',
    );
    this.tx(() => {
      let run: MatchRow[] = [];
      let runSid = -1;
      const flush = () => {
        if (run.length > 0) this.writeSegments(runSid, run[0]!.epoch, run);
        run = [];
      };
      let key: [number, number, number] = [-Infinity, -Infinity, -Infinity];
      for (let rows = page.all(...key) as Array<MatchRow & { sid: number }>; rows.length > 0; rows = page.all(...key) as Array<MatchRow & { sid: number }>) {
        for (const r of rows) {
          const last = run[run.length - 1];
          if (!last || r.sid !== runSid || r.epoch !== last.epoch || r.seq !== last.seq + 1 || run.length >= MAX_SEGMENT_ROWS) {
            flush();
            runSid = r.sid;
          }
          run.push({ epoch: r.epoch, seq: r.seq, topic: r.topic, partition: r.partition, offset: r.offset, timestamp: r.timestamp, size: r.size });
        }
        const last = rows[rows.length - 1]!;
        key = [last.sid, last.epoch, last.seq];
      }
      flush();
      this.db.exec("DROP TABLE grep_match_seq");
    });
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
