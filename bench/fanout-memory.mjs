// Server memory per subscriber: S concurrent subscribers over F distinct
// filters ({"tenants":"t-i"} on one topic), SSE and Connect mixed, on one
// server process (a child: bench/lib/server-child.mjs, so the clients' own
// memory is not counted). The server's heap and RSS are measured after a
// full GC before anyone subscribes, with everyone subscribed, and again after
// M messages were delivered (each names K tenants; every subscriber must get
// exactly its matches). Prints one line of JSON; exits 1 when a check fails.
//
//   npm run build && node --expose-gc bench/fanout-memory.mjs [subscribers=50000] [filters=1000] [messages=200]
// Environment:
//   BENCH_SSE_SHARE      share of SSE subscribers, the rest Connect (connect+json over HTTP/2) (default 0.5)
//   BENCH_SSE_H1         SSE subscribers on HTTP/1.1, one socket each (default 1000; the rest of SSE over HTTP/2:
//                        one socket each needs an fd on both sides, and `ulimit -n` is checked)
//   BENCH_PER_SESSION    HTTP/2 streams per client session (default 1000)
//   BENCH_MATCHES        K, tenants per message (default 3)
//   BENCH_SERVER_ARGS    extra node flags for the server, e.g. "--max-semi-space-size=1"
//   BENCH_HEAP_SNAPSHOT  write heap snapshots of the server to this file (everyone subscribed) and to
//                        *.before.heapsnapshot (nobody yet): compare them with bench/lib/heap-summary.mjs
//
// HTTP/2 multiplexing carries many subscribers on few sockets: the server's
// cost per subscriber is then its stream state, cursor and buffers, not a socket.

import http from "node:http";
import http2 from "node:http2";
import { execSync } from "node:child_process";
import { startServerChild } from "./lib/server-child.mjs";
import { sseLines } from "./lib/sse-lines.mjs";

const SUBSCRIBERS = Number(process.argv[2] ?? 50_000);
const FILTERS = Number(process.argv[3] ?? 1000);
const MESSAGES = Number(process.argv[4] ?? 200);
const SSE_SHARE = Number(process.env.BENCH_SSE_SHARE ?? 0.5);
const PER_SESSION = Number(process.env.BENCH_PER_SESSION ?? 1000);
const K = Math.min(FILTERS, Number(process.env.BENCH_MATCHES ?? 3));
const HEAP_SNAPSHOT = process.env.BENCH_HEAP_SNAPSHOT || undefined;
const sseCount = Math.round(SUBSCRIBERS * SSE_SHARE);
const SSE_H1 = Math.min(sseCount, Number(process.env.BENCH_SSE_H1 ?? 1000));

// One fd per HTTP/1.1 socket in each process (and a few dozen for the rest).
const nofile = Number(execSync("ulimit -n", { shell: "/bin/bash" }).toString().trim());
if (SSE_H1 + 200 > nofile) {
  console.error(`ulimit -n is ${nofile}: too low for ${SSE_H1} HTTP/1.1 SSE sockets; raise it (ulimit -n ${SSE_H1 + 1000}) or lower BENCH_SSE_H1`);
  process.exit(2);
}

const server = await startServerChild({ heartbeatMs: 600_000, nodeArgs: (process.env.BENCH_SERVER_ARGS ?? "").split(" ").filter((a) => a !== "") });
const topic = "fanout";
const url = new URL(server.url);

// ---- clients (raw protocols: the SDK's per-stream machinery would cost this process more than the server) ----
const sessions = [];
function session() {
  let s = sessions.at(-1);
  if (!s || s.streams >= PER_SESSION) {
    s = { h2: http2.connect(server.url, { peerMaxConcurrentStreams: PER_SESSION + 10 }), streams: 0 };
    s.h2.on("error", (err) => fail(`client session: ${err.message}`));
    s.h2.setMaxListeners?.(0);
    sessions.push(s);
  }
  s.streams++;
  return s.h2;
}

const subs = [];
let failure = null;
const fail = (why) => (failure ??= why);

function sub(i) {
  const kind = i < SSE_H1 ? "sse-h1" : i < sseCount ? "sse-h2" : "connect";
  return { i, filter: i % FILTERS, kind, got: 0, ids: new Set(), expected: 0, started: false, close: () => {} };
}

/** SSE: counts `event: match` and checks the IDs are distinct. */
function sseParser(s, resolve) {
  return sseLines((event, field, value) => {
    if (field === "id" && event === "match") {
      s.got++;
      s.ids.add(value);
    } else if (field === "data" && event === "started" && !s.started) {
      s.started = true;
      resolve();
    } else if (field === "data" && (event === "gap" || event === "error")) fail(`SSE ${event}: ${value}`);
  });
}

const ssePath = (s) => `/v1/subscribe?topic=${topic}&q=${encodeURIComponent(`{"tenants":"t-${s.filter}"}`)}`;
const h1Agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });

function openSseH1(s) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: url.hostname, port: url.port, path: ssePath(s), agent: h1Agent }, (res) => {
      if (res.statusCode !== 200) return reject(new Error(`SSE ${res.statusCode}`));
      res.setEncoding("utf8");
      res.on("data", sseParser(s, resolve));
    });
    req.on("error", reject);
    s.close = () => req.destroy();
  });
}

function openSseH2(s) {
  return new Promise((resolve, reject) => {
    const stream = session().request({ ":method": "GET", ":path": ssePath(s), accept: "text/event-stream" });
    stream.setEncoding("utf8");
    stream.on("response", (h) => h[":status"] !== 200 && reject(new Error(`SSE over HTTP/2: ${h[":status"]}`)));
    stream.on("data", sseParser(s, resolve));
    stream.on("error", (err) => (s.started ? fail(`SSE h2 stream: ${err.message}`) : reject(err)));
    s.close = () => stream.close();
  });
}

/** Connect server streaming with the JSON codec: enveloped messages (flags, length, JSON). */
function openConnect(s) {
  return new Promise((resolve, reject) => {
    const stream = session().request({
      ":method": "POST",
      ":path": "/grepstreams.v1.GrepService/Subscribe",
      "content-type": "application/connect+json",
      "connect-protocol-version": "1",
    });
    const body = Buffer.from(JSON.stringify({ filter: { topics: [topic], query: `{"tenants":"t-${s.filter}"}` } }));
    const head = Buffer.alloc(5);
    head.writeUInt32BE(body.length, 1);
    stream.end(Buffer.concat([head, body]));
    let buf = Buffer.alloc(0);
    stream.on("data", (chunk) => {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      while (buf.length >= 5 && buf.length >= 5 + buf.readUInt32BE(1)) {
        const len = buf.readUInt32BE(1);
        const flags = buf[0];
        const msg = JSON.parse(buf.subarray(5, 5 + len).toString("utf8"));
        buf = buf.subarray(5 + len);
        if (flags & 2) {
          if (msg.error) fail(`Connect end: ${JSON.stringify(msg.error)}`);
        } else if (msg.started && !s.started) {
          s.started = true;
          resolve();
        } else if (msg.event) {
          s.got++;
          s.ids.add(msg.event.id);
        } else if (msg.gap) fail("Connect gap");
      }
    });
    stream.on("error", (err) => (s.started ? fail(`Connect stream: ${err.message}`) : reject(err)));
    s.close = () => stream.close();
  });
}

const producer = http2.connect(server.url);
function produce(messages) {
  return new Promise((resolve, reject) => {
    const req = producer.request({ ":method": "POST", ":path": "/grepstreams.v1.GrepService/Produce", "content-type": "application/json" });
    let text = "";
    req.setEncoding("utf8");
    req.on("data", (c) => (text += c));
    req.on("end", () => (text.includes('"records"') ? resolve() : reject(new Error(`produce: ${text}`))));
    req.on("error", reject);
    req.end(JSON.stringify({ topic, messages: messages.map((v) => ({ valueJson: JSON.stringify(v) })) }));
  });
}

const kib = (bytes) => Math.round((bytes / 1024) * 10) / 10;
const mem = (m) => ({ heap_mib: m.heap_mib, heap_total_mib: Math.round((m.heapTotal / 2 ** 20) * 10) / 10, external_mib: Math.round(((m.external + m.arrayBuffers) / 2 ** 20) * 10) / 10, rss_mib: m.rss_mib });

await produce([{ init: true }]); // the topic exists before anyone subscribes
const before = await server.memory();
if (HEAP_SNAPSHOT) await server.heapSnapshot(HEAP_SNAPSHOT.replace(/(\.heapsnapshot)?$/, ".before.heapsnapshot"));

const t0 = performance.now();
for (let i = 0; i < SUBSCRIBERS; i++) subs.push(sub(i));
// Streams first (one subscriber per filter), then everyone else, in chunks the server can take.
const open = (s) => (s.kind === "sse-h1" ? openSseH1(s) : s.kind === "sse-h2" ? openSseH2(s) : openConnect(s));
const CHUNK = 500;
for (let i = 0; i < subs.length; i += CHUNK) await Promise.all(subs.slice(i, i + CHUNK).map(open));
const subscribeS = (performance.now() - t0) / 1000;
const stats = await server.stats();
const subscribed = await server.memory();
if (HEAP_SNAPSHOT) await server.heapSnapshot(HEAP_SNAPSHOT);

// Each message names K distinct tenants: it matches K filters and so every subscriber of each.
let rand = 99;
const next = () => ((rand = (Math.imul(rand, 1103515245) + 12345) >>> 0) / 2 ** 32);
const perFilter = new Array(FILTERS).fill(0);
for (let sent = 0; sent < MESSAGES; ) {
  const batch = [];
  for (let j = 0; j < 50 && sent < MESSAGES; j++, sent++) {
    const tenants = new Set();
    while (tenants.size < K) tenants.add(Math.floor(next() * FILTERS));
    for (const t of tenants) perFilter[t]++;
    batch.push({ tenants: [...tenants].map((t) => `t-${t}`), n: sent });
  }
  await produce(batch);
}
for (const s of subs) s.expected = perFilter[s.filter];
const expected = subs.reduce((n, s) => n + s.expected, 0);
const deliveredNow = () => subs.reduce((n, s) => n + s.got, 0);
let last = -1;
let stalledSince = performance.now();
for (;;) {
  const d = deliveredNow();
  if (d >= expected || failure) break;
  if (d !== last) {
    last = d;
    stalledSince = performance.now();
  } else if (performance.now() - stalledSince > 30_000) break;
  await new Promise((r) => setTimeout(r, 100));
}
const deliverS = (performance.now() - t0) / 1000 - subscribeS;
const delivered = await server.memory();

let wrong = 0;
let duplicates = 0;
for (const s of subs) {
  if (s.got !== s.expected) wrong++;
  duplicates += s.got - s.ids.size;
}
const ok = !failure && wrong === 0 && duplicates === 0 && stats.subscriptions === SUBSCRIBERS;
const per = (a, b, field) => kib((a[field] - b[field]) / SUBSCRIBERS);
console.log(JSON.stringify({
  subscribers: SUBSCRIBERS,
  filters: FILTERS,
  streams: stats.streams,
  sse_http1: subs.filter((s) => s.kind === "sse-h1").length,
  sse_http2: subs.filter((s) => s.kind === "sse-h2").length,
  connect_http2: subs.filter((s) => s.kind === "connect").length,
  client_sessions: sessions.length,
  subscribe_s: Math.round(subscribeS * 10) / 10,
  messages: MESSAGES,
  expected_deliveries: expected,
  delivered: deliveredNow(),
  deliver_s: Math.round(deliverS * 10) / 10,
  ok,
  ...(ok ? {} : { failure, subscribers_with_wrong_count: wrong, duplicates, server_subscriptions: stats.subscriptions }),
  server_before: mem(before),
  server_subscribed: mem(subscribed),
  server_after_delivery: mem(delivered),
  per_subscriber_kib: {
    heap_subscribed: per(subscribed, before, "heapUsed"),
    heap_total_subscribed: per(subscribed, before, "heapTotal"),
    rss_subscribed: per(subscribed, before, "rss"),
    heap_after_delivery: per(delivered, before, "heapUsed"),
    external_after_delivery: kib((delivered.external + delivered.arrayBuffers - before.external - before.arrayBuffers) / SUBSCRIBERS),
    rss_after_delivery: per(delivered, before, "rss"),
  },
}));
for (const s of subs) s.close();
for (const s of sessions) s.h2.destroy();
producer.destroy();
await server.stop();
process.exit(ok ? 0 : 1);
