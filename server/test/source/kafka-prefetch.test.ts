import { it } from "node:test";
import assert from "node:assert/strict";
import { Prefetched } from "../../src/source/kafka/prefetch.js";
import type { FetchedPartition } from "../../src/source/kafka/records.js";

const response = (n: number) => ({ partitionIndex: n }) as unknown as FetchedPartition;

it("a prefetched response serves one read at exactly its offset, of the same topic id, while fresh", () => {
  let now = 0;
  const p = new Prefetched(() => now);
  p.put("t", "id-1", 0, 10, response(0));
  assert.equal(p.take("t", "id-1", 0, 11), undefined, "another offset");
  assert.equal(p.size, 0, "and it is gone: the next read fetches");
  p.put("t", "id-1", 0, 10, response(0));
  assert.equal(p.take("t", "id-2", 0, 10), undefined, "a topic created again under the name");
  p.put("t", "id-1", 1, 5, response(1));
  const got = p.take("t", "id-1", 1, 5);
  assert.equal((got as unknown as { partitionIndex: number }).partitionIndex, 1);
  assert.equal(p.take("t", "id-1", 1, 5), undefined, "used once");
  p.put("t", "id-1", 2, 7, response(2));
  now += 1_001;
  assert.equal(p.take("t", "id-1", 2, 7), undefined, "too old");
});

it("prune drops what nobody took in time; a newer response replaces an older one", () => {
  let now = 0;
  const p = new Prefetched(() => now);
  p.put("t", "id", 0, 1, response(0));
  p.put("t", "id", 0, 4, response(9));
  assert.equal(p.size, 1);
  assert.equal(p.take("t", "id", 0, 1), undefined);
  p.put("t", "id", 1, 1, response(1));
  now += 600;
  p.put("u", "id", 0, 1, response(2));
  now += 600;
  p.prune();
  assert.equal(p.size, 1);
  assert.ok(p.take("u", "id", 0, 1));
});
