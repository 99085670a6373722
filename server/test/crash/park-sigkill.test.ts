// A SIGKILL while a stream is parked, and another while it resumes (its
// backfill of the unwatched range half done), lose and repeat nothing: the
// real `grep-streams serve` process, parking every idle stream within 50 ms.
import { it } from "node:test";
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import type { Event } from "@grep-streams/sdk/gen/grepstreams/v1/grep_pb.js";
import { clientFor, sources, tempDir, testKafka } from "../helpers/server.js";
import { freePort, ServerProcess } from "../helpers/server-process.js";
import { StreamReader } from "../helpers/stream-reader.js";
import { produce } from "../helpers/produce.js";
import { createTestTopic, deleteTestTopics, uniqueTopic } from "../helpers/kafka-env.js";

/** Waits until the server's /metrics line `name` has `value`. */
async function metric(url: string, name: string, value: number): Promise<void> {
  let last = "";
  for (let i = 0; i < 400; i++) {
    const text = await (await fetch(`${url}/metrics`)).text();
    const line = text.split("\n").find((l) => l.startsWith(`${name} `));
    last = line ?? "(absent)";
    if (line === `${name} ${value}`) return;
    await sleep(25);
  }
  assert.fail(`${name} never became ${value}: ${last}`);
}

const ns = (events: readonly Event[]) => events.map((e) => JSON.parse(e.valueJson).n as number).sort((a, b) => a - b);
const PARKED = 'grep_streams_streams_by_state{state="parked"}';

for (const source of sources()) {
  it(`a SIGKILL while a stream is parked, or while it resumes, loses and repeats nothing (${source})`, async (t) => {
    const dataDir = tempDir();
    const topic = source === "kafka" ? uniqueTopic("park-kill") : "park-kill";
    if (source === "kafka") await createTestTopic(topic, 4);
    const server = new ServerProcess({
      port: await freePort(),
      dataDir,
      ...(source === "kafka" ? { kafkaBrokers: testKafka! } : {}),
      extraArgs: ["--stream-idle-ms", "0", "--housekeeping-ms", "50"],
    });
    t.after(async () => {
      server.killAll();
      rmSync(dataDir, { recursive: true, force: true });
      if (source === "kafka") await deleteTestTopics(topic);
    });
    await server.start();
    const client = clientFor("connect", server.url);
    const filter = { topics: [topic], query: '{"keep":true}' };
    const batch = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => ({ value: { n: from + i, keep: (from + i) % 2 === 0 }, partition: (from + i) % 4 }));

    const r = new StreamReader((signal) => client.subscribe({ filter }, { signal }));
    await r.started();
    await produce(client, topic, batch(0, 20));
    const before = await r.events(10);
    r.close();
    await metric(server.url, PARKED, 1);
    // Unwatched: 200 messages, 100 matches, while parked.
    await produce(client, topic, batch(20, 220));

    // Killed while parked: after the restart it is still parked, and nothing was matched for it.
    await server.kill();
    await server.start();
    await metric(server.url, PARKED, 1);

    // Killed while resuming: the backfill of the unwatched range has begun.
    const last = before[9]!.id;
    const first = new StreamReader((signal) => client.subscribe({ filter, start: { position: { case: "afterEventId", value: last } } }, { signal }));
    await first.started();
    const early = await first.events(3);
    await server.kill();
    first.close();

    await server.start();
    const again = new StreamReader((signal) => client.subscribe({ filter, start: { position: { case: "afterEventId", value: last } } }, { signal }));
    await again.started();
    const fill = await again.events(100);
    assert.deepEqual(early.map((e) => e.id), fill.slice(0, 3).map((e) => e.id), "the same matches have the same IDs after the crash");
    assert.deepEqual(ns(fill), Array.from({ length: 100 }, (_, i) => 20 + 2 * i));
    assert.equal(new Set(fill.map((e) => e.id)).size, 100);
    assert.ok(fill.every((e) => e.epoch === fill[0]!.epoch && e.epoch !== before[0]!.epoch), "one epoch: the backfill of the unwatched range");
    assert.deepEqual(fill.map((e) => Number(e.seq)), Array.from({ length: 100 }, (_, i) => i + 1));
    await produce(client, topic, batch(220, 226));
    const live = await again.events(3);
    assert.deepEqual(ns(live), [220, 222, 224]);
    assert.ok(live.every((e) => e.epoch !== fill[0]!.epoch && Number(e.seq) <= 3), "then the new head");
    again.close();
    await server.stop();
    assert.deepEqual(server.errors.map((e) => e.rec.msg), [], "no errors logged");
  });
}
