// Records that are kept for long must not pin more memory than their own
// bytes. A Kafka record's key, value and header values are views of the
// whole Fetch response (up to 1 MiB), which is right while a batch is matched
// and dropped, but a record kept in a stream's live tail would keep its
// response alive with it: one kept record per response, and the tail holds
// megabytes. compact() copies such views out, once per record (records are
// shared by every stream that matched them, and payload caches are keyed by
// the record object, so all streams must keep the same copy).

import type { SourceRecord } from "./types.js";

/**
 * A view may pin this much beyond its own bytes. Node's small Buffers are
 * views of shared 8 KiB slabs: a 300-byte value held in a tail could keep a
 * slab alive whose other records are long gone, so those are copied too.
 */
const SLACK_BYTES = 1 << 10;

const compacted = new WeakMap<SourceRecord, SourceRecord>();

/** The record itself when none of its buffers pins much more than it holds, else a copy whose buffers are its own. */
export function compact(record: SourceRecord): SourceRecord {
  if (!pins(record.key) && !pins(record.value) && !record.headers.some(([, v]) => pins(v))) return record;
  let c = compacted.get(record);
  if (c === undefined) {
    c = {
      topic: record.topic,
      partition: record.partition,
      offset: record.offset,
      timestamp: record.timestamp,
      key: own(record.key),
      value: own(record.value),
      headers: record.headers.map(([k, v]) => [k, own(v)] as const),
    };
    compacted.set(record, c);
  }
  return c;
}

/** Whether `b` keeps alive an ArrayBuffer much larger than itself. */
export function pins(b: Uint8Array | null): boolean {
  return b !== null && b.buffer.byteLength > b.byteLength + SLACK_BYTES;
}

/** `b`, or a copy in memory of its own when it pins more: not from the pool (Buffer.from would put it in a slab again). */
function own<T extends Uint8Array | null>(b: T): T {
  if (b === null || !pins(b)) return b;
  const copy = Buffer.allocUnsafeSlow(b.byteLength);
  copy.set(b);
  return copy as unknown as T;
}
