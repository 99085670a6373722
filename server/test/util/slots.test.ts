import { it } from "node:test";
import assert from "node:assert/strict";
import { Slots } from "../../src/util/slots.js";

it("at most `size` holders at once, the others served in order; a release is idempotent", async () => {
  const slots = new Slots(2);
  const order: string[] = [];
  const a = (await slots.acquire())!;
  const b = (await slots.acquire())!;
  const c = slots.acquire().then((r) => (order.push("c"), r!));
  const d = slots.acquire().then((r) => (order.push("d"), r!));
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(order, []);
  assert.equal(slots.waiting, 2);
  a();
  a(); // twice: gives back one slot, not two
  const rc = await c;
  assert.deepEqual(order, ["c"]);
  assert.equal(slots.waiting, 1);
  b();
  const rd = await d;
  assert.deepEqual(order, ["c", "d"]);
  rc();
  rd();
  // Both slots free again.
  const e = await slots.acquire();
  const f = await slots.acquire();
  assert.ok(e && f);
});

it("a waiter whose signal aborts gets null and is dropped from the queue", async () => {
  const slots = new Slots(1);
  const held = (await slots.acquire())!;
  const ac = new AbortController();
  const waiting = slots.acquire(ac.signal);
  ac.abort();
  assert.equal(await waiting, null);
  assert.equal(slots.waiting, 0);
  held();
  assert.ok(await slots.acquire(), "the slot is free, not granted to the aborted waiter");
  assert.equal(await slots.acquire(AbortSignal.abort()), null);
});
