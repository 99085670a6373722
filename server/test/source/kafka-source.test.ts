// The Kafka source against a real broker (GREP_STREAMS_TEST_KAFKA, default
// 127.0.0.1:19092: `bash scripts/kafka.sh up`). Every test uses topics of its
// own with random names; the broker is shared.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { ConfigResourceTypes } from "@platformatic/kafka";
import { EmbeddedLog } from "../../src/source/embedded/embedded-log.js";
import { KafkaSource, KafkaSourceClosedError, KafkaUnavailableError } from "../../src/source/kafka/index.js";
import { SourceArgumentError, UnknownTopicError, type ProduceInput, type SourceRecord } from "../../src/source/types.js";
import { createLogger } from "../../src/util/log.js";
import { waitUntil } from "../helpers/deadline.js";
import {
  createTestTopic,
  deleteTestTopics,
  foreignProducer,
  KAFKA_BROKER,
  message,
  requireKafka,
  uniqueTopic,
  withAdmin,
} from "../helpers/kafka-env.js";

const utf8 = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array | null) => (b === null ? null : new TextDecoder().decode(b));
const silent = createLogger({}, () => {});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A record with text instead of bytes, for comparisons. */
function plain(r: SourceRecord) {
  return {
    offset: r.offset,
    timestamp: r.timestamp,
    key: text(r.key),
    value: text(r.value),
    headers: r.headers.map(([k, v]) => [k, text(v)]),
  };
}

describe("KafkaSource", () => {
  let source: KafkaSource;
  const created: string[] = [];
  const topic = (prefix: string) => {
    const name = uniqueTopic(`gs-test-${prefix}`);
    created.push(name);
    return name;
  };

  before(async () => {
    await requireKafka();
    source = new KafkaSource({ brokers: [KAFKA_BROKER], pollIntervalMs: 50, log: silent });
  });

  after(async () => {
    await source?.close();
    await deleteTestTopics(...created);
  });

  it("produce creates the topic and read returns exact offsets, keys, values, headers and timestamps", async () => {
    const t = topic("roundtrip");
    const produced = await source.produce(t, [
      { key: utf8("k1"), value: utf8("v1"), headers: [["h", utf8("a")], ["h", utf8("b")], ["empty", new Uint8Array()]], timestamp: 1_700_000_000_000, partition: 1 },
      { key: null, value: utf8("v2"), timestamp: 1_700_000_000_001, partition: 1 },
      // Far from the others in time (the client's varlong timestamp deltas break beyond 2^31 ms).
      { key: utf8("k3"), value: null, timestamp: 5, partition: 1 },
      { key: utf8(""), value: utf8(""), timestamp: 1_700_000_000_002, partition: 2 },
    ]);
    assert.deepEqual(produced, [
      { partition: 1, offset: 0, timestamp: 1_700_000_000_000 },
      { partition: 1, offset: 1, timestamp: 1_700_000_000_001 },
      { partition: 1, offset: 2, timestamp: 5 },
      { partition: 2, offset: 0, timestamp: 1_700_000_000_002 },
    ]);
    assert.deepEqual(await source.describeTopic(t), {
      name: t,
      partitions: [
        { partition: 0, start: 0, end: 0 },
        { partition: 1, start: 0, end: 3 },
        { partition: 2, start: 0, end: 1 },
        { partition: 3, start: 0, end: 0 },
      ],
    });
    const p1 = await source.read(t, 1, 0, 100);
    assert.ok(p1.every((r) => r.topic === t && r.partition === 1));
    assert.deepEqual(p1.map(plain), [
      { offset: 0, timestamp: 1_700_000_000_000, key: "k1", value: "v1", headers: [["h", "a"], ["h", "b"], ["empty", ""]] },
      { offset: 1, timestamp: 1_700_000_000_001, key: null, value: "v2", headers: [] },
      { offset: 2, timestamp: 5, key: "k3", value: null, headers: [] },
    ]);
    assert.deepEqual((await source.read(t, 2, 0, 100)).map(plain), [
      { offset: 0, timestamp: 1_700_000_000_002, key: "", value: "", headers: [] },
    ]);
    assert.ok(p1[0]!.key instanceof Uint8Array);
    // A default timestamp is "now".
    const before = Date.now();
    const [now] = await source.produce(t, [{ key: null, value: utf8("now"), partition: 0 }]);
    assert.ok(now!.timestamp >= before && now!.timestamp <= Date.now());
    assert.equal((await source.readOne(t, 0, 0))!.timestamp, now!.timestamp);
  });

  it("chooses partitions exactly as the embedded log does (explicit, murmur2 of the key, round-robin)", async () => {
    const t = topic("partitions");
    const messages: ProduceInput[] = [
      { key: utf8('["tenant-7","user-42"]'), value: null },
      { key: utf8("foobar"), value: null },
      { key: utf8("foobar"), value: null, partition: 3 },
      ...Array.from({ length: 200 }, (_, i): ProduceInput => ({ key: utf8(`key-${i}`), value: utf8(String(i)) })),
      { key: new Uint8Array([0, 255, 128, 7]), value: null },
      { key: new Uint8Array(), value: null },
      ...Array.from({ length: 7 }, (): ProduceInput => ({ key: null, value: utf8("rr") })),
    ];
    const embedded = new EmbeddedLog({ path: ":memory:" });
    try {
      const expected = await embedded.produce(t, messages);
      const got = await source.produce(t, messages);
      assert.deepEqual(
        got.map((r) => r.partition),
        expected.map((r) => r.partition),
      );
      // Both start from empty partitions, so the offsets agree too.
      assert.deepEqual(
        got.map((r) => r.offset),
        expected.map((r) => r.offset),
      );
      assert.equal(got[0]!.partition, 0);
      assert.equal(got[1]!.partition, 2);
    } finally {
      await embedded.close();
    }
  });

  it("reads from the middle (also of a batch) with maxRecords, and [] at or past the end", async () => {
    const t = topic("middle");
    // Three produce calls: three record batches.
    for (const batch of [[0, 1, 2, 3], [4, 5, 6], [7, 8, 9]]) {
      await source.produce(t, batch.map((i) => ({ key: null, value: utf8(`m${i}`), partition: 0, timestamp: 1000 + i })));
    }
    const values = (rs: SourceRecord[]) => rs.map((r) => [r.offset, text(r.value)]);
    assert.deepEqual(values(await source.read(t, 0, 3, 4)), [[3, "m3"], [4, "m4"], [5, "m5"], [6, "m6"]]);
    assert.deepEqual(values(await source.read(t, 0, 5, 1)), [[5, "m5"]]);
    assert.deepEqual(values(await source.read(t, 0, 8, 100)), [[8, "m8"], [9, "m9"]]);
    assert.deepEqual(await source.read(t, 0, 10, 5), []);
    assert.deepEqual(await source.read(t, 0, 1000, 5), []);
    assert.deepEqual(await source.read(t, 0, 2, 0), []);
    assert.deepEqual(await source.read(t, 1, 0, 5), [], "an empty partition");
    // Returns quickly with no data: the caller waits for onAppend, not the broker.
    const t0 = performance.now();
    await source.read(t, 0, 10, 5);
    assert.ok(performance.now() - t0 < 500, "read at the end returns at once");
  });

  it("readOne returns the record at exactly that offset, or null", async () => {
    const t = topic("readone");
    await source.produce(t, [0, 1, 2].map((i) => ({ key: utf8(`k${i}`), value: utf8(`v${i}`), partition: 2, timestamp: 50 + i })));
    assert.deepEqual(plain((await source.readOne(t, 2, 1))!), { offset: 1, timestamp: 51, key: "k1", value: "v1", headers: [] });
    assert.equal((await source.readOne(t, 2, 2))!.offset, 2);
    assert.equal(await source.readOne(t, 2, 3), null);
    assert.equal(await source.readOne(t, 2, 999), null);
    assert.equal(await source.readOne(t, 0, 0), null);
  });

  it("offsetForTimestamp finds the first offset at or after a timestamp, or the end", async () => {
    const t = topic("timestamps");
    await source.produce(t, [1000, 2000, 3000, 3000, 5000].map((ts) => ({ key: null, value: utf8(String(ts)), partition: 0, timestamp: ts })));
    const at = (ts: number) => source.offsetForTimestamp(t, 0, ts);
    assert.equal(await at(0), 0);
    assert.equal(await at(-5), 0);
    assert.equal(await at(1000), 0);
    assert.equal(await at(1001), 1);
    assert.equal(await at(3000), 2);
    assert.equal(await at(3001), 4);
    assert.equal(await at(5000), 4);
    assert.equal(await at(5001), 5, "past the newest: the end offset");
    assert.equal(await source.offsetForTimestamp(t, 1, 0), 0, "an empty partition: its end");
  });

  it("listTopics lists the topics sorted, without internal ones, with starts and ends", async () => {
    const a = topic("list-b");
    const b = topic("list-a");
    await source.produce(a, [{ key: null, value: utf8("x"), partition: 1 }]);
    await createTestTopic(b, 2);
    const all = await source.listTopics();
    const names = all.map((m) => m.name);
    assert.deepEqual(names, [...names].sort());
    assert.ok(names.every((n) => !n.startsWith("__")), "no internal topics");
    assert.deepEqual(
      all.find((m) => m.name === a),
      {
        name: a,
        partitions: [
          { partition: 0, start: 0, end: 0 },
          { partition: 1, start: 0, end: 1 },
          { partition: 2, start: 0, end: 0 },
          { partition: 3, start: 0, end: 0 },
        ],
      },
    );
    assert.deepEqual(
      all.find((m) => m.name === b),
      {
        name: b,
        partitions: [
          { partition: 0, start: 0, end: 0 },
          { partition: 1, start: 0, end: 0 },
        ],
      },
    );
  });

  it("watch reports topics and appends made by other clients, and its own produces at once", async () => {
    const external = topic("watch-ext");
    const own = topic("watch-own");
    const events: string[] = [];
    const stop = source.watch({
      onTopic: (t) => events.push(`topic ${t}`),
      onAppend: (t, p, end) => events.push(`append ${t} ${p} ${end}`),
    });
    const producer = foreignProducer();
    try {
      await sleep(400); // the first poll takes stock of what exists
      await createTestTopic(external, 2);
      await waitUntil("onTopic of a topic created by another client", () => events.includes(`topic ${external}`));
      await producer.send({ messages: [0, 1, 2].map((i) => message(external, 1, `x${i}`)) });
      await waitUntil("onAppend after another client produced", () => events.includes(`append ${external} 1 3`));
      assert.ok(!events.some((e) => e.startsWith(`append ${external} 0`)), "partition 0 did not grow");

      const produced = await source.produce(own, [{ key: null, value: utf8("o"), partition: 3 }]);
      assert.equal(produced[0]!.offset, 0);
      // Announced before produce() resolved, not at the next poll.
      assert.ok(events.includes(`topic ${own}`));
      assert.ok(events.includes(`append ${own} 3 1`));
      await sleep(300);
      assert.equal(events.filter((e) => e === `topic ${own}`).length, 1, "announced once");
      assert.equal(events.filter((e) => e.startsWith(`append ${own} 3`)).length, 1, "no repeat from the poll");
    } finally {
      stop();
    }
    const seen = events.length;
    await producer.send({ messages: [message(external, 0, "late")] });
    await sleep(300);
    assert.equal(events.length, seen, "no events after the listener left");
    await producer.close();
  });

  it("appends by other clients are reported as they happen (long polls), not at the next metadata poll", async () => {
    const t = topic("long-poll");
    await createTestTopic(t, 2);
    const producer = foreignProducer();
    await producer.send({ messages: [message(t, 0, "before")] });
    // A metadata poll every 60 s: only its first one (which takes stock, silently) runs during the test.
    const slow = new KafkaSource({ brokers: [KAFKA_BROKER], pollIntervalMs: 60_000, log: silent });
    const appends: Array<{ end: number; at: number }> = [];
    const stop = slow.watch({ onAppend: (topicName, p, end) => topicName === t && p === 0 && appends.push({ end, at: Date.now() }) });
    try {
      // The long polls start once the first poll has taken stock; until then appends are not news.
      // Keep producing until one is heard, then time one more.
      const deadline = Date.now() + 20_000;
      let sent = 1;
      while (appends.length === 0) {
        assert.ok(Date.now() < deadline, "no append reported within 20 s; the metadata poll is 60 s away");
        await producer.send({ messages: [message(t, 0, `m${sent++}`)] });
        await waitUntil("a report or a short while", () => appends.length > 0, 300).catch(() => {});
      }
      const before = appends.length;
      const sentAt = Date.now();
      await producer.send({ messages: [message(t, 0, "timed")] });
      sent++;
      await waitUntil("the timed append is reported", () => appends.length > before, 5_000);
      const last = appends.at(-1)!;
      assert.equal(last.end, sent, "the new end (last stable offset)");
      assert.ok(last.at - sentAt < 1_000, `reported ${last.at - sentAt} ms after the send`);
    } finally {
      stop();
      await slow.close();
      await producer.close();
    }
  });

  it("a read right after the news of a long poll is served by what the poll fetched, aborted transactions still hidden", async () => {
    const t = topic("prefetch");
    await createTestTopic(t, 1);
    const tx = foreignProducer(uniqueTopic("gs-test-prefetch-txn"));
    const plain = foreignProducer();
    await plain.send({ messages: [message(t, 0, "before")] });
    // Like a matcher's reader: on news, read from where it got to.
    const seen: string[] = [];
    let position = 1;
    let reading = Promise.resolve();
    const stop = source.watch({
      onAppend: (name, p) => {
        if (name !== t || p !== 0) return;
        reading = reading.then(async () => {
          for (;;) {
            const batch = await source.read(t, 0, position, 100);
            if (batch.length === 0) return;
            for (const r of batch) seen.push(text(r.value)!);
            position = batch.at(-1)!.offset + 1;
          }
        });
      },
    });
    try {
      const hitsBefore = source.readsFromLongPolls;
      // Until the first poll has taken stock, appends are not news: keep writing plain records until one is heard.
      let n = 0;
      while (seen.length === 0) {
        await plain.send({ messages: [message(t, 0, `p${n++}`)] });
        await waitUntil("a first read", () => seen.length > 0, 300).catch(() => {});
      }
      const expected = Array.from({ length: n }, (_, i) => `p${i}`);
      for (const [values, outcome] of [[["a1", "a2"], "abort"], [["c1"], "commit"], [["a3"], "abort"], [["c2", "c3"], "commit"]] as const) {
        const transaction = await tx.beginTransaction();
        await transaction.send({ messages: values.map((v) => message(t, 0, v)) });
        if (outcome === "commit") await transaction.commit();
        else await transaction.abort();
        if (outcome === "commit") expected.push(...values);
        await plain.send({ messages: [message(t, 0, `after-${values[0]}`)] });
        expected.push(`after-${values[0]}`);
      }
      await waitUntil("every visible record read", () => seen.length >= expected.length, 10_000);
      await reading;
      assert.deepEqual(seen, expected);
      assert.ok(source.readsFromLongPolls > hitsBefore, "some reads used the long polls' responses");
    } finally {
      stop();
      await tx.close();
      await plain.close();
    }
  });

  it("hides aborted transactions and markers; committed transactional records are read; ends are last stable offsets", async () => {
    const t = topic("txn");
    await createTestTopic(t, 1);
    const tx = foreignProducer(uniqueTopic("gs-test-txn-id"));
    try {
      // Offset of each data record by value. The brokers write the commit/abort
      // markers after EndTxn returns, so where they land is found out afterwards.
      const offsetOf = new Map<string, number>();
      const own = async (value: string) => {
        const [r] = await source.produce(t, [{ key: null, value: utf8(value), partition: 0 }]);
        offsetOf.set(value, r!.offset);
      };
      const transaction = async (values: string[], outcome: "commit" | "abort" | "open") => {
        const transaction = await tx.beginTransaction();
        const result = await transaction.send({ messages: values.map((v) => message(t, 0, v)) });
        const base = Number(result.offsets![0]!.offset);
        values.forEach((v, i) => offsetOf.set(v, base + i));
        if (outcome === "commit") await transaction.commit();
        if (outcome === "abort") await transaction.abort();
        return transaction;
      };
      await own("n0");
      await transaction(["a1", "a2"], "abort");
      await own("n1");
      await transaction(["c1", "c2"], "commit");
      await transaction(["a3"], "abort");
      await own("n2");
      // 8 data records and 3 markers.
      let end = 0;
      const deadline = Date.now() + 10_000;
      while ((end = (await source.describeTopic(t)).partitions[0]!.end) < 11 && Date.now() < deadline) await sleep(20);
      assert.equal(end, 11);

      const visible = ["n0", "n1", "c1", "c2", "n2"].map((v) => [offsetOf.get(v)!, v] as const).sort((a, b) => a[0] - b[0]);
      const read = async (offset: number, max = 100) => (await source.read(t, 0, offset, max)).map((r) => [r.offset, text(r.value)] as const);
      assert.deepEqual(await read(0), visible);
      const hidden = Array.from({ length: 11 }, (_, i) => i).filter((o) => !visible.some(([v]) => v === o));
      assert.equal(hidden.length, 6, "3 aborted records and 3 markers");
      for (const offset of hidden) {
        assert.equal(await source.readOne(t, 0, offset), null, `offset ${offset}`);
        // A read from a hidden offset goes on to the next visible record.
        assert.deepEqual(await read(offset, 1), visible.filter(([o]) => o > offset).slice(0, 1), `read from ${offset}`);
      }
      for (const [offset, value] of visible) assert.equal(text((await source.readOne(t, 0, offset))!.value), value);

      // An open transaction holds the end (the LSO) back, also for records after it.
      const open = await transaction(["o1"], "open");
      await own("n3");
      assert.deepEqual((await source.describeTopic(t)).partitions, [{ partition: 0, start: 0, end: offsetOf.get("o1")! }]);
      assert.deepEqual(await read(offsetOf.get("o1")!), [], "nothing readable past the last stable offset");
      await open.commit();
      while ((end = (await source.describeTopic(t)).partitions[0]!.end) <= offsetOf.get("n3")! && Date.now() < deadline) await sleep(20);
      assert.deepEqual(await read(offsetOf.get("o1")!), [
        [offsetOf.get("o1")!, "o1"],
        [offsetOf.get("n3")!, "n3"],
      ]);
    } finally {
      await tx.close();
    }
  });

  it("records deleted from the start of the log (retention, DeleteRecords) are gone: read jumps, readOne is null", async () => {
    const t = topic("retention");
    // Small segments, as retention works on whole segments; DeleteRecords moves the start deterministically.
    await createTestTopic(t, 1, { "segment.bytes": String(1024 * 1024), "segment.ms": "60000" });
    await source.produce(t, Array.from({ length: 10 }, (_, i) => ({ key: null, value: utf8(`r${i}`), partition: 0, timestamp: 100 + i })));
    await withAdmin((admin) => admin.deleteRecords({ topics: [{ name: t, partitions: [{ partition: 0, offset: 4n }] }] }));
    assert.deepEqual((await source.describeTopic(t)).partitions, [{ partition: 0, start: 4, end: 10 }]);
    const all = await source.read(t, 0, 0, 100);
    assert.deepEqual(
      all.map((r) => r.offset),
      [4, 5, 6, 7, 8, 9],
    );
    assert.deepEqual(
      (await source.read(t, 0, 2, 3)).map((r) => r.offset),
      [4, 5, 6],
    );
    assert.equal(await source.readOne(t, 0, 0), null);
    assert.equal(await source.readOne(t, 0, 3), null);
    assert.equal(text((await source.readOne(t, 0, 4))!.value), "r4");
    assert.equal(await source.offsetForTimestamp(t, 0, 0), 4);
    const listed = (await source.listTopics()).find((m) => m.name === t);
    assert.deepEqual(listed?.partitions, [{ partition: 0, start: 4, end: 10 }]);
  });

  // Regression: the suites write history with fixed, old timestamps (1970,
  // 2023, early 2026). A broker with Kafka's default time retention (7 days)
  // deleted such records at its next retention check, a few seconds after
  // the produce: a Count right after it found nothing, and a subscription
  // from earliest waited forever for an event that was gone. The test broker
  // (scripts/kafka.sh) keeps records by time unless a topic sets retention.ms.
  it("the test broker keeps records with old timestamps past a retention check", async () => {
    const t = topic("old-timestamps");
    await source.produce(t, [{ key: null, value: utf8("1970"), partition: 0, timestamp: 1_000 }]);
    const { retentionMs, checkMs } = await withAdmin(async (admin) => {
      const [topicConfig] = await admin.describeConfigs({ resources: [{ resourceType: ConfigResourceTypes.TOPIC, resourceName: t, configurationKeys: ["retention.ms"] }] });
      const broker = [...(await admin.metadata({ topics: [] })).brokers.keys()][0]!;
      const [brokerConfig] = await admin.describeConfigs({
        resources: [{ resourceType: ConfigResourceTypes.BROKER, resourceName: String(broker), configurationKeys: ["log.retention.check.interval.ms"] }],
      });
      return { retentionMs: Number(topicConfig!.configs[0]!.value), checkMs: Number(brokerConfig!.configs[0]!.value) };
    });
    assert.equal(
      retentionMs,
      -1,
      `the broker at ${KAFKA_BROKER} deletes records older than ${retentionMs} ms, and the tests write records with timestamps older than that: ` +
        "use the broker of scripts/kafka.sh (log.retention.ms=-1), or set log.retention.ms=-1 on this one",
    );
    // And it does keep them through a retention check (when one comes soon enough to wait for).
    if (checkMs <= 10_000) await sleep(checkMs + 1_000);
    assert.deepEqual((await source.describeTopic(t)).partitions[0], { partition: 0, start: 0, end: 1 });
    assert.equal(text((await source.readOne(t, 0, 0))!.value), "1970");
  });

  it("unknown topics throw UnknownTopicError; bad partitions and names throw SourceArgumentError", async () => {
    const missing = uniqueTopic("gs-test-missing");
    const t0 = performance.now();
    await assert.rejects(source.describeTopic(missing), (err: unknown) => err instanceof UnknownTopicError && err.topic === missing);
    assert.ok(performance.now() - t0 < 1_000, "an unknown topic is reported quickly");
    await assert.rejects(source.read(missing, 0, 0, 10), UnknownTopicError);
    await assert.rejects(source.readOne(missing, 0, 0), UnknownTopicError);
    await assert.rejects(source.offsetForTimestamp(missing, 0, 0), UnknownTopicError);
    await assert.rejects(source.describeTopic("__consumer_offsets"), UnknownTopicError);
    await assert.rejects(source.describeTopic("not a topic"), UnknownTopicError);

    const t = topic("args");
    await source.produce(t, [{ key: null, value: utf8("x"), partition: 0 }]);
    await assert.rejects(source.read(t, 4, 0, 10), SourceArgumentError);
    await assert.rejects(source.readOne(t, -1, 0), SourceArgumentError);
    await assert.rejects(source.read(t, 0, -1, 10), SourceArgumentError);
    await assert.rejects(source.produce(t, [{ key: null, value: null, partition: 4 }]), SourceArgumentError);
    await assert.rejects(source.produce("bad name", [{ key: null, value: null }]), SourceArgumentError);
    // A bad message leaves no trace, not even a new topic.
    const never = uniqueTopic("gs-test-never");
    await assert.rejects(source.produce(never, [{ key: null, value: null }, { key: null, value: null, partition: 9 }]), SourceArgumentError);
    await assert.rejects(source.describeTopic(never), UnknownTopicError);
    // An empty batch does not create the topic either.
    assert.deepEqual(await source.produce(never, []), []);
    await assert.rejects(source.describeTopic(never), UnknownTopicError);
  });

  it("a deleted topic is unknown at once, and produce creates it again", async () => {
    const t = topic("deleted");
    await source.produce(t, [{ key: null, value: utf8("old"), partition: 0 }]);
    assert.equal((await source.read(t, 0, 0, 10)).length, 1); // metadata now cached
    const events: string[] = [];
    const stop = source.watch({ onTopic: (name) => events.push(name) });
    try {
      await sleep(300);
      await deleteTestTopics(t);
      const deadline = Date.now() + 10_000;
      for (;;) {
        const err = await source.read(t, 0, 0, 10).then(() => null, (e: unknown) => e);
        if (err instanceof UnknownTopicError) break;
        if (err !== null) throw err;
        assert.ok(Date.now() < deadline, "the topic stays readable after its deletion");
        await sleep(50);
      }
      await sleep(300); // a poll notices the deletion
      const [again] = await source.produce(t, [{ key: null, value: utf8("new"), partition: 0 }]);
      assert.equal(again!.offset, 0);
      assert.deepEqual((await source.read(t, 0, 0, 10)).map((r) => text(r.value)), ["new"]);
      assert.ok(events.includes(t), "the new topic is announced");
    } finally {
      stop();
    }
  });

  it("concurrent produces to one partition all land, with distinct offsets", async () => {
    const t = topic("concurrent");
    await source.produce(t, [{ key: null, value: utf8("first"), partition: 0 }]);
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => source.produce(t, [{ key: null, value: utf8(`c${i}`), partition: 0 }])),
    );
    const offsets = results.map((r) => r[0]!.offset).sort((a, b) => a - b);
    assert.deepEqual(offsets, Array.from({ length: 20 }, (_, i) => i + 1));
    const read = await source.read(t, 0, 0, 100);
    assert.equal(read.length, 21);
    for (const [i, r] of results.entries()) assert.equal(text(read[r[0]!.offset]!.value), `c${i}`);
  });

  it("produces and reads large batches (several requests) with dense offsets; timing", async (t) => {
    const name = topic("bulk");
    const value = (i: number) => utf8(JSON.stringify({ i, pad: "x".repeat(180) }));
    const thousand = Array.from({ length: 1000 }, (_, i): ProduceInput => ({ key: utf8(`k${i % 10}`), value: value(i), partition: 0 }));
    await source.produce(name, [{ key: null, value: utf8("warm-up"), partition: 1 }]);

    let t0 = performance.now();
    const produced = await source.produce(name, thousand);
    const produceMs = performance.now() - t0;
    assert.deepEqual(
      produced.map((r) => r.offset),
      Array.from({ length: 1000 }, (_, i) => i),
    );
    t0 = performance.now();
    const read = await source.read(name, 0, 0, 1000);
    const readMs = performance.now() - t0;
    assert.equal(read.length, 1000);
    assert.deepEqual(read.map((r) => r.offset), produced.map((r) => r.offset));
    assert.deepEqual(text(read[999]!.value), text(value(999)));
    t.diagnostic(`produce() of 1000 messages (~200 B): ${produceMs.toFixed(1)} ms; read() of 1000 records: ${readMs.toFixed(1)} ms`);

    // ~2 MB in one call: split into several requests, offsets still dense and in input order.
    const big = Array.from({ length: 3000 }, (_, i): ProduceInput => ({ key: null, value: utf8(`${i}:`.padEnd(700, "y")), partition: 2 }));
    t0 = performance.now();
    const bigProduced = await source.produce(name, big);
    t.diagnostic(`produce() of 3000 messages of 700 B: ${(performance.now() - t0).toFixed(1)} ms`);
    assert.deepEqual(
      bigProduced.map((r) => r.offset),
      Array.from({ length: 3000 }, (_, i) => i),
    );
    const back: SourceRecord[] = [];
    while (back.length < 3000) {
      const chunk = await source.read(name, 2, back.length, 1000);
      assert.ok(chunk.length > 0);
      back.push(...chunk);
    }
    assert.ok(back.every((r, i) => r.offset === i && text(r.value)!.startsWith(`${i}:`)));
  });

  it("close() is prompt and idempotent; calls after it fail", async () => {
    const s = new KafkaSource({ brokers: [KAFKA_BROKER], log: silent });
    await s.listTopics();
    s.watch({});
    const t0 = performance.now();
    await s.close();
    assert.ok(performance.now() - t0 < 1_000, `close took ${performance.now() - t0} ms`);
    await s.close();
    await assert.rejects(s.listTopics(), KafkaSourceClosedError);
  });
});

describe("KafkaSource without a reachable broker", () => {
  it("says which brokers and what to check, keeps the cause, polls on with a warning, and closes promptly", async () => {
    const lines: string[] = [];
    const s = new KafkaSource({ brokers: ["127.0.0.1:1"], pollIntervalMs: 50, log: createLogger({}, (l) => lines.push(l)) });
    try {
      const err = await s.describeTopic("anything").then(
        () => assert.fail("expected an error"),
        (e: unknown) => e,
      );
      assert.ok(err instanceof KafkaUnavailableError, String(err));
      assert.match(err.message, /127\.0\.0\.1:1/);
      assert.match(err.message, /check/);
      assert.ok(err.cause !== undefined);
      await assert.rejects(s.produce("t", [{ key: null, value: null }]), KafkaUnavailableError);

      const stop = s.watch({ onTopic: () => {} });
      await waitUntil("a warning from the poll", () => lines.some((l) => l.includes('"level":"warn"')));
      await sleep(300);
      assert.equal(lines.filter((l) => l.includes('"level":"warn"')).length, 1, "rate-limited");
      stop();
    } finally {
      const t0 = performance.now();
      await s.close();
      assert.ok(performance.now() - t0 < 1_000);
    }
  });

  it("closes promptly while a request hangs on an unanswered connection", async () => {
    // A non-routable address: connecting hangs until the connect timeout.
    const s = new KafkaSource({ brokers: ["10.255.255.1:9092"], log: silent });
    const pending = s.listTopics().catch((e: unknown) => e);
    await sleep(200);
    const t0 = performance.now();
    await s.close();
    assert.ok(performance.now() - t0 < 1_000);
    assert.ok((await pending) instanceof Error);
  });
});
