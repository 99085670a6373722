// The metadata-cache race of @platformatic/kafka 1.35 (the last 1.x; 2.x
// needs Node 22), against the real broker (GREP_STREAMS_TEST_KAFKA): a
// multi-topic metadata lookup that took some topics from the cache asks the
// broker only for the others; if the cache is cleared (clearMetadata(), which
// the client itself calls after stale-metadata errors) before the answer
// comes, the answer rebuilds the cache without the cached topics. The callers
// sharing that lookup then get no entry for them: listOffsets throws
// "Cannot read properties of undefined (reading 'partitionsCount')" inside
// the socket handler (an uncaught exception) and the callers after it in the
// shared lookup never get an answer. The order below makes it happen every
// time, not by chance.
//
// Also: a call that never gets an answer (metadata requests stalled by a
// paused TCP proxy in front of the bootstrap broker) is abandoned after the
// source's deadline with a clear error and warning, and the source works
// again once the broker answers.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { FetchIsolationLevels, ListOffsetTimestamps } from "@platformatic/kafka";
import { closeClients, createClients, type KafkaClients } from "../../src/source/kafka/clients.js";
import { KafkaSource, KafkaUnavailableError } from "../../src/source/kafka/index.js";
import { resolveOptions } from "../../src/source/kafka/options.js";
import { createLogger } from "../../src/util/log.js";
import { createTestTopic, deleteTestTopics, KAFKA_BROKER, requireKafka, uniqueTopic, withAdmin } from "../helpers/kafka-env.js";
import { startTcpProxy, type TcpProxy } from "../helpers/tcp-proxy.js";

const silent = createLogger({}, () => {});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The promise's value; fails when it rejects or has not settled within `ms`. */
async function answer<T>(what: string, p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Waits until every partition of the topics has a leader (just after CreateTopics some may not). */
async function waitForLeaders(topics: string[]): Promise<void> {
  await withAdmin(async (admin) => {
    for (let i = 0; ; i++) {
      const meta = await admin.metadata({ topics, forceUpdate: true }).catch(() => undefined);
      const ready = meta !== undefined && topics.every((t) => {
        const info = meta.topics.get(t);
        return info !== undefined && info.partitionsCount > 0 && info.partitions.every((p) => p.leader >= 0);
      });
      if (ready) return;
      if (i > 100) throw new Error(`no leaders for ${topics.join(", ")}`);
      await sleep(100);
    }
  });
}

describe("Kafka metadata cache race (@platformatic/kafka 1.35)", () => {
  const created: string[] = [];
  let clients: KafkaClients | undefined;

  before(async () => {
    await requireKafka();
  });

  after(async () => {
    if (clients !== undefined) await closeClients(clients);
    await deleteTestTopics(...created);
  });

  it("clearing the metadata cache while a multi-topic lookup is in flight leaves no caller without an answer", async () => {
    const cached = uniqueTopic("gs-race-cached");
    const fetched = uniqueTopic("gs-race-fetched");
    created.push(cached, fetched);
    await createTestTopic(cached, 2);
    await createTestTopic(fetched, 3);
    await waitForLeaders([cached, fetched]);

    clients = createClients(resolveOptions({ brokers: [KAFKA_BROKER], log: silent }));
    const { consumer } = clients;
    // Only `cached` is in the consumer's cache (fresh): a lookup of both topics asks for `fetched` only.
    await consumer.metadata({ topics: [cached], forceUpdate: true });

    const topics = [cached, fetched];
    // These three share one metadata lookup (same topics, same options): one request for `fetched`.
    const lookup = consumer.metadata({ topics });
    const starts = consumer.listOffsets({ topics, timestamp: ListOffsetTimestamps.EARLIEST, isolationLevel: FetchIsolationLevels.READ_COMMITTED });
    const ends = consumer.listOffsets({ topics, timestamp: ListOffsetTimestamps.LATEST, isolationLevel: FetchIsolationLevels.READ_COMMITTED });
    // What the client does by itself after a stale-metadata error (NOT_LEADER..., a deleted topic),
    // here while the request is on its way.
    consumer.clearMetadata();

    // All at once: a failure of one must not hide that the others got no answer.
    const [l, s, e] = await Promise.allSettled([
      answer("the shared metadata lookup", lookup, 10_000),
      answer("listOffsets (start offsets)", starts, 10_000),
      answer("listOffsets (end offsets)", ends, 10_000),
    ]);
    const failures = [l, s, e].flatMap((r) => (r.status === "rejected" ? [String(r.reason)] : []));
    assert.deepEqual(failures, []);
    assert.ok(l.status === "fulfilled" && s.status === "fulfilled" && e.status === "fulfilled");
    assert.equal(l.value.topics.get(cached)?.partitionsCount, 2, "the cached topic is missing from the shared lookup's answer");
    assert.equal(l.value.topics.get(fetched)?.partitionsCount, 3);
    for (const offsets of [s.value, e.value]) {
      assert.deepEqual(offsets.get(cached), [0n, 0n]);
      assert.deepEqual(offsets.get(fetched), [0n, 0n, 0n]);
    }
  });
});

describe("Kafka calls that get no answer", () => {
  let proxy: TcpProxy | undefined;
  let source: KafkaSource | undefined;
  const created: string[] = [];

  before(async () => {
    await requireKafka();
  });

  after(async () => {
    proxy?.resume();
    await source?.close();
    await proxy?.close();
    await deleteTestTopics(...created);
  });

  it("are abandoned after the deadline with a clear error and warning; the source works again once Kafka answers", async () => {
    const i = KAFKA_BROKER.lastIndexOf(":");
    proxy = await startTcpProxy(Number(KAFKA_BROKER.slice(i + 1)), KAFKA_BROKER.slice(0, i).replace(/^\[|\]$/g, ""));
    const lines: string[] = [];
    // Metadata requests go to the bootstrap broker: the proxy. (ListOffsets and Fetch go to
    // the partition leaders at the addresses the broker advertises, not through the proxy.)
    source = new KafkaSource({
      brokers: [`127.0.0.1:${proxy.port}`],
      callTimeoutMs: 500,
      log: createLogger({}, (l) => lines.push(l)),
    });
    const topic = uniqueTopic("gs-deadline");
    created.push(topic);
    await source.produce(topic, [{ key: null, value: new TextEncoder().encode("one") }]);

    // The broker gets nothing any more (connections stay open): the metadata of a topic
    // not in the cache cannot be looked up.
    proxy.pause();
    const other = uniqueTopic("gs-deadline-other");
    const t0 = performance.now();
    const err = await source.describeTopic(other).then(
      () => assert.fail("expected an error"),
      (e: unknown) => e,
    );
    const elapsed = performance.now() - t0;
    assert.ok(err instanceof KafkaUnavailableError, String(err));
    assert.match(err.message, /no answer to a metadata request within 500 ms/);
    // Two attempts of 500 ms each (the second with a forced refresh), not the client's 30 s request timeout.
    assert.ok(elapsed < 5_000, `gave up after ${Math.round(elapsed)} ms`);
    const warning = lines.find((l) => l.includes('"level":"warn"') && l.includes("no answer"));
    assert.ok(warning !== undefined, `no warning in:\n${lines.join("")}`);
    assert.match(warning, /retrying with fresh metadata/);

    proxy.resume();
    const meta = await source.describeTopic(topic);
    assert.equal(meta.partitions.reduce((n, p) => n + p.end - p.start, 0), 1);
  });
});
