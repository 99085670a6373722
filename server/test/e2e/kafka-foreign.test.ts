// Messages written to Kafka by clients that are not ours reach subscribers:
// kcat (Debian's package) and a second Kafka client, with string-array keys
// and JSON values, plus non-JSON values and non-array keys that must be
// skipped by the filters that need them, and counted.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { Producer, stringSerializers } from "@platformatic/kafka";
import { clientFor, startServer, testKafka, type TestServer } from "../helpers/server.js";
import { StreamReader } from "../helpers/stream-reader.js";

const run = promisify(execFile);

describe("messages from other Kafka clients", { skip: testKafka ? false : "GREP_STREAMS_TEST_KAFKA is not set (npm test sets it)" }, () => {
  let server: TestServer;
  before(async () => (server = await startServer({ source: "kafka" })));
  after(() => server.close());

  it("kcat and a second client's messages are matched; malformed ones are skipped and counted", async () => {
    const topic = server.topic("foreign");
    const client = clientFor("connect", server.url);
    const byQuery = new StreamReader((signal) => client.subscribe({ filter: { topics: [topic], query: '{"ok":true}' } }, { signal }));
    const byKey = new StreamReader((signal) => client.subscribe({ filter: { topics: [topic], keyPrefix: ["acme", "*"] } }, { signal }));
    for (const r of [byQuery, byKey]) await r.started();

    // kcat: one message a line, "key|value", into partition 0 so the order is known.
    const lines = [
      `["acme","u1"]|{"ok":true,"from":"kcat","n":1}`,
      `["acme","u2"]|{"ok":false,"from":"kcat","n":2}`,
      `["other","u3"]|{"ok":true,"from":"kcat","n":3}`,
      `not-an-array|{"ok":true,"from":"kcat","n":4}`,
      `["acme","u5"]|this is not json`,
    ].join("\n");
    const kcat = execFile("kcat", ["-P", "-b", testKafka!, "-t", topic, "-p", "0", "-K", "|", "-H", "source=kcat"]);
    kcat.stdin!.end(lines + "\n");
    await new Promise<void>((resolve, reject) => kcat.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`kcat exited ${code}`)))));

    // A second Kafka client (not the one grep-streams uses internally).
    const producer = new Producer({ clientId: "foreign-test", bootstrapBrokers: [testKafka!], serializers: stringSerializers });
    try {
      await producer.send({
        messages: [
          { topic, partition: 0, key: '["acme","u6"]', value: JSON.stringify({ ok: true, from: "client", n: 6 }), headers: { source: "client" } },
          { topic, partition: 0, key: '{"acme":true}', value: JSON.stringify({ ok: false, from: "client", n: 7 }) },
          // A last match for both subscribers: once it arrives, everything before it was scanned.
          { topic, partition: 0, key: '["acme","u8"]', value: JSON.stringify({ ok: true, from: "client", n: 8 }) },
        ],
      });
    } finally {
      await producer.close();
    }

    const values = (events: { valueJson: string }[]) => events.map((e) => JSON.parse(e.valueJson).n);
    assert.deepEqual(values(await byQuery.events(5)), [1, 3, 4, 6, 8]);
    const keyed = await byKey.events(5);
    assert.deepEqual(keyed.map((e) => e.key.join("/")), ["acme/u1", "acme/u2", "acme/u5", "acme/u6", "acme/u8"]);
    assert.equal(new TextDecoder().decode(keyed[2]!.rawValue), "this is not json");
    assert.deepEqual(keyed[0]!.headers.map((h) => [h.key, new TextDecoder().decode(h.value)]), [["source", "kcat"]]);
    for (const r of [byQuery, byKey]) r.close();

    const t = (await client.listTopics({})).topics.find((x) => x.name === topic)!;
    assert.equal(t.nonJsonValues, 1n);
    assert.equal(t.badKeys, 2n);
    const count = async (query: string) => {
      for await (const res of client.count({ filter: { topics: [topic], query } })) if (res.kind.case === "result") return res.kind.value;
      throw new Error("no result");
    };
    // The subscribed filter's stream covers the topic: answered from its index (no skip counts then).
    const indexed = await count('{"ok":true}');
    assert.deepEqual([indexed.answeredFrom, indexed.matched], ["index", 5n]);
    // A filter nobody subscribed to: a scan, which counts what it had to skip.
    const scanned = await count('{"ok":{"$exists":true}}');
    assert.deepEqual([scanned.answeredFrom, scanned.matched, scanned.skippedNonJson], ["scan", 7n, 1n]);

    // kcat reads what grep-streams' Produce wrote, with the key where Kafka's partitioner puts it.
    await client.produce({ topic, messages: [{ key: ["acme", "u9"], valueJson: '{"n":9}' }] });
    const { stdout } = await run("kcat", ["-C", "-b", testKafka!, "-t", topic, "-o", "-1", "-e", "-f", "%p|%k|%s\\n", "-q"]);
    const mine = stdout.trim().split("\n").find((l) => l.includes('"n":9'))!;
    const [partition, key] = mine.split("|");
    assert.equal(key, '["acme","u9"]');
    const { partitionForKey } = await import("../../src/source/partitioner.js");
    assert.equal(Number(partition), partitionForKey(new TextEncoder().encode('["acme","u9"]'), 4));
  });
});
