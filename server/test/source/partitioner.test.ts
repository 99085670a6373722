import assert from "node:assert/strict";
import { test } from "node:test";
import { partitionForKey, RoundRobinPartitioner } from "../../src/source/partitioner.js";

const utf8 = (s: string) => new TextEncoder().encode(s);

test("a JSON key lands where Kafka's default partitioner puts it", () => {
  const key = utf8(JSON.stringify(["tenant-7", "user-42"]));
  assert.equal(new TextDecoder().decode(key), '["tenant-7","user-42"]');
  // murmur2 of these bytes is 1270898468 (positive), computed independently.
  assert.equal(partitionForKey(key, 4), 0);
  assert.equal(partitionForKey(key, 3), 2);
  assert.equal(partitionForKey(key, 5), 3);
  assert.equal(partitionForKey(key, 12), 8);
});

test("negative hashes are made positive before the modulo", () => {
  // murmur2("21") = -973932308; toPositive = 1173551340.
  assert.equal(partitionForKey(utf8("21"), 7), 1173551340 % 7);
  assert.equal(partitionForKey(utf8("21"), 7), 3);
});

test("round-robin cycles through partitions per topic from 0", () => {
  const rr = new RoundRobinPartitioner();
  assert.deepEqual([0, 1, 2, 3, 4].map(() => rr.next("a", 3)), [0, 1, 2, 0, 1]);
  assert.equal(rr.next("b", 3), 0);
  assert.equal(rr.next("a", 3), 2);
});
