import assert from "node:assert/strict";
import { test } from "node:test";
import { EmbeddedLog } from "../../src/source/embedded/embedded-log.js";
import { SourceArgumentError, UnknownTopicError, type ProduceInput } from "../../src/source/types.js";

const utf8 = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array | null) => (b === null ? null : new TextDecoder().decode(b));
const msg = (value: string, extra: Partial<ProduceInput> = {}): ProduceInput => ({ key: null, value: utf8(value), ...extra });

function openLog(now = () => 1_000): EmbeddedLog {
  return new EmbeddedLog({ path: ":memory:", now });
}

test("offsets are dense per partition from 0, and describeTopic reports the ends", async () => {
  const log = openLog();
  const produced = await log.produce("orders", [
    msg("a", { partition: 1 }),
    msg("b", { partition: 1 }),
    msg("c", { partition: 3 }),
    msg("d", { partition: 1 }),
  ]);
  assert.deepEqual(produced, [
    { partition: 1, offset: 0, timestamp: 1_000 },
    { partition: 1, offset: 1, timestamp: 1_000 },
    { partition: 3, offset: 0, timestamp: 1_000 },
    { partition: 1, offset: 2, timestamp: 1_000 },
  ]);
  const more = await log.produce("orders", [msg("e", { partition: 3, timestamp: 5 })]);
  assert.deepEqual(more, [{ partition: 3, offset: 1, timestamp: 5 }]);
  assert.deepEqual(await log.describeTopic("orders"), {
    name: "orders",
    partitions: [
      { partition: 0, start: 0, end: 0 },
      { partition: 1, start: 0, end: 3 },
      { partition: 2, start: 0, end: 0 },
      { partition: 3, start: 0, end: 2 },
    ],
  });
  await log.close();
});

test("partition choice: explicit, else murmur2 of the key, else round-robin", async () => {
  const log = openLog();
  const [tenant, foobar, explicit, ...roundRobin] = await log.produce("t", [
    { key: utf8('["tenant-7","user-42"]'), value: null }, // murmur2 1270898468 % 4 = 0
    { key: utf8("foobar"), value: null }, // toPositive(-790332482) = 1357151166, % 4 = 2
    { key: utf8("foobar"), value: null, partition: 3 },
    msg("1"),
    msg("2"),
    msg("3"),
    msg("4"),
    msg("5"),
  ]);
  assert.equal(tenant!.partition, 0);
  assert.equal(foobar!.partition, 2);
  assert.equal(explicit!.partition, 3);
  assert.deepEqual(
    roundRobin.map((r) => r.partition),
    [0, 1, 2, 3, 0],
  );
  await log.close();
});

test("read returns records in order with keys, values, timestamps and headers", async () => {
  const log = openLog();
  await log.produce("t", [
    { key: utf8("k0"), value: utf8("v0"), partition: 2, timestamp: 10, headers: [["trace", utf8("x")], ["bin", new Uint8Array([0, 255])]] },
    { key: null, value: null, partition: 2, timestamp: 20 },
    { key: new Uint8Array(0), value: new Uint8Array(0), partition: 2, timestamp: 30 },
  ]);
  const records = await log.read("t", 2, 0, 10);
  assert.equal(records.length, 3);
  const [r0, r1, r2] = records;
  assert.deepEqual(
    { topic: r0!.topic, partition: r0!.partition, offset: r0!.offset, timestamp: r0!.timestamp, key: text(r0!.key), value: text(r0!.value) },
    { topic: "t", partition: 2, offset: 0, timestamp: 10, key: "k0", value: "v0" },
  );
  assert.deepEqual(
    r0!.headers.map(([n, v]) => [n, Array.from(v)]),
    [["trace", [0x78]], ["bin", [0, 255]]],
  );
  assert.deepEqual([r1!.offset, r1!.timestamp, r1!.key, r1!.value, r1!.headers], [1, 20, null, null, []]);
  // An empty key or value is not the same as none.
  assert.deepEqual([r2!.key?.length, r2!.value?.length], [0, 0]);
  await log.close();
});

test("read from the middle honours maxRecords and ends at the end offset", async () => {
  const log = openLog();
  await log.produce("t", Array.from({ length: 10 }, (_, i) => msg(`m${i}`, { partition: 0 })));
  const page = await log.read("t", 0, 4, 3);
  assert.deepEqual(
    page.map((r) => [r.offset, text(r.value)]),
    [
      [4, "m4"],
      [5, "m5"],
      [6, "m6"],
    ],
  );
  assert.deepEqual(
    (await log.read("t", 0, 8, 100)).map((r) => r.offset),
    [8, 9],
  );
  assert.deepEqual(await log.read("t", 0, 10, 100), []);
  assert.deepEqual(await log.read("t", 0, 50, 100), []);
  assert.deepEqual(await log.read("t", 0, 0, 0), []);
  await log.close();
});

test("readOne returns the record at that offset, and null at or past the end", async () => {
  const log = openLog();
  await log.produce("t", [msg("a", { partition: 1 }), msg("b", { partition: 1 })]);
  const one = await log.readOne("t", 1, 1);
  assert.deepEqual([one?.offset, text(one?.value ?? null)], [1, "b"]);
  assert.equal(await log.readOne("t", 1, 2), null);
  assert.equal(await log.readOne("t", 0, 0), null);
  await log.close();
});

test("offsetForTimestamp finds the first offset at or after a timestamp when timestamps are not monotonic", async () => {
  const log = openLog();
  const timestamps = [100, 300, 200, 400, 250];
  await log.produce("t", timestamps.map((timestamp) => msg("x", { partition: 0, timestamp })));
  const at = (ts: number) => log.offsetForTimestamp("t", 0, ts);
  assert.equal(await at(-5), 0);
  assert.equal(await at(100), 0);
  assert.equal(await at(101), 1);
  assert.equal(await at(150), 1); // 300 at offset 1 comes before 200 at offset 2
  assert.equal(await at(250), 1);
  assert.equal(await at(300), 1);
  assert.equal(await at(301), 3);
  assert.equal(await at(400), 3);
  assert.equal(await at(401), 5); // none: the end offset
  assert.equal(await at(0), 0);
  assert.equal(await log.offsetForTimestamp("t", 1, 0), 0); // empty partition: end = 0
  await log.close();
});

test("listTopics is sorted by name and createTopic creates explicitly", async () => {
  const log = openLog();
  await log.produce("beta", [msg("x", { partition: 0 })]);
  const created = log.createTopic("alpha", 2);
  assert.deepEqual(created, {
    name: "alpha",
    partitions: [
      { partition: 0, start: 0, end: 0 },
      { partition: 1, start: 0, end: 0 },
    ],
  });
  await log.produce("Zeta", [msg("x", { partition: 3 })]);
  const topics = await log.listTopics();
  assert.deepEqual(
    topics.map((t) => [t.name, t.partitions.length, t.partitions.map((p) => p.end).join(",")]),
    [
      ["Zeta", 4, "0,0,0,1"],
      ["alpha", 2, "0,0"],
      ["beta", 4, "1,0,0,0"],
    ],
  );
  // A produce to an explicitly created topic uses its partition count.
  const [r] = await log.produce("alpha", [msg("y")]);
  assert.equal(r!.partition, 0);
  await assert.rejects(log.produce("alpha", [msg("z", { partition: 2 })]), SourceArgumentError);
  // Re-creating with the same count is a no-op; with another count it is an error.
  assert.equal(log.createTopic("alpha", 2).partitions[0]!.end, 1);
  assert.throws(() => log.createTopic("alpha", 3), {
    name: "SourceArgumentError",
    message: 'topic "alpha" already exists with 2 partitions, not 3',
  });
  assert.throws(() => log.createTopic("gamma", 0), SourceArgumentError);
  await log.close();
});

test("an empty produce returns [] and does not create the topic", async () => {
  const log = openLog();
  assert.deepEqual(await log.produce("t", []), []);
  assert.deepEqual(await log.listTopics(), []);
  await log.close();
});

/** Resolves when `count` calls have been recorded in `into` (pushed by a listener). */
function heard<T>(into: T[], count: number): Promise<T[]> {
  return new Promise((resolve) => {
    const check = () => (into.length >= count ? resolve(into) : setImmediate(check));
    check();
  });
}

test("listeners hear onTopic at once and onAppend after the produce, once per touched partition, after commit", async () => {
  const log = openLog();
  const events: string[] = [];
  const seen: Promise<unknown>[] = [];
  log.watch({
    onTopic: (t) => events.push(`topic ${t}`),
    onAppend: (t, p, end) => {
      events.push(`append ${t}/${p} ${end}`);
      // Committed already: a read from inside the listener sees the message.
      seen.push(log.readOne(t, p, end - 1));
    },
  });
  log.watch({
    onAppend: () => {
      throw new Error("a broken listener");
    },
  });
  const third: string[] = [];
  const stop = log.watch({ onAppend: (t, p, end) => third.push(`${t}/${p} ${end}`) });

  await log.produce("t", [msg("a", { partition: 2 }), msg("b", { partition: 0 }), msg("c", { partition: 2 })]);
  // The topic is news at once; appends are told on the next turn of the event loop.
  assert.deepEqual(events, ["topic t"]);
  await heard(third, 2);
  assert.deepEqual(events, ["topic t", "append t/0 1", "append t/2 2"]);
  assert.deepEqual(third, ["t/0 1", "t/2 2"]);
  const records = await Promise.all(seen);
  assert.deepEqual(
    records.map((r) => (r as { offset: number } | null)?.offset),
    [0, 1],
  );

  stop();
  await log.produce("t", [msg("d", { partition: 0 })]);
  await heard(events, 4);
  assert.deepEqual(events.slice(3), ["append t/0 2"]);
  assert.deepEqual(third, ["t/0 1", "t/2 2"]);

  log.createTopic("u", 1);
  assert.deepEqual(events.slice(4), ["topic u"]);
  await log.close();
});

test("produces of one turn of the event loop are told as one append per partition, with the newest end", async () => {
  const log = openLog();
  const appends: string[] = [];
  log.watch({ onAppend: (t, p, end) => appends.push(`${t}/${p} ${end}`) });
  // Not awaited one by one: all three append in this turn, before anyone is told.
  await Promise.all([
    log.produce("t", [msg("a", { partition: 1 })]),
    log.produce("t", [msg("b", { partition: 1 }), msg("c", { partition: 0 })]),
    log.produce("u", [msg("d", { partition: 3 })]),
    log.produce("t", [msg("e", { partition: 1 })]),
  ]);
  await heard(appends, 3);
  assert.deepEqual(appends, ["t/0 1", "t/1 3", "u/3 1"]);
  // Nothing more was pending: another turn tells nothing.
  await new Promise((r) => setImmediate(r));
  assert.equal(appends.length, 3);
  await log.close();
});

test("closing the log drops appends not yet told", async () => {
  const log = openLog();
  const appends: string[] = [];
  log.watch({ onAppend: (t, p, end) => appends.push(`${t}/${p} ${end}`) });
  await log.produce("t", [msg("a", { partition: 1 })]);
  await log.close();
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(appends, []);
});

test("invalid topic names are rejected with what is allowed", async () => {
  const log = openLog();
  for (const name of ["", ".", "..", "a/b", "a b", "héllo", "x".repeat(250)]) {
    await assert.rejects(log.produce(name, [msg("x")]), (err: Error) => {
      assert.ok(err instanceof SourceArgumentError, name);
      assert.match(err.message, /use 1 to 249 characters from a-z, A-Z, 0-9, '\.', '_' and '-', other than "\." and "\.\."/);
      return true;
    });
  }
  assert.throws(() => log.createTopic("a:b", 1), SourceArgumentError);
  for (const name of ["x".repeat(249), "a.b_c-D9", "...", "_"]) {
    assert.equal((await log.produce(name, [msg("x")])).length, 1, name);
  }
  await log.close();
});

test("an invalid explicit partition rejects the whole batch and writes nothing", async () => {
  const log = openLog();
  for (const partition of [4, -1, 1.5]) {
    await assert.rejects(log.produce("new", [msg("ok", { partition: 0 }), msg("bad", { partition })]), {
      name: "SourceArgumentError",
      message: `invalid partition ${partition} for topic "new": it has 4 partitions, numbered 0 to 3`,
    });
  }
  // The topic the failed batch would have created does not exist.
  assert.deepEqual(await log.listTopics(), []);

  await log.produce("t", [msg("a", { partition: 0 })]);
  await assert.rejects(log.produce("t", [msg("b", { partition: 0 }), msg("c", { partition: 9 })]), SourceArgumentError);
  await assert.rejects(log.produce("t", [msg("b", { timestamp: -1 })]), SourceArgumentError);
  assert.equal((await log.describeTopic("t")).partitions[0]!.end, 1);
  await log.close();
});

test("unknown topics and bad read arguments are reported", async () => {
  const log = openLog();
  await assert.rejects(log.describeTopic("nope"), UnknownTopicError);
  await assert.rejects(log.read("nope", 0, 0, 1), UnknownTopicError);
  await assert.rejects(log.readOne("nope", 0, 0), UnknownTopicError);
  await assert.rejects(log.offsetForTimestamp("nope", 0, 0), UnknownTopicError);
  await log.produce("t", [msg("x")]);
  await assert.rejects(log.read("t", 4, 0, 1), SourceArgumentError);
  await assert.rejects(log.read("t", 0, -1, 1), SourceArgumentError);
  await assert.rejects(log.read("t", 0, 0, 1.5), SourceArgumentError);
  await assert.rejects(log.offsetForTimestamp("t", 0, Number.NaN), SourceArgumentError);
  assert.throws(() => new EmbeddedLog({ path: ":memory:", defaultPartitions: 0 }), SourceArgumentError);
  await log.close();
});
