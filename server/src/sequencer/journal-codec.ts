// A journal record is what one commit wrote: per epoch, its counters after
// the commit, the frontiers it moved and its new matches. A commit appends
// one record (one row of match_journal) instead of updating a B-tree page
// per stream; the records are folded into segments and epoch rows later
// (index-store.ts), and replayed after a crash.
//
// Layout: u32 byte length of a JSON header, the header, then the segments
// (segment-codec.ts) of the entries with matches, in header order. Header:
// [[sid, epoch, lastSeq, complete (0/1), {partition: next offset}, first
// seq, segment bytes], ...].
import { decodeSegment, encodeSegment } from "./segment-codec.js";
import type { MatchRow, PartitionKey } from "./types.js";

export interface JournalEntry {
  readonly sid: number;
  readonly epoch: number;
  /** The epoch's last seq after the commit. */
  readonly lastSeq: number;
  readonly complete: boolean;
  /** The partitions whose frontier the commit moved. */
  readonly frontier: ReadonlyMap<PartitionKey, number>;
  /** The new matches, seqs consecutive. */
  readonly rows: readonly MatchRow[];
}

type HeaderEntry = [number, number, number, 0 | 1, Record<string, number>, number, number];

export function encodeJournalRecord(entries: readonly JournalEntry[]): Buffer {
  const segments: Buffer[] = [];
  const header: HeaderEntry[] = entries.map((e) => {
    const seg = e.rows.length > 0 ? encodeSegment(e.rows) : undefined;
    if (seg) segments.push(seg);
    return [e.sid, e.epoch, e.lastSeq, e.complete ? 1 : 0, Object.fromEntries(e.frontier), e.rows[0]?.seq ?? 0, seg?.length ?? 0];
  });
  const json = Buffer.from(JSON.stringify(header), "utf8");
  const len = Buffer.allocUnsafe(4);
  len.writeUInt32LE(json.length, 0);
  return Buffer.concat([len, json, ...segments]);
}

export function decodeJournalRecord(b: Buffer): JournalEntry[] {
  const n = b.readUInt32LE(0);
  const header = JSON.parse(b.toString("utf8", 4, 4 + n)) as HeaderEntry[];
  let o = 4 + n;
  return header.map(([sid, epoch, lastSeq, complete, frontier, firstSeq, bytes]) => {
    const rows = bytes > 0 ? decodeSegment(b.subarray(o, o + bytes), epoch, firstSeq, []) : [];
    o += bytes;
    return { sid, epoch, lastSeq, complete: complete === 1, frontier: new Map(Object.entries(frontier)), rows };
  });
}
