// End-to-end throughput of one process on the embedded log: produce N JSON
// events through the API and time until a live subscriber (Connect over
// HTTP/1.1) has received every match; then replay the same stream from the
// index as a second subscriber. Prints one line of JSON.
//
//   npm run build && node bench/pipeline.mjs [events] [match share]
//   BENCH_KAFKA=127.0.0.1:19092 node bench/pipeline.mjs ...   (against Kafka: bash scripts/kafka.sh up)

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { GrepService } from "../sdk/dist/gen/grepstreams/v1/grep_pb.js";
import { startApp } from "../server/dist/src/app/app.js";
import { createLogger } from "../server/dist/src/util/log.js";

const EVENTS = Number(process.argv[2] ?? 100_000);
const SHARE = Number(process.argv[3] ?? 0.1);
const BATCH = 1000;

const dataDir = mkdtempSync(join(tmpdir(), "grep-streams-bench-"));
const app = await startApp(
  { host: "127.0.0.1", port: 0, dataDir, demo: false, partitions: 4, retentionMs: 0, retentionBytes: 0, heartbeatMs: 10_000, corsOrigins: ["*"],
    kafka: process.env.BENCH_KAFKA ? { brokers: [process.env.BENCH_KAFKA], clientId: "grep-streams-bench", tls: false, sasl: null } : null },
  createLogger({}, () => {}),
);
const client = createClient(GrepService, createConnectTransport({ baseUrl: app.url, httpVersion: "1.1" }));
const topic = `bench-${Date.now().toString(36)}`;
const filter = { topics: [topic], query: '{"kind":"hit"}' };
const expected = Math.round(EVENTS * SHARE);
const every = Math.round(1 / SHARE);

async function consume(start, n) {
  let got = 0;
  const t0 = performance.now();
  let started;
  const ready = new Promise((r) => (started = r));
  const done = (async () => {
    for await (const res of client.subscribe({ filter, start })) {
      if (res.kind.case === "started") started();
      if (res.kind.case === "event" && ++got === n) break;
    }
    return performance.now() - t0;
  })();
  await ready;
  return done;
}

const live = consume(undefined, expected);
const t0 = performance.now();
for (let i = 0; i < EVENTS; i += BATCH) {
  const messages = [];
  for (let j = i; j < Math.min(EVENTS, i + BATCH); j++) {
    messages.push({ key: [`tenant-${j % 10}`, `user-${j % 1000}`], valueJson: JSON.stringify({ kind: j % every === 0 ? "hit" : "miss", n: j, amount: j % 997, tags: ["a", "b"] }) });
  }
  await client.produce({ topic, messages });
}
const produceMs = performance.now() - t0;
await live;
const liveMs = performance.now() - t0;
const replayMs = await consume({ position: { case: "earliest", value: true } }, expected);
const mem = process.memoryUsage();
console.log(JSON.stringify({
  source: app.source.kind,
  events: EVENTS,
  matches: expected,
  produce_events_per_s: Math.round(EVENTS / (produceMs / 1000)),
  live_end_to_end_events_per_s: Math.round(EVENTS / (liveMs / 1000)),
  replay_matches_per_s: Math.round(expected / (replayMs / 1000)),
  rss_mib: Math.round(mem.rss / 2 ** 20),
  heap_used_mib: Math.round(mem.heapUsed / 2 ** 20),
}));
await app.close(100);
rmSync(dataDir, { recursive: true, force: true });
