// Memory with stalled subscribers: N clients subscribe (half SSE, half
// Connect) and never read, while a producer writes M messages of 1 KiB that
// all match. A server that buffered for slow clients would grow by N x M KiB;
// this one holds about a socket buffer and a page per client. Prints JSON.
//
//   npm run build && node --expose-gc bench/stalled-clients.mjs [clients] [messages]

import http from "node:http";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { GrepService } from "../sdk/dist/gen/grepstreams/v1/grep_pb.js";
import { startApp } from "../server/dist/src/app/app.js";
import { createLogger } from "../server/dist/src/util/log.js";

const CLIENTS = Number(process.argv[2] ?? 50);
const MESSAGES = Number(process.argv[3] ?? 100_000);
const pad = "x".repeat(1000);

const dataDir = mkdtempSync(join(tmpdir(), "grep-streams-bench-"));
const app = await startApp(
  { host: "127.0.0.1", port: 0, dataDir, demo: false, partitions: 4, retentionMs: 0, retentionBytes: 0, heartbeatMs: 10_000, corsOrigins: ["*"], kafka: null },
  createLogger({}, () => {}),
);
const client = createClient(GrepService, createConnectTransport({ baseUrl: app.url, httpVersion: "1.1" }));
const mib = (n) => Math.round((n / 2 ** 20) * 10) / 10;
const measure = () => {
  globalThis.gc?.();
  const m = process.memoryUsage();
  return { heap_mib: mib(m.heapUsed), rss_mib: mib(m.rss), external_mib: mib(m.external + m.arrayBuffers) };
};

function stalled(i) {
  return new Promise((resolve, reject) => {
    const connect = i % 2 === 1;
    const body = Buffer.from(JSON.stringify({ filter: { topics: ["flood"] } }));
    const head = Buffer.alloc(5);
    head.writeUInt32BE(body.length, 1);
    const req = http.request(
      connect ? `${app.url}/grepstreams.v1.GrepService/Subscribe` : `${app.url}/v1/subscribe?topic=flood`,
      connect ? { method: "POST", headers: { "content-type": "application/connect+json", "connect-protocol-version": "1" } } : { method: "GET" },
      (res) => {
        res.pause();
        resolve(req);
      },
    );
    req.on("error", reject);
    req.end(connect ? Buffer.concat([head, body]) : undefined);
  });
}

const before = measure();
const requests = await Promise.all(Array.from({ length: CLIENTS }, (_, i) => stalled(i)));
for (let i = 0; i < MESSAGES; i += 1000) {
  await client.produce({ topic: "flood", messages: Array.from({ length: Math.min(1000, MESSAGES - i) }, (_, j) => ({ valueJson: JSON.stringify({ n: i + j, pad }) })) });
}
const stream = app.engine.subscriptions()[0].streamId;
while (app.engine.registry.get(stream).record.epochs[0].lastSeq < MESSAGES) await new Promise((r) => setImmediate(r));
const after = measure();
const subs = app.engine.subscriptions();
console.log(JSON.stringify({
  clients: CLIENTS,
  messages: MESSAGES,
  produced_mib: mib(MESSAGES * 1024),
  before,
  after,
  heap_growth_per_client_kib: Math.round(((after.heap_mib - before.heap_mib) * 1024) / CLIENTS),
  max_delivered_to_a_stalled_client: Math.max(...subs.map((s) => s.delivered.seq)),
  min_lag: Math.min(...subs.map((s) => s.lag)),
}));
for (const r of requests) r.destroy();
await app.close(100);
rmSync(dataDir, { recursive: true, force: true });
