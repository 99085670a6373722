import { test } from "node:test";
import assert from "node:assert/strict";
import { ENTRY_OVERHEAD_BYTES, LiveTail, TailBudget } from "../../src/cursor/live-tail.js";
import type { SequencedMatch } from "../../src/sequencer/sequencer.js";

const match = (epoch: number, seq: number): SequencedMatch => ({
  row: { epoch, seq, topic: "t", partition: 0, offset: seq - 1, timestamp: 0, size: 0 },
  record: { topic: "t", partition: 0, offset: seq - 1, timestamp: 0, key: null, value: null, headers: [] },
});
/** A tail whose stream has a subscriber (an active tail), drawing on `budget`. */
function activeTail(capacity: number, budget = new TailBudget(1 << 30)): LiveTail {
  const t = new LiveTail(capacity, budget);
  budget.activate(t);
  return t;
}
const seqs = (ms: SequencedMatch[] | null) => ms?.map((m) => m.row.seq) ?? null;

test("the tail keeps the newest `capacity` head matches, in order, across wrap-arounds", () => {
  const tail = activeTail(5);
  let seq = 0;
  for (const n of [1, 2, 3, 1, 4, 7]) {
    tail.push(0, true, Array.from({ length: n }, () => match(0, ++seq)));
    assert.ok(tail.size <= 5);
  }
  // 18 pushed: 14..18 kept.
  assert.equal(tail.size, 5);
  assert.deepEqual(seqs(tail.after(0, 13, 100)), [14, 15, 16, 17, 18]);
  assert.deepEqual(seqs(tail.after(0, 15, 2)), [16, 17]);
  assert.deepEqual(seqs(tail.after(0, 17, 10)), [18]);
  // Behind the tail, past its end, another epoch: not here (read the index).
  assert.equal(tail.after(0, 12, 10), null);
  assert.equal(tail.after(0, 18, 10), null);
  assert.equal(tail.after(1, 13, 10), null);
});

test("a quiet tail holds small storage, and a new head epoch starts a new tail", () => {
  const tail = activeTail(1024);
  tail.push(0, true, [match(0, 1), match(0, 2)]);
  assert.deepEqual(seqs(tail.after(0, 0, 10)), [1, 2]);
  tail.push(0, false, [match(0, 3)]); // a backfill epoch's commit: not kept
  assert.equal(tail.size, 2);
  tail.push(3, true, [match(3, 1)]);
  assert.equal(tail.size, 1);
  assert.equal(tail.after(0, 0, 10), null);
  assert.deepEqual(seqs(tail.after(3, 0, 10)), [1]);
});

test("a capacity of 0 keeps nothing but still wakes", () => {
  const tail = activeTail(0);
  let woken = 0;
  tail.notify({ wake: () => woken++ });
  tail.push(0, true, [match(0, 1)]);
  assert.equal(tail.size, 0);
  assert.equal(tail.after(0, 0, 10), null);
  assert.equal(woken, 1);
});

test("each push wakes every registered waiter once; forgotten waiters are not woken", () => {
  const tail = activeTail(8);
  const woken: string[] = [];
  const a = { wake: () => woken.push("a") };
  const b = { wake: () => woken.push("b") };
  const c = { wake: () => woken.push("c") };
  tail.notify(a);
  tail.notify(a); // registering twice wakes once
  tail.notify(b);
  tail.notify(c);
  tail.forget(c);
  tail.push(0, false, []); // any commit wakes, even without head matches
  assert.deepEqual(woken, ["a", "b"]);
  tail.push(0, true, [match(0, 1)]);
  assert.deepEqual(woken, ["a", "b"], "woken waiters must register again");
  // A waiter registering again from inside wake() waits for the next push.
  const again = { wake: () => (woken.push("again"), tail.notify(again)) };
  tail.notify(again);
  tail.push(0, true, [match(0, 2)]);
  tail.push(0, true, [match(0, 3)]);
  assert.deepEqual(woken, ["a", "b", "again", "again"]);
});

test("the tail keeps compact records: one copy for every stream, not a pinned read buffer", () => {
  const response = Buffer.alloc(1 << 20);
  const record = { topic: "t", partition: 0, offset: 0, timestamp: 0, key: null, value: response.subarray(10, 20), headers: [] };
  const a = activeTail(4);
  const b = activeTail(4);
  a.push(0, true, [{ row: match(0, 1).row, record }]);
  b.push(0, true, [{ row: match(0, 1).row, record }]);
  const ra = a.after(0, 0, 1)![0]!.record;
  const rb = b.after(0, 0, 1)![0]!.record;
  assert.equal(ra, rb);
  assert.ok(ra.value!.buffer.byteLength < 64 << 10);
  assert.deepEqual(Buffer.from(ra.value!), Buffer.from(record.value));
});

/** A match whose record holds `bytes` of value. */
const sized = (seq: number, bytes: number): SequencedMatch => ({
  row: { epoch: 0, seq, topic: "t", partition: 0, offset: seq - 1, timestamp: 0, size: bytes },
  record: { topic: "t", partition: 0, offset: seq - 1, timestamp: 0, key: null, value: new Uint8Array(bytes), headers: [] },
});
const entry = (bytes: number) => ENTRY_OVERHEAD_BYTES + bytes;

test("a tail holds at most its share of the budget, the newest entries, and only while its stream has subscribers", () => {
  const budget = new TailBudget(10 * entry(100));
  const tail = new LiveTail(1024, budget);
  tail.push(0, true, [sized(1, 100)]);
  assert.equal(tail.size, 0, "no subscriber: nothing held");
  budget.activate(tail);
  for (let seq = 1; seq <= 25; seq++) tail.push(0, true, [sized(seq, 100)]);
  assert.equal(tail.size, 10);
  assert.deepEqual(seqs(tail.after(0, 15, 100)), [16, 17, 18, 19, 20, 21, 22, 23, 24, 25]);
  assert.equal(budget.bytes, 10 * entry(100));
  // A second active tail halves the share: the first is trimmed at once, oldest first.
  const other = new LiveTail(1024, budget);
  budget.activate(other);
  assert.equal(tail.size, 5);
  assert.deepEqual(seqs(tail.after(0, 20, 100)), [21, 22, 23, 24, 25]);
  assert.equal(budget.bytes, 5 * entry(100));
  // A record larger than the share is not held, nor anything before it (a tail holds consecutive seqs).
  tail.push(0, true, [sized(26, 6 * entry(100))]);
  assert.equal(tail.size, 0);
  assert.equal(tail.after(0, 25, 10), null);
  tail.push(0, true, [sized(27, 100)]);
  assert.deepEqual(seqs(tail.after(0, 26, 10)), [27]);
  // The last subscriber left: everything is given back.
  budget.deactivate(tail);
  assert.equal(tail.size, 0);
  assert.equal(budget.bytes, 0);
  budget.deactivate(other);
  assert.equal(budget.activeTails, 0);
});

test("a record in several tails counts once in the budget's bytes", () => {
  const budget = new TailBudget(1 << 20);
  const a = activeTail(16, budget);
  const b = activeTail(16, budget);
  const m = sized(1, 1000);
  a.push(0, true, [m]);
  b.push(0, true, [m]);
  assert.equal(a.bytes, entry(1000));
  assert.equal(b.bytes, entry(1000));
  assert.equal(budget.bytes, 2 * ENTRY_OVERHEAD_BYTES + 1000);
  budget.deactivate(a);
  assert.equal(budget.bytes, entry(1000));
  budget.deactivate(b);
  assert.equal(budget.bytes, 0);
});

test("a small record from Node's Buffer pool is copied out of its slab: a tail never pins 8 KiB for 10 bytes", () => {
  const pooled = Buffer.from("0123456789"); // a view of a shared slab
  assert.ok(pooled.buffer.byteLength > 4096);
  const tail = activeTail(4);
  tail.push(0, true, [{ row: match(0, 1).row, record: { ...match(0, 1).record, value: pooled } }]);
  const held = tail.after(0, 0, 1)![0]!.record.value!;
  assert.equal(held.buffer.byteLength, 10);
  assert.equal(Buffer.from(held).toString(), "0123456789");
});
