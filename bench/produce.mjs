// What one Produce call costs the server, side by side in one run: a plain
// HTTP/2 GET of /healthz (the floor: Node's HTTP/2 and our routing), Produce
// through Connect-ES's own handler (gRPC, which the lean handler leaves to
// it), and Produce through the lean handler (Connect protocol, proto and
// JSON). Calls are made one at a time over one HTTP/2 session, so the server
// CPU per call (all its threads, from /proc) is the call's own; the main
// thread's share is printed beside it. The server is a child process on the
// embedded log (bench/lib/server-child.mjs). Prints one JSON line.
//
//   npm run build && node bench/produce.mjs [calls=2000] [messages per call...=1 5 25]
// Environment: BENCH_SERVER_DIST (another build's server/dist), BENCH_SERVER_ARGS (node flags for the server).

import http2 from "node:http2";
import { readdirSync, readFileSync } from "node:fs";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { GrepService } from "../sdk/dist/gen/grepstreams/v1/grep_pb.js";
import { startServerChild } from "./lib/server-child.mjs";

const CALLS = Number(process.argv[2] ?? 2000);
const SIZES = process.argv.length > 3 ? process.argv.slice(3).map(Number) : [1, 5, 25];
const SERVER_ARGS = (process.env.BENCH_SERVER_ARGS ?? "").split(" ").filter((a) => a !== "");

const server = await startServerChild({ partitions: 4, nodeArgs: SERVER_ARGS });
/** CPU ms of each of the server's threads (utime + stime), by thread id. */
function threads() {
  const out = new Map();
  for (const t of readdirSync(`/proc/${server.pid}/task`)) {
    try {
      const f = readFileSync(`/proc/${server.pid}/task/${t}/stat`, "utf8").split(") ")[1].split(" ");
      out.set(t, (Number(f[11]) + Number(f[12])) * 10);
    } catch {
      // (a thread that ended between the listing and the read)
    }
  }
  return out;
}

async function measure(call) {
  const warm = Math.max(20, Math.round(CALLS / 5));
  for (let i = 0; i < warm; i++) await call();
  const before = threads();
  const t0 = performance.now();
  for (let i = 0; i < CALLS; i++) await call();
  const wallMs = performance.now() - t0;
  const after = threads();
  let all = 0;
  for (const [t, ms] of after) all += ms - (before.get(t) ?? 0);
  const main = (after.get(String(server.pid)) ?? 0) - (before.get(String(server.pid)) ?? 0);
  const us = (ms) => Math.round((ms * 1000) / CALLS);
  return { server_cpu_us_per_call: us(all), main_thread_us_per_call: us(main), wall_us_per_call: us(wallMs) };
}

const message = (i) => JSON.stringify({ tenant: `t-${i % 1000}`, service: "checkout", level: "info", status: 200, latency_ms: 12.5, msg: "x".repeat(180) });
const batch = (n) => Array.from({ length: n }, (_, i) => ({ valueJson: message(i) }));

const session = http2.connect(server.url);
const healthz = () =>
  new Promise((resolve, reject) => {
    const r = session.request({ ":path": "/healthz" });
    r.on("data", () => {});
    r.on("end", resolve);
    r.on("error", reject);
    r.end();
  });

const clients = {
  "connect-es (gRPC)": createClient(GrepService, createGrpcTransport({ baseUrl: server.url })),
  "lean (Connect, proto)": createClient(GrepService, createConnectTransport({ baseUrl: server.url, httpVersion: "2", useBinaryFormat: true })),
  "lean (Connect, JSON)": createClient(GrepService, createConnectTransport({ baseUrl: server.url, httpVersion: "2", useBinaryFormat: false })),
};

const result = { calls: CALLS, floor_healthz: await measure(healthz), produce: {} };
for (const size of SIZES) {
  const messages = batch(size);
  const row = {};
  for (const [name, client] of Object.entries(clients)) {
    const topic = `produce-${size}-${name.replace(/[^a-z]+/gi, "-")}`;
    row[name] = await measure(() => client.produce({ topic, messages }));
  }
  result.produce[`${size} messages`] = row;
}
session.close();
await server.stop();
console.log(JSON.stringify(result));
