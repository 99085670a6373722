// History: backfill progress, a popular filter's replay served from the index
// (no second scan; payloads read by address, live ones passed through), and
// durable subscriptions that resume by name, across a restart too.
import { it } from "node:test";
import assert from "node:assert/strict";
import { clientFor, sources, startServer } from "../helpers/server.js";
import { StreamReader } from "../helpers/stream-reader.js";
import type { Progress } from "@grep-streams/sdk/gen/grepstreams/v1/grep_pb.js";

for (const source of sources()) {
  it(`backfill reports progress; a second subscriber replays from the index (${source})`, async (t) => {
    const server = await startServer({ source });
    t.after(() => server.close());
    const topic = server.topic("history");
    const client = clientFor("connect", server.url);
    const HISTORY = 30_000;
    for (let i = 0; i < HISTORY; i += 5000) {
      await client.produce({ topic, messages: Array.from({ length: 5000 }, (_, j) => ({ key: [`k${(i + j) % 97}`], valueJson: JSON.stringify({ n: i + j, rare: i + j >= HISTORY - 6 }) })) });
    }
    const engine = server.app.engine;
    const filter = { topics: [topic], query: '{"rare":true}' };
    const start = { position: { case: "earliest" as const, value: true } };

    // First subscriber: a backfill scans the whole history, reporting progress until the matches arrive.
    const first = new StreamReader((signal) => client.subscribe({ filter, start }, { signal }));
    const { streamId } = await first.started();
    const progress: Progress[] = [];
    let m = await first.next("progress", "event");
    while (m.kind.case === "progress") {
      progress.push(m.kind.value);
      m = await first.next("progress", "event");
    }
    assert.ok(progress.length >= 1, "at least one progress message before the first match");
    assert.equal(progress[0]!.total, BigInt(HISTORY));
    for (const p of progress) assert.ok(p.fraction >= 0 && p.fraction <= 1 && p.scanned <= p.total);
    const firstEvents = [m.kind.value as { id: string; valueJson: string }, ...(await first.events(5))];
    assert.deepEqual(firstEvents.map((e) => JSON.parse(e.valueJson).n).sort((a, b) => a - b), [29994, 29995, 29996, 29997, 29998, 29999]);
    // The scan ends right after the last match: wait for it to account for every message.
    while (engine.registry.historyScanned < HISTORY) await new Promise((r) => setImmediate(r));
    assert.equal(engine.registry.historyScanned, HISTORY);
    const epochs = engine.registry.get(streamId)!.record.epochs.length;

    // Second subscriber: no scan, same IDs, payloads read from the source by address.
    const readsBefore = engine.delivery.fromSource;
    const second = new StreamReader((signal) => client.subscribe({ filter, start }, { signal }));
    await second.started();
    assert.deepEqual((await second.events(6)).map((e) => e.id), firstEvents.map((e) => e.id));
    assert.equal(engine.registry.historyScanned, HISTORY, "the second subscriber's history came from the index");
    assert.equal(engine.registry.get(streamId)!.record.epochs.length, epochs, "no new backfill epoch");
    assert.equal(engine.delivery.fromSource - readsBefore, 6);

    // Live matches reach both without a source read.
    const readsLive = engine.delivery.fromSource;
    const tailBefore = engine.delivery.fromTail;
    await client.produce({ topic, messages: [{ valueJson: '{"n":-1,"rare":true}' }] });
    const [a] = await first.events(1);
    const [b] = await second.events(1);
    assert.equal(a!.id, b!.id);
    assert.equal(engine.delivery.fromSource, readsLive);
    assert.equal(engine.delivery.fromTail - tailBefore, 2);
    first.close();
    second.close();
  });

  it(`a durable subscription resumes after its last ack, across a restart (${source})`, async (t) => {
    let server = await startServer({ source });
    const dataDir = server.dataDir;
    const topic = server.topic("durable");
    const suffix = topic.slice("durable".length + 1);
    t.after(() => server.close());
    let client = clientFor("grpc", server.url);
    const filter = { topics: [topic] };
    await client.produce({ topic, messages: [0, 1, 2, 3, 4, 5].map((n) => ({ partition: 0, valueJson: JSON.stringify({ n }) })) });
    const open = () =>
      new StreamReader((signal) => client.subscribe({ filter, durableName: "billing", start: { position: { case: "earliest", value: true } } }, { signal }));
    let r = open();
    let s = await r.started();
    const events = await r.events(4);
    // Ack the third (cumulative: the first three); the fourth stays unacknowledged.
    await client.ack({ subscriptionId: s.subscriptionId, eventId: events[2]!.id });
    r.close();

    // Another client, same name: resumes right after the ack, not at "earliest".
    r = open();
    s = await r.started();
    assert.equal(s.resolvedAfterEventId, events[2]!.id);
    const resumed = await r.events(3);
    assert.deepEqual(resumed.map((e) => JSON.parse(e.valueJson).n), [3, 4, 5]);
    await client.ack({ subscriptionId: s.subscriptionId, eventId: resumed[1]!.id });
    r.close();

    // Acks survive a restart of the server.
    await server.stop();
    server = await startServer({ source, dataDir, topicSuffix: suffix });
    client = clientFor("grpc", server.url);
    r = open();
    s = await r.started();
    assert.equal(s.resolvedAfterEventId, resumed[1]!.id);
    assert.deepEqual((await r.events(1)).map((e) => JSON.parse(e.valueJson).n), [5]);
    r.close();

    // The same name with another filter is refused.
    await assert.rejects(
      (async () => {
        for await (const _ of client.subscribe({ filter: { topics: [topic], query: '{"n":1}' }, durableName: "billing" })) break;
      })(),
      /durable subscription "billing" belongs to stream/,
    );
  });
}
