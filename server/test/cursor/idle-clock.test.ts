import { test } from "node:test";
import assert from "node:assert/strict";
import { IdleClock, tickFor } from "../../src/cursor/idle-clock.js";

test("the clock ticks its members with the time, and runs a timer only while it has members", async () => {
  let now = 1000;
  const clock = new IdleClock(5, () => now);
  const ticks: number[] = [];
  const m = { tick: (t: number) => ticks.push(t) };
  clock.tickAll();
  assert.deepEqual(ticks, []);
  clock.add(m);
  clock.tickAll();
  now = 1500;
  clock.tickAll();
  assert.deepEqual(ticks, [1000, 1500]);
  // The interval timer ticks by itself. (It is unref'd, so that it never
  // keeps a server alive: a ref'd timer keeps this test's process alive
  // until it does, or the run may end with the promise pending.)
  const keepAlive = setTimeout(() => {}, 60_000);
  await new Promise<void>((resolve) => {
    const other = { tick: () => (clock.delete(other), resolve()) };
    clock.add(other);
  });
  clearTimeout(keepAlive);
  clock.delete(m);
  assert.equal(clock.size, 0);
  const before = ticks.length;
  clock.tickAll();
  assert.equal(ticks.length, before);
  clock.close();
});

test("the tick is a tenth of the heartbeat, between 10 ms and 1 s", () => {
  assert.equal(tickFor(10_000), 1000);
  assert.equal(tickFor(60_000), 1000);
  assert.equal(tickFor(200), 20);
  assert.equal(tickFor(50), 10);
  assert.throws(() => new IdleClock(0));
});
