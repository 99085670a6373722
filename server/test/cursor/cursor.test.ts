// The cursor's waiting: it sleeps until a commit, an ack or the idle clock
// wakes it, without a timer per waiting subscriber.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Cursor, type CursorItem, type CursorStream } from "../../src/cursor/cursor.js";
import { LiveTail, TailBudget } from "../../src/cursor/live-tail.js";
import { IdleClock } from "../../src/cursor/idle-clock.js";
import type { SequencedMatch } from "../../src/sequencer/sequencer.js";
import type { Epoch, StreamRecord } from "../../src/sequencer/types.js";
import type { IndexStore } from "../../src/sequencer/index-store.js";
import type { Source } from "../../src/source/types.js";

const HEARTBEAT_MS = 1000;

function fixture() {
  let time = 0;
  const clock = new IdleClock(1_000_000, () => time); // ticked by hand
  const head: Epoch = { epoch: 0, ord: 0, kind: "head", start: new Map(), end: null, lastSeq: 0, complete: false, frontier: new Map() };
  const record: StreamRecord = { sid: 1, streamId: "0123456789abcdef", specJson: "{}", createdAt: 0, lastUsedAt: 0, epochs: [head] };
  const budget = new TailBudget(1 << 30);
  const tail = new LiveTail(16, budget);
  budget.activate(tail);
  const stream: CursorStream = { record, tail, scanProgress: () => undefined };
  // Live matches come from the tail: the store and the source must not be asked.
  const store = new Proxy({}, { get: () => assert.fail("the index was read") }) as IndexStore;
  const source = new Proxy({}, { get: () => assert.fail("the source was read") }) as Source;
  const commit = (n: number) => {
    const matches: SequencedMatch[] = [];
    for (let i = 0; i < n; i++) {
      const seq = ++head.lastSeq;
      matches.push({
        row: { epoch: 0, seq, topic: "t", partition: 0, offset: seq, timestamp: 0, size: 0 },
        record: { topic: "t", partition: 0, offset: seq, timestamp: 0, key: null, value: null, headers: [] },
      });
    }
    tail.push(0, true, matches);
  };
  const open = (window = 0) =>
    new Cursor(stream, store, source, { epoch: 0, seq: 0 }, window, { stats: { fromTail: 0, fromSource: 0 }, heartbeatMs: HEARTBEAT_MS, progressMs: 500, pageSize: 256, clock });
  return { clock, tail, commit, open, advance: (ms: number) => (time += ms) };
}

/** Pulls items until `stop` says so; resolves with them. */
async function take(it: AsyncGenerator<CursorItem>, n: number): Promise<CursorItem[]> {
  const out: CursorItem[] = [];
  while (out.length < n) {
    const r = await it.next();
    if (r.done) break;
    out.push(r.value);
  }
  return out;
}

/** Whether a promise has settled after the microtasks and immediates queued now have run. */
async function settled(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  void p.then(() => (done = true));
  await new Promise((r) => setImmediate(r));
  return done;
}

const timeouts = () => process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;

test("waiting cursors arm no timer each: 200 idle subscribers, at most the clock's one", async () => {
  const f = fixture();
  const before = timeouts();
  const abort = new AbortController();
  const its = Array.from({ length: 200 }, () => f.open().items(abort.signal));
  const pending = its.map((it) => it.next());
  for (const p of pending) assert.equal(await settled(p), false);
  assert.ok(timeouts() <= before + 1, `${timeouts() - before} timers for 200 waiting cursors`);
  abort.abort();
  for (const p of pending) assert.deepEqual(await p, { done: true, value: undefined });
  assert.equal(f.clock.size, 0, "ended cursors leave the clock");
  assert.ok(timeouts() <= before);
});

test("a commit wakes a caught-up cursor, which delivers the new matches in order", async () => {
  const f = fixture();
  const abort = new AbortController();
  const it = f.open().items(abort.signal);
  const first = take(it, 3);
  assert.equal(await settled(first), false);
  f.commit(2);
  f.commit(1);
  const items = await first;
  assert.deepEqual(items.map((i) => (i.kind === "event" ? i.row.seq : i.kind)), [1, 2, 3]);
  abort.abort();
  assert.deepEqual(await it.next(), { done: true, value: undefined });
});

test("the idle clock wakes a silent cursor for its heartbeat, not before it is due", async () => {
  const f = fixture();
  const abort = new AbortController();
  const it = f.open().items(abort.signal);
  const next = it.next();
  f.advance(HEARTBEAT_MS - 1);
  f.clock.tickAll();
  assert.equal(await settled(next), false);
  f.advance(1);
  f.clock.tickAll();
  const r = await next;
  assert.equal(r.done, false);
  assert.deepEqual(r.value, { kind: "heartbeat", head: { epoch: 0, seq: 0 }, lag: 0 });
  // Output resets the silence: the next heartbeat is a full period later.
  const again = it.next();
  f.advance(HEARTBEAT_MS / 2);
  f.clock.tickAll();
  assert.equal(await settled(again), false);
  f.advance(HEARTBEAT_MS / 2);
  f.clock.tickAll();
  assert.equal((await again).value?.kind, "heartbeat");
  abort.abort();
  await it.next();
});

test("with a full window the cursor sleeps until an ack makes room (heartbeats meanwhile)", async () => {
  const f = fixture();
  const abort = new AbortController();
  const cursor = f.open(2);
  const it = cursor.items(abort.signal);
  f.commit(5);
  const firstTwo = await take(it, 2);
  assert.deepEqual(firstTwo.map((i) => (i.kind === "event" ? i.row.seq : i.kind)), [1, 2]);
  const third = it.next();
  assert.equal(await settled(third), false, "the window is full");
  f.advance(HEARTBEAT_MS);
  f.clock.tickAll();
  assert.equal((await third).value?.kind, "heartbeat");
  const fourth = it.next();
  assert.equal(await settled(fourth), false);
  cursor.window.ack({ epoch: 0, seq: 1 });
  const r = await fourth;
  assert.equal(r.value?.kind === "event" && r.value.row.seq, 3);
  abort.abort();
  await it.next();
});

test("an ended cursor is forgotten by the tail", async () => {
  const f = fixture();
  const abort = new AbortController();
  const cursor = f.open();
  let woken = 0;
  const wake = cursor.wake.bind(cursor);
  cursor.wake = () => (woken++, wake());
  const it = cursor.items(abort.signal);
  const next = it.next();
  assert.equal(await settled(next), false);
  abort.abort();
  assert.deepEqual(await next, { done: true, value: undefined });
  const wokenByAbort = woken;
  f.commit(1);
  assert.equal(woken, wokenByAbort, "the tail still held the ended cursor");
});
