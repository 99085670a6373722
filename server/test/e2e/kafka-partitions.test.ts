// Partitions added to a Kafka topic that streams already read: their
// messages reach the subscribers (the watcher offers the topic again and the
// matcher starts readers for the new partitions only).
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { clientFor, startServer, testKafka, type TestServer } from "../helpers/server.js";
import { StreamReader } from "../helpers/stream-reader.js";
import { createTestTopic, deleteTestTopics, foreignProducer, message, uniqueTopic, withAdmin } from "../helpers/kafka-env.js";

describe("a Kafka topic that gets more partitions", { skip: testKafka ? false : "GREP_STREAMS_TEST_KAFKA is not set (npm test sets it)" }, () => {
  let server: TestServer;
  const topic = uniqueTopic("grown");
  before(async () => {
    await createTestTopic(topic, 1);
    server = await startServer({ source: "kafka" });
  });
  after(async () => {
    await server?.close();
    await deleteTestTopics(topic);
  });

  it("delivers the messages of the new partitions to existing subscribers, exactly once", { timeout: 60_000 }, async () => {
    const client = clientFor("connect", server.url);
    const reader = new StreamReader((signal) => client.subscribe({ filter: { topics: [topic], query: '{"ok":true}' } }, { signal }));
    await reader.started();
    const producer = foreignProducer();
    try {
      await producer.send({ messages: [message(topic, 0, '{"ok":true,"n":1}'), message(topic, 0, '{"ok":false,"n":2}')] });
      const [first] = await reader.events(1);
      assert.deepEqual([first!.partition, JSON.parse(first!.valueJson).n], [0, 1]);

      await withAdmin((admin) => admin.createPartitions({ topics: [{ name: topic, count: 3 }] }));
      // The producer needs the new partitions in its own metadata before it can write to them.
      await producer.metadata({ topics: [topic], forceUpdate: true });
      await producer.send({
        messages: [message(topic, 2, '{"ok":true,"n":3}'), message(topic, 1, '{"ok":false,"n":4}'), message(topic, 1, '{"ok":true,"n":5}'), message(topic, 0, '{"ok":true,"n":6}')],
      });
      const later = await reader.events(3);
      assert.deepEqual(
        later.map((e) => [e.partition, Number(e.offset), JSON.parse(e.valueJson).n]).sort((a, b) => a[2]! - b[2]!),
        [
          [2, 0, 3],
          [1, 1, 5],
          [0, 2, 6],
        ],
      );
      assert.deepEqual(
        [first!, ...later].map((e) => Number(e.seq)),
        [1, 2, 3, 4],
        "one dense sequence",
      );
    } finally {
      reader.abort.abort();
      await producer.close();
    }
  });
});
