// Soak: memory, descriptors and CPU under sustained load with churning
// subscribers. N SSE subscribers with distinct filters ({"tenant":"s-<id>"})
// on one topic, R messages/s produced through the API for D seconds, half of
// them for the tenants of subscribers (each message matches at most one
// stream) and half for tenants nobody subscribes to. Every churn period a
// share of the subscribers disconnects: half of those are gone for good
// (their tenants get no more messages) and new subscribers with new filters
// take their place; the other half come back after ~2 idle periods with
// Last-Event-ID = the last event they got, while their tenants keep getting
// messages, so their streams are parked meanwhile and resume through a
// backfill of the range nobody watched.
//
// Sampled every BENCH_SAMPLE_S seconds: the server's RSS and heap (as it is,
// and live after a full GC, with its external memory), bytes in its live
// tails, streams active and parked, open descriptors, index and log size on
// disk (the embedded log's; 0 with Kafka), server CPU per message and the
// p99 produce-to-delivered latency of the period (live deliveries: not what
// a subscriber that came back catches up on). At the end every subscriber (those that came back
// included) must have received exactly the messages of its tenant, each once
// (checked; exit 1 otherwise). Also printed: whether, after the warm-up
// (the first third), RSS stayed within 10% and under the tail budget plus
// the baseline, descriptors stayed flat, and CPU per message stayed flat as
// streams piled up (the last sample's within 25% of the first's).
//
//   npm run build && node bench/soak.mjs [subscribers=1000] [rate=2000] [seconds=3600]
//   BENCH_KAFKA=127.0.0.1:19092 node bench/soak.mjs ...        (Kafka, produced through the API)
//   BENCH_SERVER_DIST=/other/server/dist node bench/soak.mjs ...  (another build: its RSS, descriptors, disk and CPU; its metrics may lack the rest)
// Environment (defaults in brackets):
//   BENCH_SAMPLE_S [30]       seconds between samples
//   BENCH_CHURN_S [60]        seconds between churns
//   BENCH_CHURN_SHARE [0.1]   share of the subscribers that disconnect at each churn
//   BENCH_IDLE_MS [30000]     the server's --stream-idle-ms (a stream without subscribers this long is parked)
//   BENCH_TAIL_BUDGET [67108864] the server's --tail-budget-bytes
//   BENCH_HOUSEKEEPING_MS [min(5000, idle)] the server's --housekeeping-ms
//   BENCH_PROFILE=f.cpuprofile a CPU profile of the server's main thread over the measured run (not setup)
//   BENCH_HEAP_SNAPSHOT=path  heap snapshots of the server at the start and the end (path-start / path-end .heapsnapshot)

import http from "node:http";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { GrepService } from "../sdk/dist/gen/grepstreams/v1/grep_pb.js";
import { startServerChild } from "./lib/server-child.mjs";
import { sseLines } from "./lib/sse-lines.mjs";

const N = Number(process.argv[2] ?? 1000);
const RATE = Number(process.argv[3] ?? 2000);
const SECONDS = Number(process.argv[4] ?? 3600);
const SAMPLE_S = Number(process.env.BENCH_SAMPLE_S ?? 30);
const CHURN_S = Number(process.env.BENCH_CHURN_S ?? 60);
const CHURN_SHARE = Number(process.env.BENCH_CHURN_SHARE ?? 0.1);
const IDLE_MS = Number(process.env.BENCH_IDLE_MS ?? 30_000);
const TAIL_BUDGET = Number(process.env.BENCH_TAIL_BUDGET ?? 64 * 1024 ** 2);
const HOUSEKEEPING_MS = Number(process.env.BENCH_HOUSEKEEPING_MS ?? Math.min(5000, IDLE_MS));
const KAFKA = process.env.BENCH_KAFKA || undefined;
const TICK_MS = 10;
const PARTITIONS = 4;

const now = () => performance.timeOrigin + performance.now();
const server = await startServerChild({
  kafka: KAFKA,
  partitions: PARTITIONS,
  config: { streamIdleMs: IDLE_MS, housekeepingMs: HOUSEKEEPING_MS, tailBudgetBytes: TAIL_BUDGET },
});
const topic = `soak-${Date.now().toString(36)}`;
const client = createClient(GrepService, createConnectTransport({ baseUrl: server.url, httpVersion: "2" }));
await client.produce({ topic, messages: [{ valueJson: '{"init":true}' }] });

let failed = null;
const fail = (why) => (failed ??= why);

// ---- subscribers ----
/** Per tenant: the message numbers produced for it, and its subscriber. */
const tenants = new Map();
let nextTenant = 0;
let latencies = [];
const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });

function newSubscriber() {
  const t = { id: `s-${nextTenant++}`, liveSince: 0, produced: new Set(), received: new Set(), duplicates: 0, lastId: "", connected: false, feeding: false, close: () => {}, comeBackAt: 0, reconnects: 0 };
  tenants.set(t.id, t);
  return t;
}

/** Opens (or reopens, after t.lastId) the SSE subscription of tenant t; resolves once it started. */
function connect(t) {
  t.liveSince = now();
  return new Promise((resolve, reject) => {
    const url = `${server.url}/v1/subscribe?topic=${topic}&q=${encodeURIComponent(JSON.stringify({ tenant: t.id }))}`;
    const headers = { accept: "text/event-stream", ...(t.lastId ? { "last-event-id": t.lastId } : {}) };
    const req = http.get(url, { agent, headers }, (res) => {
      if (res.statusCode !== 200) return reject(new Error(`SSE ${res.statusCode} for ${t.id}`));
      res.setEncoding("utf8");
      res.on("data", sseLines((event, field, data) => {
        if (field !== "data") return;
        if (event === "started") {
          t.connected = true;
          resolve();
        } else if (event === "match") {
          const m = JSON.parse(data);
          if (t.received.has(m.value.n)) t.duplicates++;
          else t.received.add(m.value.n);
          t.lastId = m.id;
          // Live deliveries only: what a subscriber that came back catches up on is history.
          if (m.value.ts >= t.liveSince) latencies.push(now() - m.value.ts);
        } else if (event === "gap" || event === "error") fail(`SSE ${event} for ${t.id}: ${data}`);
      }));
      res.on("error", () => {});
    });
    req.on("error", (err) => (t.connected ? undefined : reject(err)));
    t.close = () => {
      t.connected = false;
      req.destroy();
    };
  });
}

const active = [];
for (let i = 0; i < N; i++) active.push(newSubscriber());
for (let i = 0; i < active.length; i += 100) await Promise.all(active.slice(i, i + 100).map(connect));
for (const t of active) t.feeding = true;
const away = [];
let resumed = 0;

async function churn() {
  const n = Math.max(1, Math.round(active.length * CHURN_SHARE));
  for (let k = 0; k < n && active.length > 0; k++) {
    const t = active.splice(Math.floor(Math.random() * active.length), 1)[0];
    t.close();
    // (One that got nothing yet has no event ID to come back after.)
    if (k % 2 === 0 || t.lastId === "") {
      // Gone for good: no more messages for its tenant.
      t.feeding = false;
      tenants.delete(t.id);
      t.gone = true;
      const fresh = newSubscriber();
      await connect(fresh);
      fresh.feeding = true;
      active.push(fresh);
    } else {
      // Away for two idle periods (parked meanwhile); its tenant keeps getting messages.
      t.comeBackAt = now() + 2 * IDLE_MS + HOUSEKEEPING_MS;
      away.push(t);
    }
  }
}

async function comeBack() {
  // Each is its own client: those due reconnect at once, not one after another.
  const due = away.filter((t) => t.comeBackAt <= now());
  if (due.length === 0) return;
  for (const t of due) away.splice(away.indexOf(t), 1);
  await Promise.all(
    due.map(async (t) => {
      await connect(t);
      t.reconnects++;
      resumed++;
      active.push(t);
    }),
  );
}

// ---- load ----
let produced = 0;
let seq = 0;
const fed = () => [...tenants.values()].filter((t) => t.feeding);
async function produceFor(ms) {
  const until = now() + ms;
  let due = 0;
  let last = now();
  let feeders = fed();
  let refreshed = now();
  while (now() < until && !failed) {
    await new Promise((r) => setTimeout(r, TICK_MS));
    const t0 = now();
    due += ((t0 - last) / 1000) * RATE;
    last = t0;
    if (t0 - refreshed > 1000) {
      feeders = fed();
      refreshed = t0;
    }
    const count = Math.floor(due);
    due -= count;
    if (count === 0) continue;
    const messages = [];
    for (let i = 0; i < count; i++) {
      const n = seq++;
      // Half for subscribed tenants, half for nobody's.
      const t = n % 2 === 0 && feeders.length > 0 ? feeders[n % feeders.length] : null;
      if (t) t.produced.add(n);
      messages.push({ valueJson: JSON.stringify({ n, ts: t0, tenant: t ? t.id : `x-${n % 5000}`, pad: "p".repeat(200) }) });
    }
    await client.produce({ topic, messages });
    produced += count;
  }
}

// ---- sampling ----
function serverCpuMs() {
  const f = readFileSync(`/proc/${server.pid}/stat`, "utf8").split(") ")[1].split(" ");
  return ((Number(f[11]) + Number(f[12])) * 1000) / 100; // utime + stime, in clock ticks of 10 ms
}
const fds = () => readdirSync(`/proc/${server.pid}/fd`).length;
/** Bytes of a SQLite database and its journal files (name, name-wal, name-shm) in `dir`. */
function filesBytes(dir, name) {
  let n = 0;
  for (const f of readdirSync(dir)) if (f === name || f.startsWith(`${name}-`)) n += statSync(join(dir, f)).size;
  return n;
}
async function metrics() {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const get = (name) => Number(text.split("\n").find((l) => l.startsWith(`${name} `))?.split(" ")[1] ?? NaN);
  // RSS from /proc (an older build, BENCH_SERVER_DIST, has no such metric).
  const rss = Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${server.pid}/status`, "utf8"))?.[1] ?? NaN) * 1024;
  return {
    rss,
    heap: get("grep_streams_process_heap_used_bytes"),
    tailBytes: get("grep_streams_tail_bytes"),
    active: get('grep_streams_streams_by_state{state="active"}'),
    parked: get('grep_streams_streams_by_state{state="parked"}'),
    historyScanned: get("grep_streams_history_scanned_messages_total"),
    backfillRead: get("grep_streams_backfill_read_messages_total"),
  };
}

const mib = (n) => Math.round((n / 2 ** 20) * 10) / 10;
const pct = (xs, p) => (xs.length === 0 ? 0 : [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]);
const samples = [];
const started = now();
if (process.env.BENCH_HEAP_SNAPSHOT) await server.heapSnapshot(`${process.env.BENCH_HEAP_SNAPSHOT}-start.heapsnapshot`);
if (process.env.BENCH_PROFILE) await server.profileStart();
let lastCpu = serverCpuMs();
let lastProduced = 0;
let nextChurn = started + CHURN_S * 1000;
while (now() - started < SECONDS * 1000 && !failed) {
  const until = Math.min(started + SECONDS * 1000, now() + SAMPLE_S * 1000);
  while (now() < until && !failed) {
    await produceFor(Math.min(until, nextChurn) - now());
    if (now() >= nextChurn) {
      await churn();
      nextChurn += CHURN_S * 1000;
    }
    await comeBack();
  }
  const m = await metrics();
  // After a full GC (the child runs with --expose-gc): what is live, not what awaits collection.
  const live = await server.memory();
  const cpu = serverCpuMs();
  const msgs = produced - lastProduced;
  samples.push({
    t_s: Math.round((now() - started) / 1000),
    rss_mib: mib(m.rss),
    heap_mib: mib(m.heap),
    live_heap_mib: live.heap_mib,
    external_mib: live.external_mib,
    tail_mib: mib(m.tailBytes),
    streams_active: m.active,
    streams_parked: m.parked,
    fds: fds(),
    connected: active.length,
    index_mib: mib(filesBytes(server.dataDir, "index.db")),
    log_mib: mib(filesBytes(server.dataDir, "log.db")),
    cpu_us_per_msg: msgs > 0 ? Math.round(((cpu - lastCpu) * 1000) / msgs) : 0,
    p99_ms: Math.round(pct(latencies, 99) * 10) / 10,
    // Since the start: what resumed streams' backfills consumed (each its own range), and what their shared scans read.
    backfill_consumed: m.historyScanned,
    backfill_read: m.backfillRead,
  });
  process.stderr.write(`${JSON.stringify(samples.at(-1))}\n`);
  latencies = [];
  lastCpu = cpu;
  lastProduced = produced;
}

if (process.env.BENCH_HEAP_SNAPSHOT) await server.heapSnapshot(`${process.env.BENCH_HEAP_SNAPSHOT}-end.heapsnapshot`);
if (process.env.BENCH_PROFILE) await server.profileStop(process.env.BENCH_PROFILE);

// ---- the end: everything delivered, exactly once ----
for (const t of away) await connect(t).then(() => (resumed++, active.push(t)));
away.length = 0;
const missing = () => active.reduce((n, t) => n + (t.produced.size - t.received.size), 0);
const deadline = now() + 60_000;
while (missing() > 0 && now() < deadline && !failed) await new Promise((r) => setTimeout(r, 100));
for (const t of active) {
  if (t.duplicates > 0) fail(`${t.id} got ${t.duplicates} duplicates`);
  for (const n of t.produced) if (!t.received.has(n)) {
    fail(`${t.id} is missing message ${n} (${t.received.size} of ${t.produced.size}; reconnects ${t.reconnects})`);
    break;
  }
  for (const n of t.received) if (!t.produced.has(n)) fail(`${t.id} got message ${n}, which was not its tenant's`);
  t.close();
}

const warm = samples.slice(Math.floor(samples.length / 3));
const range = (xs) => (xs.length ? { min: Math.min(...xs), max: Math.max(...xs) } : { min: 0, max: 0 });
const rss = range(warm.map((s) => s.rss_mib));
// Descriptors beyond the connected subscribers' sockets (those come and go with the churn).
const fd = range(warm.map((s) => s.fds - s.connected));
const cpuFirst = warm[0]?.cpu_us_per_msg ?? 0;
const cpuLast = warm.at(-1)?.cpu_us_per_msg ?? 0;
console.log(JSON.stringify({
  source: server.source,
  subscribers: N,
  rate: RATE,
  seconds: SECONDS,
  produced,
  matchesDelivered: active.reduce((n, t) => n + t.received.size, 0),
  subscribersAtEnd: active.length,
  tenantsCreated: nextTenant,
  resumedAfterAway: resumed,
  tailBudgetMiB: mib(TAIL_BUDGET),
  idleMs: IDLE_MS,
  samples,
  afterWarmup: {
    rssMiB: rss,
    rssWithin10pct: rss.max <= rss.min * 1.1,
    rssUnderBudget: rss.max <= (samples[0]?.rss_mib ?? 0) + mib(TAIL_BUDGET),
    fdsBeyondSubscribers: fd,
    fdsFlat: fd.max - fd.min <= 10,
    cpuUsPerMsg: { first: cpuFirst, last: cpuLast },
    cpuFlat: cpuLast <= cpuFirst * 1.25,
  },
  exactlyOnce: failed === null,
  ...(failed ? { failure: failed } : {}),
  node: process.version,
}));
await server.stop();
process.exit(failed ? 1 : 0);
