// Live latency and fan-out: N subscribers with distinct filters on one topic
// ({"tenants":"t-i"}; each message names K distinct tenants, so it matches
// exactly K subscribers), a load generator producing R messages/s for D
// seconds through the server's Produce API, each value carrying its produce
// time. Measures produce-to-delivered latency (p50/p99/max) over every
// delivery and asserts that every expected match arrived exactly once and in
// partition order. Prints one line of JSON; exits 1 when a delivery check fails.
//
// The server runs in a child process (bench/lib/server-child.mjs): clients
// and the load generator share this process's event loop, never the server's.
// The latency therefore includes this process's time to read and parse an
// event (one JSON.parse per delivery), which is what a client sees.
//
//   npm run build && node bench/live-latency.mjs [subscribers=1000] [rate=5000] [seconds=20]
//   BENCH_KAFKA=127.0.0.1:29092 node bench/live-latency.mjs ...        (Kafka, produced through the API)
//   BENCH_KAFKA=... BENCH_KAFKA_DIRECT=1 node bench/live-latency.mjs   (a foreign producer writes straight to Kafka)
// Environment:
//   BENCH_CONNECT_SHARE  share of subscribers on Connect over HTTP/2 (one session), the rest SSE over HTTP/1.1 (default 0)
//   BENCH_MATCHES        K, subscribers each message matches (default 3)
//   BENCH_TICK_MS        the generator sends what is due every this many ms, as one Produce call (default 5)
//   BENCH_WARMUP_S       seconds produced (and checked) before the measured ones, excluded from latency (default 3)
//   BENCH_TIMELINE=1    also print p50/p99/max of each second of production (to see stalls)
//   BENCH_PROFILE=f.cpuprofile  write a CPU profile of the server during the measured seconds (not warm-up, setup or teardown)
//   BENCH_SERVER_ARGS    extra node flags for the server, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"

import http from "node:http";
import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { GrepService } from "../sdk/dist/gen/grepstreams/v1/grep_pb.js";
import { startServerChild } from "./lib/server-child.mjs";
import { sseLines } from "./lib/sse-lines.mjs";

const N = Number(process.argv[2] ?? 1000);
const RATE = Number(process.argv[3] ?? 5000);
const SECONDS = Number(process.argv[4] ?? 20);
const CONNECT_SHARE = Number(process.env.BENCH_CONNECT_SHARE ?? 0);
const K = Math.min(N, Number(process.env.BENCH_MATCHES ?? 3));
const TICK_MS = Number(process.env.BENCH_TICK_MS ?? 5);
const WARMUP_S = Number(process.env.BENCH_WARMUP_S ?? 3);
const KAFKA = process.env.BENCH_KAFKA || undefined;
const DIRECT = Boolean(KAFKA && process.env.BENCH_KAFKA_DIRECT === "1");
const PROFILE = process.env.BENCH_PROFILE || undefined;
const SERVER_ARGS = (process.env.BENCH_SERVER_ARGS ?? "").split(" ").filter((a) => a !== "");
const PARTITIONS = 4;
const TIMELINE = process.env.BENCH_TIMELINE === "1";
const timeline = [];

const now = () => performance.timeOrigin + performance.now();

const server = await startServerChild({ kafka: KAFKA, nodeArgs: SERVER_ARGS, partitions: PARTITIONS });
const topic = `live-${Date.now().toString(36)}`;
const produceClient = createClient(GrepService, createConnectTransport({ baseUrl: server.url, httpVersion: "2" }));
const direct = DIRECT ? await directProducer(KAFKA, topic) : null;
// The topic exists before anyone subscribes, so every stream starts on all its partitions.
if (direct) await direct.create();
else await produceClient.produce({ topic, messages: [{ valueJson: '{"init":true}' }] });

// ---- subscribers ----
const subs = Array.from({ length: N }, (_, i) => ({
  i,
  connect: i < Math.round(N * CONNECT_SHARE),
  expected: 0,
  seen: new Set(),
  duplicates: 0,
  outOfOrder: 0,
  lastOffset: new Array(PARTITIONS).fill(-1),
  close: () => {},
}));
const latencies = [];
let delivered = 0;
let lastDeliveryAt = now();
let warmupMessages = Infinity;

function onEvent(sub, n, ts, partition, offset) {
  const t = now();
  delivered++;
  lastDeliveryAt = t;
  if (sub.seen.has(n)) sub.duplicates++;
  else sub.seen.add(n);
  if (offset <= sub.lastOffset[partition]) sub.outOfOrder++;
  sub.lastOffset[partition] = offset;
  if (n >= warmupMessages) {
    latencies.push(t - ts);
    if (TIMELINE) (timeline[Math.floor((ts - measuredFrom) / 1000)] ??= []).push(t - ts);
  }
}

const filterOf = (i) => `{"tenants":"t-${i}"}`;
const sseAgent = new http.Agent({ keepAlive: false, maxSockets: Infinity });

function openSse(sub) {
  return new Promise((resolve, reject) => {
    const url = `${server.url}/v1/subscribe?topic=${topic}&q=${encodeURIComponent(filterOf(sub.i))}`;
    const req = http.get(url, { agent: sseAgent, headers: { accept: "text/event-stream" } }, (res) => {
      if (res.statusCode !== 200) return reject(new Error(`SSE ${res.statusCode}`));
      res.setEncoding("utf8");
      res.on("data", sseLines((event, field, data) => {
        if (field !== "data") return;
        if (event === "started") resolve();
        else if (event === "match") {
          const m = JSON.parse(data);
          onEvent(sub, m.value.n, m.value.ts, m.partition, m.offset);
        } else if (event === "gap" || event === "error") fail(`SSE ${event}: ${data}`);
      }));
    });
    req.on("error", reject);
    sub.close = () => req.destroy();
  });
}

const connectClient = createClient(GrepService, createConnectTransport({ baseUrl: server.url, httpVersion: "2" }));
function openConnect(sub) {
  const abort = new AbortController();
  sub.close = () => abort.abort();
  return new Promise((resolve, reject) => {
    (async () => {
      for await (const res of connectClient.subscribe({ filter: { topics: [topic], query: filterOf(sub.i) } }, { signal: abort.signal })) {
        const k = res.kind;
        if (k.case === "started") resolve();
        else if (k.case === "event") {
          const v = JSON.parse(k.value.valueJson);
          onEvent(sub, v.n, v.ts, k.value.partition, Number(k.value.offset));
        } else if (k.case === "gap") fail(`Connect gap: ${k.value.reason}`);
      }
    })().catch((err) => (abort.signal.aborted ? undefined : reject(err)));
  });
}

let failure = null;
function fail(why) {
  failure ??= why;
}

const subscribeStarted = now();
for (let i = 0; i < N; i += 100) {
  await Promise.all(subs.slice(i, i + 100).map((s) => (s.connect ? openConnect(s) : openSse(s))));
}
const subscribeMs = now() - subscribeStarted;
await server.stats(); // resets the server's event-loop delay histogram: only the load counts

// ---- load generator ----
// Sends what is due every TICK_MS (rate-based, so a late tick catches up) as one call.
let rand = 12345;
const nextRand = () => ((rand = (Math.imul(rand, 1103515245) + 12345) >>> 0) / 2 ** 32);
const produceLatencies = [];
let produced = 0;
let inFlight = 0;
let maxInFlight = 0;
const total = Math.round(RATE * (WARMUP_S + SECONDS));
warmupMessages = Math.round(RATE * WARMUP_S);

function makeBatch(count, ts) {
  const messages = [];
  for (let j = 0; j < count; j++) {
    const n = produced + j;
    const tenants = new Set();
    while (tenants.size < K) tenants.add(Math.floor(nextRand() * N));
    for (const t of tenants) subs[t].expected++;
    messages.push(JSON.stringify({ tenants: [...tenants].map((t) => `t-${t}`), n, ts }));
  }
  produced += count;
  return messages;
}

const cpuBefore = cpuMs(server.pid);
const machineBefore = machineTicks();
const clientCpuBefore = process.cpuUsage();
const started = now();
const measuredFrom = started + WARMUP_S * 1000;
let profiling = false;
await new Promise((resolve, reject) => {
  const tick = () => {
    const elapsed = now() - started;
    const due = Math.min(total, Math.floor((elapsed / 1000) * RATE)) - produced;
    if (due > 0) {
      const ts = now();
      const values = makeBatch(due, ts);
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      const sent = direct ? direct.send(values) : produceClient.produce({ topic, messages: values.map((valueJson) => ({ valueJson })) });
      sent.then(
        () => {
          inFlight--;
          produceLatencies.push(now() - ts);
        },
        reject,
      );
    }
    if (PROFILE && !profiling && now() >= measuredFrom) {
      profiling = true;
      void server.profileStart();
    }
    if (produced >= total) return resolve();
    setTimeout(tick, TICK_MS);
  };
  tick();
});
const produceMs = now() - started;
if (profiling) await server.profileStop(PROFILE);
const cpuMid = cpuMs(server.pid);
const machineMid = machineTicks();
const clientCpu = process.cpuUsage(clientCpuBefore);

// ---- wait for the deliveries ----
const expectedTotal = subs.reduce((n, s) => n + s.expected, 0);
while (delivered < expectedTotal && now() - lastDeliveryAt < 10_000 && !failure) await new Promise((r) => setTimeout(r, 20));
const cpuAfter = cpuMs(server.pid);
const stats = await server.stats();
const memory = await server.memory();
for (const s of subs) s.close();
await direct?.close();
await server.stop();

let duplicates = 0, missing = 0, outOfOrder = 0, wrong = 0;
for (const s of subs) {
  duplicates += s.duplicates;
  outOfOrder += s.outOfOrder;
  missing += Math.max(0, s.expected - s.seen.size);
  wrong += Math.max(0, s.seen.size - s.expected);
}
const ok = !failure && duplicates === 0 && missing === 0 && outOfOrder === 0 && wrong === 0 && delivered === expectedTotal;
const round = (x) => Math.round(x * 100) / 100;
const pct = (arr, p) => {
  if (arr.length === 0) return null;
  const a = Float64Array.from(arr).sort();
  return round(a[Math.min(a.length - 1, Math.floor((p / 100) * a.length))]);
};
console.log(JSON.stringify({
  source: server.source + (DIRECT ? " (direct produce)" : ""),
  subscribers: N,
  sse: subs.filter((s) => !s.connect).length,
  connect: subs.filter((s) => s.connect).length,
  matches_per_message: K,
  rate: RATE,
  seconds: SECONDS,
  tick_ms: TICK_MS,
  achieved_rate: Math.round(produced / (produceMs / 1000)),
  subscribe_all_ms: Math.round(subscribeMs),
  produced,
  expected_deliveries: expectedTotal,
  delivered,
  ok,
  ...(ok ? {} : { failure, duplicates, missing, out_of_order: outOfOrder, unexpected: wrong }),
  latency_ms: { p50: pct(latencies, 50), p90: pct(latencies, 90), p99: pct(latencies, 99), p999: pct(latencies, 99.9), max: pct(latencies, 100), samples: latencies.length },
  produce_call_ms: { p50: pct(produceLatencies, 50), p99: pct(produceLatencies, 99), max: pct(produceLatencies, 100), max_in_flight: maxInFlight },
  server_cpu_pct: cpuMid === null ? null : Math.round(((cpuMid - cpuBefore) / (produceMs)) * 100),
  // The share of the machine's CPU time the hypervisor gave to others while we produced (a shared host: compare runs with similar values).
  machine_steal_pct: stealPct(machineBefore, machineMid),
  client_cpu_pct: Math.round(((clientCpu.user + clientCpu.system) / 1000 / produceMs) * 100),
  // Server CPU time per message produced, production and drain together: what contention on a shared machine does not change much.
  server_cpu_us_per_message: cpuAfter === null ? null : Math.round(((cpuAfter - cpuBefore) * 1000) / produced),
  server_cpu_drain_ms: cpuAfter === null ? null : Math.round(cpuAfter - cpuMid),
  server_after: { rss_mib: memory.rss_mib, heap_mib: memory.heap_mib, ...stats },
  ...(TIMELINE ? { timeline: timeline.map((l, s) => `${s}s ${pct(l, 50)}/${pct(l, 99)}/${pct(l, 100)}`) } : {}),
}));
process.exit(ok ? 0 : 1);

/** utime + stime of a process in ms (Linux /proc), or null elsewhere. */
/** The machine's CPU ticks from /proc/stat: [steal, all] (null where there is no /proc). */
function machineTicks() {
  try {
    const f = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
    return [f[7] ?? 0, f.reduce((a, b) => a + b, 0)];
  } catch {
    return null;
  }
}

function stealPct(a, b) {
  if (a === null || b === null || b[1] === a[1]) return null;
  return Math.round(((b[0] - a[0]) / (b[1] - a[1])) * 100);
}

function cpuMs(pid) {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    return ((Number(f[11]) + Number(f[12])) * 1000) / 100; // fields 14 and 15, in clock ticks (USER_HZ = 100)
  } catch {
    return null;
  }
}

/** A Kafka producer that is not the server's: the server hears of its writes only through its watcher. */
async function directProducer(broker, topicName) {
  const { Admin, Producer, ProduceAcks } = await import("@platformatic/kafka");
  const producer = new Producer({ clientId: "grep-streams-bench-producer", bootstrapBrokers: [broker], idempotent: true, acks: ProduceAcks.ALL });
  let chain = Promise.resolve();
  let rr = 0;
  return {
    async create() {
      const admin = new Admin({ clientId: "grep-streams-bench-admin", bootstrapBrokers: [broker] });
      await admin.createTopics({ topics: [topicName], partitions: PARTITIONS });
      await admin.close();
      // Until the partitions have leaders, sends fail: retry the first one.
      for (let i = 0; ; i++) {
        try {
          await producer.send({ messages: [{ topic: topicName, partition: 0, value: Buffer.from('{"init":true}') }] });
          return;
        } catch (err) {
          if (i > 50) throw err;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    },
    // Serialised, as the server's own producer is (idempotent sends to one partition must not overlap).
    send(values) {
      const messages = values.map((v) => ({ topic: topicName, partition: rr++ % PARTITIONS, value: Buffer.from(v) }));
      chain = chain.then(() => producer.send({ messages }));
      return chain;
    },
    close: () => producer.close(),
  };
}
