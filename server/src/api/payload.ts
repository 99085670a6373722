// Turns a source record into what a subscriber receives: the key as string
// elements (or raw bytes when it is not a string array), the value as JSON
// text (projected when the subscriber asked for a projection), or raw bytes
// when it is not JSON.
import type { CompiledFilter } from "../filter/index.js";
import { parseKey } from "../filter/index.js";
import type { SourceRecord } from "../source/types.js";
import { RecentRecords } from "./recent-records.js";

const decoder = new TextDecoder("utf-8", { fatal: true });

export interface Payload {
  readonly key: string[] | null;
  readonly rawKey: Uint8Array | null;
  /** JSON text on one line, or null when the value is absent or not JSON. */
  readonly valueJson: string | null;
  readonly rawValue: Uint8Array | null;
}

/**
 * Payloads without a projection, per recent record: the live tail hands the
 * same record to every subscriber of a stream, and each would decode it
 * again (recent-records.ts: why not for as long as the record lives).
 */
const plain = new RecentRecords<Payload>();

export function payloadOf(record: SourceRecord, projection: CompiledFilter | null): Payload {
  if (projection) return build(record, projection);
  let p = plain.get(record);
  if (!p) plain.set(record, (p = build(record, null)));
  return p;
}

function build(record: SourceRecord, projection: CompiledFilter | null): Payload {
  const key = parseKey(record.key);
  const rawKey = key === null ? record.key : null;
  if (record.value === null) return { key, rawKey, valueJson: null, rawValue: null };
  let text: string;
  let parsed: unknown;
  try {
    text = decoder.decode(record.value);
    parsed = JSON.parse(text);
  } catch {
    return { key, rawKey, valueJson: null, rawValue: record.value };
  }
  if (projection) return { key, rawKey, valueJson: JSON.stringify(projection.project(parsed)), rawValue: null };
  // Valid JSON has raw line breaks only as whitespace outside strings: dropping
  // them keeps it valid and keeps it on one line (SSE data lines, NDJSON).
  return { key, rawKey, valueJson: /[\r\n]/.test(text) ? text.replace(/[\r\n]+/g, " ") : text, rawValue: null };
}

/** The filter whose projection shapes a subscriber's values, or null when it has none. */
export const projectionOf = (f: CompiledFilter): CompiledFilter | null => (f.hasProjection ? f : null);
