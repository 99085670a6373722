// The SDK through a network that keeps failing: a proxy cuts the consumer's
// connections at random (a seeded PRNG) while a producer writes. The SDK
// reconnects and resumes after the last event it handed out, so the consumer
// sees every matching message exactly once, in order.
import { it } from "node:test";
import assert from "node:assert/strict";
import type { Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { createGrepClient, type GrepEvent, type GrepStreamsError } from "@grep-streams/sdk";
import { sources, startServer } from "../helpers/server.js";
import { startTcpProxy } from "../helpers/tcp-proxy.js";

const N = 500;
const BATCH = 20;
const matches = (n: number) => n % 3 === 0;

const variants: { source: ReturnType<typeof sources>[number]; transport: "connect" | "grpc" }[] = [
  ...sources().map((source) => ({ source, transport: "connect" as const })),
  { source: "embedded", transport: "grpc" },
];

for (const { source, transport } of variants) {
  it(`exactly once through a proxy that drops connections at random (${source}, ${transport})`, { timeout: 120_000 }, async (t) => {
    const server = await startServer({ source });
    t.after(() => server.close());
    const proxy = await startTcpProxy(Number(new URL(server.url).port));
    t.after(() => proxy.close());
    const topic = server.topic("flaky");

    const producer = createGrepClient(createConnectTransport({ baseUrl: server.url, httpVersion: "1.1" }));
    const viaProxy: Transport =
      transport === "connect" ? createConnectTransport({ baseUrl: proxy.url, httpVersion: "1.1" }) : createGrpcTransport({ baseUrl: proxy.url });
    const consumer = createGrepClient(viaProxy);

    const reconnects: GrepStreamsError[] = [];
    const sub = consumer.subscribe(
      { topics: [topic], query: { match: true } },
      { includeStarted: true, backoff: { initialMs: 5, maxMs: 100 }, onReconnect: (_attempt, err) => reconnects.push(err) },
    );
    const items = sub[Symbol.asyncIterator]();
    const first = await items.next();
    assert.equal(first.done, false);
    assert.equal(first.value.type, "started");

    // Cuts start once the subscription stands: each connection carries 400 to 4000 bytes.
    proxy.dropRandomly({ seed: 20261121, minBytes: 400, maxBytes: 4_000 });

    // The producer talks to the server directly (a produce retried after a
    // cut could write twice).
    const produced = (async () => {
      for (let from = 0; from < N; from += BATCH) {
        const batch = Array.from({ length: BATCH }, (_, i) => from + i).map((n) => ({
          key: [`tenant-${n % 5}`, `user-${n % 11}`],
          value: { n, match: matches(n), pad: "x".repeat(n % 50) },
        }));
        await producer.produce(topic, batch);
      }
    })();

    // Once as many events came as match, a last matching message (a sentinel)
    // shows that nothing else (no duplicate) was on its way before it.
    const expected = Array.from({ length: N }, (_, n) => n).filter(matches);
    const events: GrepEvent[] = [];
    for (;;) {
      const r = await items.next();
      assert.equal(r.done, false, "the subscription ended");
      if (r.value.type !== "event") continue;
      if ((r.value.event.value as { sentinel?: boolean }).sentinel) break;
      events.push(r.value.event);
      if (events.length === expected.length) {
        await produced;
        await producer.produce(topic, [{ key: ["tenant-0", "end"], value: { n: N, match: true, sentinel: true } }]);
      }
    }
    await produced;
    await sub.close();

    const got = events.map((e) => (e.value as { n: number }).n);
    assert.deepEqual([...got].sort((a, b) => a - b), expected, "exactly the matching messages, each once");
    assert.equal(new Set(events.map((e) => e.id)).size, events.length);
    // Dense seqs 1..M in delivery order (one epoch: the stream began before the topic existed).
    assert.deepEqual(events.map((e) => e.seq), expected.map((_, i) => i + 1));
    // In order per partition.
    const lastOffset = new Map<number, number>();
    for (const e of events) {
      assert.ok(e.offset > (lastOffset.get(e.partition) ?? -1), `partition ${e.partition} out of order at offset ${e.offset}`);
      lastOffset.set(e.partition, e.offset);
    }
    t.diagnostic(`${reconnects.length} reconnects, ${proxy.dropped} connections cut, errors: ${[...new Set(reconnects.map((e) => e.message))].join("; ")}`);
    assert.ok(reconnects.length >= 3, `only ${reconnects.length} reconnects (${proxy.dropped} connections cut)`);
    assert.ok(reconnects.every((e) => e.transient));
  });
}
