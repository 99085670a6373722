// The wire format of a batch of records sent to a match worker: one
// ArrayBuffer, transferred (not copied) to the worker. It starts with a table
// of four int32 per record (key start, key length, value start, value length;
// length -1 for null) followed by the bytes. Only the parts the topic's
// filters read are copied in: a topic of topic/key-only filters sends no
// value bytes, and its worker parses no values.
import type { SourceRecord } from "../source/types.js";

/** Which parts of the records a batch carries. */
export interface BatchParts {
  readonly keys: boolean;
  readonly values: boolean;
}

const FIELDS = 4;
const NULL = -1;

/** Packs the records' keys and/or values into one transferable buffer. */
export function packBatch(records: readonly SourceRecord[], parts: BatchParts): ArrayBuffer {
  const n = records.length;
  let bytes = 0;
  for (const r of records) {
    if (parts.keys && r.key !== null) bytes += r.key.byteLength;
    if (parts.values && r.value !== null) bytes += r.value.byteLength;
  }
  const tableBytes = n * FIELDS * 4;
  const buf = new ArrayBuffer(tableBytes + bytes);
  const table = new Int32Array(buf, 0, n * FIELDS);
  const data = new Uint8Array(buf);
  let at = tableBytes;
  for (let i = 0; i < n; i++) {
    const r = records[i]!;
    const t = i * FIELDS;
    at = put(data, table, t, parts.keys ? r.key : null, at);
    at = put(data, table, t + 2, parts.values ? r.value : null, at);
  }
  return buf;
}

function put(data: Uint8Array, table: Int32Array, slot: number, bytes: Uint8Array | null, at: number): number {
  if (bytes === null) {
    table[slot] = 0;
    table[slot + 1] = NULL;
    return at;
  }
  data.set(bytes, at);
  table[slot] = at;
  table[slot + 1] = bytes.byteLength;
  return at + bytes.byteLength;
}

/** A packed batch as the worker reads it: views into the one buffer, no copies. */
export class PackedBatch {
  readonly count: number;
  readonly #table: Int32Array;
  readonly #data: Uint8Array;

  constructor(buf: ArrayBuffer, count: number) {
    this.count = count;
    this.#table = new Int32Array(buf, 0, count * FIELDS);
    this.#data = new Uint8Array(buf);
  }

  key(i: number): Uint8Array | null {
    return this.#part(i * FIELDS);
  }

  value(i: number): Uint8Array | null {
    return this.#part(i * FIELDS + 2);
  }

  #part(slot: number): Uint8Array | null {
    const len = this.#table[slot + 1]!;
    if (len === NULL) return null;
    const start = this.#table[slot]!;
    return this.#data.subarray(start, start + len);
  }
}
