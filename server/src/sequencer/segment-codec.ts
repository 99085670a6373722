// A segment is a run of one epoch's matches with consecutive seqs, stored as
// one row of the index (match_segments). Writing a match row by row dirtied
// one B-tree page per match, because the streams' rows interleave in a
// commit; a segment dirties a page for a run of them.
//
// Layout (little endian): u16 number of topics, then each topic as u16 byte
// length + UTF-8; then per match: u16 topic index, u32 partition, f64
// offset, f64 timestamp, u32 value size. The seq of the i-th match is the
// segment's first seq + i (seqs are dense).
import type { MatchRow } from "./types.js";

const ROW_BYTES = 2 + 4 + 8 + 8 + 4;

export function encodeSegment(rows: readonly MatchRow[]): Buffer {
  const topics = new Map<string, number>();
  for (const r of rows) if (!topics.has(r.topic)) topics.set(r.topic, topics.size);
  const names = [...topics.keys()].map((t) => Buffer.from(t, "utf8"));
  let size = 2 + rows.length * ROW_BYTES;
  for (const n of names) size += 2 + n.length;
  const b = Buffer.allocUnsafe(size);
  let o = b.writeUInt16LE(names.length, 0);
  for (const n of names) {
    o = b.writeUInt16LE(n.length, o);
    o += n.copy(b, o);
  }
  for (const r of rows) {
    o = b.writeUInt16LE(topics.get(r.topic)!, o);
    o = b.writeUInt32LE(r.partition, o);
    o = b.writeDoubleLE(r.offset, o);
    o = b.writeDoubleLE(r.timestamp, o);
    o = b.writeUInt32LE(r.size, o);
  }
  return b;
}

/**
 * The matches of a segment whose first seq is `firstSeq`, from index `from`
 * (0-based) up to `max` of them, appended to `out`.
 */
export function decodeSegment(b: Uint8Array, epoch: number, firstSeq: number, out: MatchRow[], from = 0, max = Infinity): MatchRow[] {
  const buf = asBuffer(b);
  const topics: string[] = [];
  let o = 2;
  for (let i = buf.readUInt16LE(0); i > 0; i--) {
    const n = buf.readUInt16LE(o);
    topics.push(buf.toString("utf8", o + 2, o + 2 + n));
    o += 2 + n;
  }
  const count = (buf.length - o) / ROW_BYTES;
  const end = Math.min(count, from + max);
  for (let i = from; i < end; i++) {
    const at = o + i * ROW_BYTES;
    out.push({
      epoch,
      seq: firstSeq + i,
      topic: topics[buf.readUInt16LE(at)]!,
      partition: buf.readUInt32LE(at + 2),
      offset: buf.readDoubleLE(at + 6),
      timestamp: buf.readDoubleLE(at + 14),
      size: buf.readUInt32LE(at + 22),
    });
  }
  return out;
}

const asBuffer = (b: Uint8Array): Buffer => (Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength));
