import assert from "node:assert/strict";
import { test } from "node:test";
import { EmbeddedLog, type EmbeddedLogOptions } from "../../src/source/embedded/embedded-log.js";
import type { ProduceInput } from "../../src/source/types.js";

const T = 1_700_000_000_000;
const utf8 = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array | null) => (b === null ? null : new TextDecoder().decode(b));
const at = (timestamp: number, value = "v"): ProduceInput => ({ key: null, value: utf8(value), partition: 0, timestamp });

function openLog(clock: { now: number }, options: Partial<EmbeddedLogOptions>): EmbeddedLog {
  return new EmbeddedLog({ path: ":memory:", now: () => clock.now, retentionMs: 0, retentionBytes: 0, ...options });
}

async function startOf(log: EmbeddedLog, topic = "t", partition = 0): Promise<number> {
  return (await log.describeTopic(topic)).partitions[partition]!.start;
}

test("retention by age deletes the longest prefix older than retentionMs", async () => {
  const clock = { now: T };
  const log = openLog(clock, { retentionMs: 1_000 });
  // Offset 3 is old, but follows the new offset 2, so it waits for it (as in a Kafka segment).
  await log.produce("t", [at(T - 3_000, "m0"), at(T - 2_500, "m1"), at(T, "m2"), at(T - 2_000, "m3"), at(T - 10, "m4")]);

  assert.deepEqual(log.applyRetention(), { deletedMessages: 2 });
  assert.equal(await startOf(log), 2);
  assert.equal(await log.readOne("t", 0, 0), null);
  assert.equal(await log.readOne("t", 0, 1), null);
  assert.equal(text((await log.readOne("t", 0, 2))!.value), "m2");
  assert.deepEqual(
    (await log.read("t", 0, 0, 10)).map((r) => r.offset),
    [2, 3, 4],
  );
  assert.deepEqual(log.applyRetention(), { deletedMessages: 0 });

  // Later everything is old, but the newest message is always kept.
  clock.now = T + 10_000;
  assert.deepEqual(log.applyRetention(), { deletedMessages: 2 });
  assert.deepEqual((await log.describeTopic("t")).partitions[0], { partition: 0, start: 4, end: 5 });
  assert.equal(text((await log.readOne("t", 0, 4))!.value), "m4");
  await log.close();
});

test("retention by size drops the oldest messages until the partition fits", async () => {
  const clock = { now: T };
  const log = openLog(clock, { retentionBytes: 10 });
  // 4 bytes each: 20 bytes, so 3 must go to get to 8 <= 10.
  await log.produce("t", ["m0..", "m1..", "m2..", "m3..", "m4.."].map((v) => at(T, v)));
  await log.produce("t", [{ key: null, value: utf8("other"), partition: 1 }]);
  assert.deepEqual(log.applyRetention(), { deletedMessages: 3 });
  assert.equal(await startOf(log), 3);
  assert.equal(await startOf(log, "t", 1), 0);
  assert.equal(await log.readOne("t", 0, 2), null);
  assert.equal(text((await log.readOne("t", 0, 3))!.value), "m3..");

  // The byte count went down by what was deleted: 8 + 4 = 12 now, so exactly one more goes.
  await log.produce("t", [at(T, "m5..")]);
  assert.deepEqual(log.applyRetention(), { deletedMessages: 1 });
  assert.equal(await startOf(log), 4);
  await log.close();
});

test("keys and encoded headers count toward the partition's size", async () => {
  const clock = { now: T };
  const log = openLog(clock, { retentionBytes: 15 });
  // key 3 + value 4 + headers 4 (1 "h" 1 0x01) = 11 bytes each: 22 > 15, so one goes.
  const m: ProduceInput = { key: utf8("key"), value: utf8("vvvv"), headers: [["h", new Uint8Array([1])]], partition: 0 };
  await log.produce("t", [m, m]);
  assert.deepEqual(log.applyRetention(), { deletedMessages: 1 });
  assert.equal(await startOf(log), 1);
  await log.close();
});

test("a single message larger than retentionBytes is kept", async () => {
  const clock = { now: T };
  const log = openLog(clock, { retentionBytes: 2, retentionMs: 1 });
  await log.produce("t", [at(T - 100, "big value")]);
  assert.deepEqual(log.applyRetention(), { deletedMessages: 0 });
  assert.equal(text((await log.readOne("t", 0, 0))!.value), "big value");
  await log.close();
});

test("age and size combine: age first, then size on what remains", async () => {
  const clock = { now: T };
  const log = openLog(clock, { retentionMs: 1_000, retentionBytes: 8 });
  await log.produce("t", [at(T - 5_000, "old1"), at(T, "new1"), at(T, "new2"), at(T, "new3")]);
  // Age removes offset 0; 12 bytes remain, size removes offset 1.
  assert.deepEqual(log.applyRetention(), { deletedMessages: 2 });
  assert.equal(await startOf(log), 2);
  await log.close();
});

test("retentionMs 0 and retentionBytes 0 keep everything", async () => {
  const clock = { now: T };
  const log = openLog(clock, {});
  await log.produce("t", [at(0, "ancient"), at(1, "ancient")]);
  clock.now = T * 2;
  assert.deepEqual(log.applyRetention(), { deletedMessages: 0 });
  assert.equal(await startOf(log), 0);
  await log.close();
});

test("offsetForTimestamp stays exact after retention deleted the prefix's newest timestamp", async () => {
  const clock = { now: T };
  const log = openLog(clock, { retentionBytes: 3 });
  // Offset 0 has the highest timestamp of the first three; size retention deletes it.
  await log.produce("t", [at(1_000, "a"), at(500, "b"), at(600, "c"), at(2_000, "d")]);
  assert.deepEqual(log.applyRetention(), { deletedMessages: 1 });
  assert.equal(await startOf(log), 1);
  assert.equal(await log.offsetForTimestamp("t", 0, 400), 1);
  assert.equal(await log.offsetForTimestamp("t", 0, 550), 2);
  assert.equal(await log.offsetForTimestamp("t", 0, 1_000), 3);
  assert.equal(await log.offsetForTimestamp("t", 0, 2_001), 4);
  await log.close();
});

test("start() applies retention every 30 seconds until close()", async (t) => {
  t.mock.timers.enable({ apis: ["setInterval"] });
  const clock = { now: T };
  const log = openLog(clock, { retentionMs: 1_000 });
  await log.produce("t", [at(T, "a"), at(T, "b")]);
  log.start();
  clock.now = T + 5_000;
  t.mock.timers.tick(29_999);
  assert.equal(await startOf(log), 0);
  t.mock.timers.tick(1);
  assert.equal(await startOf(log), 1);
  await log.close();
  // The timer is gone: ticking again must not touch the closed database.
  t.mock.timers.tick(60_000);
});


test("retention in bounded steps deletes at most that many per partition per step and ends where applyRetention would", async () => {
  const clock = { now: T };
  const a = openLog(clock, { retentionMs: 1_000 });
  const b = openLog(clock, { retentionMs: 1_000 });
  for (const log of [a, b]) {
    await log.produce("t", Array.from({ length: 25 }, (_, i) => at(T - 5_000 + i)));
    await log.produce("t", Array.from({ length: 7 }, (_, i) => ({ ...at(T - 5_000 + i), partition: 1 })));
    await log.produce("t", [at(T), { ...at(T), partition: 1 }]);
  }
  const steps: Array<{ deleted: number; more: boolean }> = [];
  for (;;) {
    const s = a.retentionStep(10);
    steps.push(s);
    if (!s.more) break;
  }
  // Partition 0 has 25 to delete, partition 1 has 7: 10 + 7, then 10, then 5.
  assert.deepEqual(steps, [{ deleted: 17, more: true }, { deleted: 10, more: true }, { deleted: 5, more: false }]);
  assert.deepEqual(b.applyRetention(), { deletedMessages: 32 });
  assert.deepEqual((await a.describeTopic("t")).partitions, (await b.describeTopic("t")).partitions);
  assert.deepEqual(a.retentionStep(10), { deleted: 0, more: false });
  await a.close();
  await b.close();
});
