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

it("records that own their bytes (embedded log rows, small pooled buffers, null parts) are kept as they are", () => {
  const own = record(new Uint8Array(5000), null);
  assert.equal(compact(own), own);
  const pooled = record(Buffer.from("small"), Buffer.from("key"));
  assert.equal(compact(pooled), pooled);
  const empty = record(null);
  assert.equal(compact(empty), empty);
});
