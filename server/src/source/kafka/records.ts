// From the batches of a read_committed Fetch response to SourceRecords:
// drops transaction control records (commit/abort markers) and the records
// of aborted transactions, the way Kafka's Java consumer does
// (FetchCollector/CompletedFetch): the response lists the aborted
// transactions (producer id, first offset) that overlap the fetched range;
// a transactional batch is dropped while its producer has an aborted
// transaction that began at or before the batch and whose abort marker has
// not been passed yet. The client filters too, but keeps one range per
// producer and keeps records when the marker is beyond the response, so the
// filter here is the one that counts.

import type { fetchV17, RecordsBatch } from "@platformatic/kafka";
import type { SourceRecord } from "../types.js";

// Record batch attributes (Kafka's DefaultRecordBatch).
const TIMESTAMP_TYPE_LOG_APPEND = 1 << 3;
const TRANSACTIONAL = 1 << 4;
const CONTROL = 1 << 5;
/** Control record key: int16 version, int16 type; type 0 is ABORT, 1 COMMIT. */
const CONTROL_TYPE_ABORT = 0;

export type FetchedPartition = fetchV17.FetchResponsePartition;

export interface DecodeResult {
  readonly records: SourceRecord[];
  /** The offset after the last batch of the response (delivered or not); undefined when there was none. */
  readonly next: number | undefined;
}

/**
 * Records with offset >= `from`, at most `max` of them, in offset order.
 * Batches may start before `from` (Kafka sends whole batches).
 */
export function decodePartition(topic: string, p: FetchedPartition, from: number, max: number): DecodeResult {
  const batches = p.records ?? [];
  const out: SourceRecord[] = [];
  if (batches.length === 0) return { records: out, next: undefined };
  const aborted = [...(p.abortedTransactions ?? [])].sort((a, b) => (a.firstOffset < b.firstOffset ? -1 : a.firstOffset > b.firstOffset ? 1 : 0));
  let nextAborted = 0;
  const abortedProducers = new Set<bigint>();
  let next: bigint | undefined;

  for (const batch of batches) {
    const last = batch.firstOffset + BigInt(batch.lastOffsetDelta);
    next = last + 1n;
    while (nextAborted < aborted.length && aborted[nextAborted]!.firstOffset <= last) {
      abortedProducers.add(aborted[nextAborted++]!.producerId);
    }
    if (batch.attributes & CONTROL) {
      if (isAbortMarker(batch)) abortedProducers.delete(batch.producerId);
      continue;
    }
    if (batch.attributes & TRANSACTIONAL && abortedProducers.has(batch.producerId)) continue;
    if (out.length >= max) break;
    appendBatch(topic, p.partitionIndex, batch, from, max, out);
  }
  return { records: out, next: next === undefined ? undefined : Number(next) };
}

function isAbortMarker(batch: RecordsBatch): boolean {
  const key = batch.records[0]?.key;
  return key !== null && key !== undefined && key.length >= 4 && key.readInt16BE(2) === CONTROL_TYPE_ABORT;
}

/**
 * One batch's records, with offsets and timestamps as numbers: the batch's
 * BigInts are converted once, each record adds its (number) offset delta and
 * converts its timestamp delta, with no BigInt arithmetic per record (offsets
 * and times are far below 2^53). Keys, values and header values stay the
 * views of the response that the client made: records no stream takes cost
 * no copy; what is kept for long (the live tail) is compacted there
 * (source/compact.ts).
 */
function appendBatch(topic: string, partition: number, batch: RecordsBatch, from: number, max: number, out: SourceRecord[]): void {
  const firstOffset = Number(batch.firstOffset);
  const logAppendTime = (batch.attributes & TIMESTAMP_TYPE_LOG_APPEND) !== 0;
  const firstTimestamp = Number(logAppendTime ? batch.maxTimestamp : batch.firstTimestamp);
  for (const r of batch.records) {
    if (out.length >= max) return;
    const offset = firstOffset + r.offsetDelta;
    if (offset < from) continue;
    out.push({
      topic,
      partition,
      offset,
      timestamp: logAppendTime ? firstTimestamp : firstTimestamp + Number(r.timestampDelta),
      key: r.key,
      value: r.value,
      headers: r.headers.length === 0 ? NO_HEADERS : r.headers.map(([k, v]) => [k === null ? "" : k.toString("utf8"), v ?? EMPTY] as const),
    });
  }
}

const EMPTY = new Uint8Array(0);
const NO_HEADERS: SourceRecord["headers"] = Object.freeze([]);
