import { it } from "node:test";
import assert from "node:assert/strict";
import { compact, pins } from "../../src/source/compact.js";
import type { SourceRecord } from "../../src/source/types.js";

const record = (value: Uint8Array | null, key: Uint8Array | null = null, headers: SourceRecord["headers"] = []): SourceRecord => ({
  topic: "t", partition: 0, offset: 1, timestamp: 2, key, value, headers,
});

it("a record whose buffers are views of a large response is copied out, once, for everyone", () => {
  const response = Buffer.alloc(1 << 20, 0x61);
  const r = record(response.subarray(100, 110), response.subarray(0, 3), [["h", response.subarray(200, 204)]]);
  assert.ok(pins(r.value));
  const c = compact(r);
  assert.notEqual(c, r);
  assert.equal(compact(r), c, "the same copy for every stream that keeps it");
  assert.deepEqual([c.topic, c.partition, c.offset, c.timestamp], ["t", 0, 1, 2]);
  assert.deepEqual(Buffer.from(c.value!), Buffer.from(r.value!));
  assert.deepEqual(Buffer.from(c.key!), Buffer.from(r.key!));
  assert.deepEqual(Buffer.from(c.headers[0]![1]), Buffer.from(r.headers[0]![1]));
  assert.equal(c.headers[0]![0], "h");
  for (const b of [c.value!, c.key!, c.headers[0]![1]]) assert.ok(b.buffer.byteLength < 64 << 10, `${b.buffer.byteLength} bytes kept alive`);
});

it("records that own their bytes (embedded log rows, null parts) are kept as they are", () => {
  const own = record(new Uint8Array(5000), null);
  assert.equal(compact(own), own);
  const empty = record(null);
  assert.equal(compact(empty), empty);
});

it("small pooled buffers are copied out of their slab, into memory of their own (not the pool again)", () => {
  const pooled = record(Buffer.from("small"), Buffer.from("key"));
  assert.ok(pins(pooled.value), "a 5-byte view of an 8 KiB slab pins it");
  const c = compact(pooled);
  assert.notEqual(c, pooled);
  assert.equal(c.value!.buffer.byteLength, 5);
  assert.equal(c.key!.buffer.byteLength, 3);
  assert.equal(Buffer.from(c.value!).toString(), "small");
  assert.ok(Buffer.isBuffer(c.value), "still a Buffer for whoever reads it");
});
