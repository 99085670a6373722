// The SDK's resume points besides events: a gap (events retention deleted)
// is surfaced and a reconnect resumes after it; a durable subscription
// resumes by its name, within one subscription and from a new client.
import { it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { createGrepClient, type GrepEvent, type SubscriptionItem } from "@grep-streams/sdk";
import { sources, startServer } from "../helpers/server.js";
import { startTcpProxy } from "../helpers/tcp-proxy.js";
import { deleteBefore } from "../helpers/delete-records.js";

/** The next item that is not of the skipped types. */
async function next(items: AsyncIterator<SubscriptionItem>, skip: SubscriptionItem["type"][] = ["progress"]): Promise<SubscriptionItem> {
  for (;;) {
    const r = await items.next();
    if (r.done) throw new Error("the subscription ended");
    if (!skip.includes(r.value.type)) return r.value;
  }
}

async function nextEvent(items: AsyncIterator<SubscriptionItem>): Promise<GrepEvent> {
  const item = await next(items, ["progress", "started", "heartbeat"]);
  assert.equal(item.type, "event", `expected an event, got ${JSON.stringify(item)}`);
  return (item as { event: GrepEvent }).event;
}

const http1 = (baseUrl: string) => createConnectTransport({ baseUrl, httpVersion: "1.1" });

for (const source of sources()) {
  it(`surfaces a gap and resumes after it (${source})`, { timeout: 60_000 }, async (t) => {
    const first = await startServer({ source, retentionMs: 3_600_000 });
    const topic = first.topic("gappy");
    const filter = { topics: [topic], query: { m: true } };
    let sdk = createGrepClient(http1(first.url));
    const live = sdk.subscribe(filter, { includeStarted: true });
    const liveItems = live[Symbol.asyncIterator]();
    assert.equal((await next(liveItems)).type, "started");
    // Seq 1 on partition 1 first, then two old matches on partition 0 (seqs 2
    // and 3) and a newer message that does not match: retention can then
    // delete the old ones (the newest message of a partition stays), and the
    // gap is the last thing the stream has.
    const old = Date.now() - 2 * 3_600_000;
    await sdk.produce(topic, [{ partition: 1, value: { m: true, name: "a" } }]);
    const a = await nextEvent(liveItems);
    await sdk.produce(topic, [
      { partition: 0, value: { m: true, name: "b" }, timestamp: old },
      { partition: 0, value: { m: true, name: "c" }, timestamp: old + 1 },
      { partition: 0, value: { m: false, name: "e" } },
    ]);
    const b = await nextEvent(liveItems);
    const c = await nextEvent(liveItems);
    assert.deepEqual([a.seq, b.seq, c.seq], [1, 2, 3]);
    await live.close();
    // After a restart the live tail (recent matches with their records) is
    // empty, as it is for matches old enough for retention to reach.
    await first.stop();
    const server = await startServer({ source, retentionMs: 3_600_000, dataDir: first.dataDir, topicSuffix: topic.slice("gappy-".length) });
    t.after(() => server.close());
    await deleteBefore(server, topic, 0, 2);

    const proxy = await startTcpProxy(Number(new URL(server.url).port));
    t.after(() => proxy.close());
    sdk = createGrepClient(http1(proxy.url));
    let reconnects = 0;
    const sub = sdk.subscribe(filter, { start: "earliest", includeStarted: true, backoff: { initialMs: 1, maxMs: 10 }, onReconnect: () => reconnects++ });
    const items = sub[Symbol.asyncIterator]();
    assert.equal((await next(items)).type, "started");
    assert.equal((await nextEvent(items)).id, a.id);
    const gap = await next(items);
    assert.equal(gap.type, "gap");
    assert.ok(gap.type === "gap");
    assert.deepEqual([gap.fromEventId, gap.toEventId, gap.count], [b.id, c.id, 2]);
    assert.match(gap.reason, /retention/);

    // Cut the connection: the SDK resumes after the gap, not after event a.
    proxy.dropAll();
    const again = await next(items);
    assert.equal(again.type, "started");
    assert.ok(again.type === "started");
    assert.equal(again.reconnected, true);
    assert.equal(again.resolvedAfterEventId, c.id);
    assert.equal(reconnects, 1);

    await createGrepClient(http1(server.url)).produce(topic, [{ partition: 0, value: { m: true, name: "f" } }]);
    const f = await nextEvent(items);
    assert.deepEqual([f.seq, (f.value as { name: string }).name], [4, "f"]);
    await sub.close();
  });

  it(`a durable subscription resumes by its name, after a reconnect and from a new client (${source})`, { timeout: 60_000 }, async (t) => {
    const server = await startServer({ source });
    t.after(() => server.close());
    const proxy = await startTcpProxy(Number(new URL(server.url).port));
    t.after(() => proxy.close());
    const topic = server.topic("durable");
    const filter = { topics: [topic] };
    const durableName = `reader-${randomBytes(4).toString("hex")}`;
    const direct = createGrepClient(http1(server.url));
    await direct.produce(topic, Array.from({ length: 20 }, (_, n) => ({ partition: 0, value: { n } })));

    let reconnects = 0;
    const first = createGrepClient(http1(proxy.url)).subscribe(filter, {
      start: "earliest",
      durableName,
      window: 3,
      backoff: { initialMs: 1, maxMs: 10 },
      onReconnect: () => reconnects++,
    });
    const items = first[Symbol.asyncIterator]();
    const seen: number[] = [];
    for (let i = 0; i < 8; i++) {
      seen.push((await nextEvent(items)).seq);
      // The server resumes the name after its last ack, which lags what was
      // handed out: the SDK drops what it already handed out.
      if (i === 4) proxy.dropAll();
    }
    assert.deepEqual(seen, [1, 2, 3, 4, 5, 6, 7, 8]);
    assert.ok(reconnects >= 1);
    // Closing acks what was consumed (through the 7th); the 8th, still held,
    // may not have been processed, so it is not acked.
    await first.close();

    // A new client object (over gRPC this time) with the same name: it goes
    // on after the last ack, whatever start it asks for.
    const second = createGrepClient(createGrpcTransport({ baseUrl: server.url })).subscribe(filter, { start: "latest", durableName });
    const rest: number[] = [];
    for await (const item of second) {
      if (item.type !== "event") continue;
      rest.push(item.event.seq);
      if (item.event.seq === 20) break;
    }
    assert.deepEqual(rest, Array.from({ length: 13 }, (_, i) => i + 8));
  });
}
