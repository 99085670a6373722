// decodePartition without a broker: Fetch responses built by hand.
import { it } from "node:test";
import assert from "node:assert/strict";
import type { RecordsBatch } from "@platformatic/kafka";
import { decodePartition, type FetchedPartition } from "../../src/source/kafka/records.js";

const TRANSACTIONAL = 1 << 4;
const CONTROL = 1 << 5;
const LOG_APPEND_TIME = 1 << 3;

/** One response buffer, as the client reads it: records are views of it. */
const response = Buffer.alloc(1 << 20);
let used = 0;
function view(text: string): Buffer {
  const b = response.subarray(used, used + Buffer.byteLength(text));
  b.write(text);
  used += b.length;
  return b;
}

function batch(firstOffset: number, values: string[], o: { attributes?: number; producerId?: bigint; firstTimestamp?: number; maxTimestamp?: number; gaps?: number } = {}): RecordsBatch {
  const step = 1 + (o.gaps ?? 0); // compacted topics leave holes inside batches
  return {
    firstOffset: BigInt(firstOffset),
    length: 0,
    partitionLeaderEpoch: 0,
    magic: 2,
    crc: 0,
    attributes: o.attributes ?? 0,
    lastOffsetDelta: (values.length - 1) * step,
    firstTimestamp: BigInt(o.firstTimestamp ?? 1_700_000_000_000),
    maxTimestamp: BigInt(o.maxTimestamp ?? 1_700_000_000_000 + values.length),
    producerId: o.producerId ?? -1n,
    producerEpoch: 0,
    firstSequence: 0,
    records: values.map((v, i) => ({
      length: 0,
      attributes: 0,
      timestampDelta: BigInt(i * 10),
      offsetDelta: i * step,
      key: view(`k${v}`),
      value: view(v),
      headers: [[view("h"), view(`hv${v}`)]],
    })),
  };
}

function partition(batches: RecordsBatch[], aborted: Array<{ producerId: bigint; firstOffset: bigint }> = []): FetchedPartition {
  return { partitionIndex: 3, errorCode: 0, highWatermark: 100n, lastStableOffset: 100n, logStartOffset: 0n, abortedTransactions: aborted, preferredReadReplica: -1, records: batches };
}

it("offsets and timestamps are numbers from the batch's base plus the record's deltas; keys and values stay views (no copy)", () => {
  const b = batch(2 ** 40, ["a", "b", "c"], { gaps: 2 });
  const { records, next } = decodePartition("t", partition([b]), 0, 100);
  assert.deepEqual(records.map((r) => [r.offset, r.timestamp]), [
    [2 ** 40, 1_700_000_000_000],
    [2 ** 40 + 3, 1_700_000_000_010],
    [2 ** 40 + 6, 1_700_000_000_020],
  ]);
  assert.equal(next, 2 ** 40 + 7);
  for (const [i, r] of records.entries()) {
    assert.equal(r.topic, "t");
    assert.equal(r.partition, 3);
    // The client's own views, not copies of them.
    assert.equal(r.key, b.records[i]!.key);
    assert.equal(r.value, b.records[i]!.value);
    assert.equal(r.value!.buffer, response.buffer);
    assert.equal(r.headers[0]![0], "h");
    assert.equal(r.headers[0]![1], b.records[i]!.headers[0]![1]);
  }
});

it("log-append-time batches give every record the batch's max timestamp; records before `from` and beyond `max` are left out", () => {
  const b = batch(10, ["a", "b", "c", "d"], { attributes: LOG_APPEND_TIME, maxTimestamp: 1_800_000_000_000 });
  const { records, next } = decodePartition("t", partition([b]), 11, 2);
  assert.deepEqual(records.map((r) => [r.offset, r.timestamp, r.value!.toString()]), [
    [11, 1_800_000_000_000, "b"],
    [12, 1_800_000_000_000, "c"],
  ]);
  assert.equal(next, 14);
});

it("aborted transactions and control batches are dropped; committed transactional records stay", () => {
  const abortMarker = (offset: number, producerId: bigint): RecordsBatch => {
    const m = batch(offset, ["x"], { attributes: CONTROL | TRANSACTIONAL, producerId });
    const key = Buffer.alloc(4);
    key.writeInt16BE(0, 0);
    key.writeInt16BE(0, 2); // ABORT
    m.records[0]!.key = key;
    return m;
  };
  const commitMarker = (offset: number, producerId: bigint): RecordsBatch => {
    const m = abortMarker(offset, producerId);
    m.records[0]!.key!.writeInt16BE(1, 2); // COMMIT
    return m;
  };
  const batches = [
    batch(0, ["plain0"]),
    batch(1, ["aborted1", "aborted2"], { attributes: TRANSACTIONAL, producerId: 7n }),
    batch(3, ["committed3"], { attributes: TRANSACTIONAL, producerId: 8n }),
    abortMarker(4, 7n),
    commitMarker(5, 8n),
    batch(6, ["after6"], { attributes: TRANSACTIONAL, producerId: 7n }), // a later transaction of 7, committed
    commitMarker(7, 7n),
  ];
  const { records, next } = decodePartition("t", partition(batches, [{ producerId: 7n, firstOffset: 1n }]), 0, 100);
  assert.deepEqual(records.map((r) => `${r.offset}:${r.value!.toString()}`), ["0:plain0", "3:committed3", "6:after6"]);
  assert.equal(next, 8);
});

it("an empty response has no next offset", () => {
  assert.deepEqual(decodePartition("t", partition([]), 5, 10), { records: [], next: undefined });
});
