// Idle streams are parked (no longer matched) and resume exactly: a
// subscriber after an event ID from before the park gets every match of the
// range nobody watched (a backfill epoch between the closed head and the new
// one), then the live ones, each once, in order.
import { it } from "node:test";
import assert from "node:assert/strict";
import { clientFor, sources, startServer, type TestServer } from "../helpers/server.js";
import { StreamReader } from "../helpers/stream-reader.js";
import { produce } from "../helpers/produce.js";
import type { Event } from "@grep-streams/sdk/gen/grepstreams/v1/grep_pb.js";

/** Parks the idle streams until `streamId` is among them (a closed subscription is counted out asynchronously). */
export async function parkedNow(server: TestServer, streamId: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if ((await server.app.engine.parkIdleStreams()).includes(streamId)) return;
    await new Promise((res) => setTimeout(res, 5));
  }
  assert.fail(`stream ${streamId} was not parked`);
}

const ns = (events: readonly Event[]) => events.map((e) => JSON.parse(e.valueJson).n as number);

for (const source of sources()) {
  it(`a parked stream resumes after an event ID with every match once, in order (${source})`, async (t) => {
    const server = await startServer({ source, streamIdleMs: 0 });
    t.after(() => server.close());
    const client = clientFor("connect", server.url);
    const topic = server.topic("park");
    const filter = { topics: [topic], query: '{"keep":true}' };
    const batch = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => ({ value: { n: from + i, keep: (from + i) % 2 === 0 }, partition: (from + i) % 4 }));

    const r = new StreamReader((signal) => client.subscribe({ filter }, { signal }));
    const started = await r.started();
    await produce(client, topic, batch(0, 20));
    const before = await r.events(10);
    r.close();
    const streamId = started.streamId;
    await parkedNow(server, streamId);
    const engine = server.app.engine;
    assert.equal(engine.registry.parkedCount, 1);
    const [closed] = engine.registry.get(streamId)!.record.epochs;
    assert.equal(closed!.complete, true, "the head is closed at its frontier");
    // Seen in /metrics and in ListTopics.
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    assert.match(metrics, /^grep_streams_streams_by_state\{state="parked"\} 1$/m);
    assert.match(metrics, /^grep_streams_streams_parked_total 1$/m);
    assert.match(metrics, /^grep_streams_tail_bytes 0$/m, "a stream without subscribers holds no tail");
    assert.match(metrics, /^grep_streams_process_resident_memory_bytes [1-9]\d*$/m);
    const listed = await client.listTopics({});
    assert.equal(listed.server?.streamsParked, 1);
    assert.equal(listed.server?.subscriptions, 0);

    // Nobody watches these: the stream is not matched while parked.
    await produce(client, topic, batch(20, 40));
    assert.equal(engine.registry.get(streamId)!.record.epochs.length, 1);

    const r2 = new StreamReader((signal) => client.subscribe({ filter, start: { position: { case: "afterEventId", value: before[6]!.id } } }, { signal }));
    const resumed = await r2.started();
    assert.equal(resumed.streamId, streamId);
    assert.equal(engine.registry.parkedCount, 0);
    const epochs = engine.registry.get(streamId)!.record.epochs;
    assert.deepEqual(epochs.map((e) => [e.kind, e.ord]), [["head", 0], ["backfill", 1], ["head", 2]]);
    // The rest of the closed head, then the unwatched range (10 matches), then live ones.
    const replay = await r2.events(3 + 10);
    assert.deepEqual(replay.slice(0, 3).map((e) => e.id), before.slice(7).map((e) => e.id));
    const fill = replay.slice(3);
    assert.ok(fill.every((e) => e.epoch === epochs[1]!.epoch));
    assert.deepEqual(fill.map((e) => Number(e.seq)), Array.from({ length: 10 }, (_, i) => i + 1));
    assert.deepEqual(ns(fill).sort((a, b) => a - b), [20, 22, 24, 26, 28, 30, 32, 34, 36, 38]);
    await produce(client, topic, batch(40, 46));
    const live = await r2.events(3);
    assert.ok(live.every((e) => e.epoch === epochs[2]!.epoch));
    assert.deepEqual(live.map((e) => Number(e.seq)), [1, 2, 3]);
    assert.deepEqual(ns(live).sort((a, b) => a - b), [40, 42, 44]);
    r2.close();

    // A subscriber from earliest reads the whole stream through all three epochs, each match once.
    const all = new StreamReader((signal) => client.subscribe({ filter, start: { position: { case: "earliest", value: true } } }, { signal }));
    await all.started();
    const everything = await all.events(23);
    assert.deepEqual(ns(everything).sort((a, b) => a - b), Array.from({ length: 23 }, (_, i) => 2 * i));
    assert.equal(new Set(everything.map((e) => e.id)).size, 23);
    all.close();
  });
}

it("a tail budget smaller than one burst still delivers everything, from the index", async (t) => {
  // 2 KiB: not even the burst's first few entries fit beside each other for long.
  const server = await startServer({ tailBudgetBytes: 2048 });
  t.after(() => server.close());
  const client = clientFor("connect", server.url);
  const filter = { topics: ["tailbudget"] };
  const r = new StreamReader((signal) => client.subscribe({ filter }, { signal }));
  await r.started();
  const big = "x".repeat(700);
  await produce(client, "tailbudget", Array.from({ length: 200 }, (_, n) => ({ value: { n, big }, partition: 0 })));
  const got = await r.events(200);
  assert.deepEqual(ns(got), Array.from({ length: 200 }, (_, n) => n));
  assert.deepEqual(got.map((e) => Number(e.seq)), Array.from({ length: 200 }, (_, i) => i + 1));
  const engine = server.app.engine;
  assert.ok(engine.tailBudget.bytes <= 2048, `tail bytes ${engine.tailBudget.bytes}`);
  assert.ok(engine.delivery.fromSource > 0, "some events were read from the index and the source");
  r.close();
});

for (const source of sources()) {
  it(`streams resuming together share one scan of the range nobody watched, each match once (${source})`, async (t) => {
    const server = await startServer({ source, streamIdleMs: 0 });
    t.after(() => server.close());
    const client = clientFor("connect", server.url);
    const topic = server.topic("park-shared");
    const tenants = ["a", "b", "c", "d", "e", "f"];
    const filterOf = (tenant: string) => ({ topics: [topic], query: JSON.stringify({ tenant }) });
    const batch = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => ({ value: { n: from + i, tenant: tenants[(from + i) % 6] }, partition: (from + i) % 4 }));
    const readers = tenants.map((tenant) => new StreamReader((signal) => client.subscribe({ filter: filterOf(tenant) }, { signal })));
    const ids = await Promise.all(readers.map(async (r) => (await r.started()).streamId));
    await produce(client, topic, batch(0, 12));
    const last = await Promise.all(readers.map(async (r) => (await r.events(2))[1]!.id));
    for (const r of readers) r.close();
    const engine = server.app.engine;
    // (A closed subscription is counted out asynchronously.)
    for (let i = 0; i < 200 && engine.registry.parkedCount < 6; i++) {
      await engine.parkIdleStreams();
      await new Promise((res) => setTimeout(res, 5));
    }
    assert.equal(engine.registry.parkedCount, 6);
    // Nobody watches these 6000 (several scan rounds): every tenant has 1000 of them.
    for (let from = 12; from < 6012; from += 500) await produce(client, topic, batch(from, from + 500));

    const again = tenants.map((tenant, i) =>
      new StreamReader((signal) => client.subscribe({ filter: filterOf(tenant), start: { position: { case: "afterEventId", value: last[i]! } } }, { signal })),
    );
    await Promise.all(again.map((r) => r.started()));
    const got = await Promise.all(again.map((r) => r.events(1000)));
    got.forEach((events, i) => {
      assert.deepEqual(ns(events).sort((x, y) => x - y), Array.from({ length: 1000 }, (_, k) => 12 + i + 6 * k), `tenant ${tenants[i]}`);
      assert.deepEqual(events.map((e) => Number(e.seq)), Array.from({ length: 1000 }, (_, k) => k + 1));
    });
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    const value = (name: string) => Number(new RegExp(`^${name} (\\d+)$`, "m").exec(metrics)?.[1]);
    assert.equal(value("grep_streams_history_scanned_messages_total"), 6 * 6000);
    assert.ok(value("grep_streams_backfill_epochs_joined_total") >= 1, metrics);
    // Far fewer reads than six scans of it (each epoch that joins behind the scan makes it read again from its start).
    assert.ok(value("grep_streams_backfill_read_messages_total") < 0.75 * 6 * 6000, `read ${value("grep_streams_backfill_read_messages_total")}`);
    for (const r of again) r.close();
  });
}
