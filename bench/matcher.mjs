// Matcher benchmark: the filter index against testing every filter on every
// event, on a synthetic multi-tenant workload.
//
//   npm run build && node bench/matcher.mjs [events] [filters...]
//   (defaults: 50000 events; 1000 10000 100000 filters)
//
// Events are ~300-byte JSON texts of a multi-tenant service (tenant out of
// 1,000 with a skew, service out of 200, region, level, kind, status,
// latency_ms, amount, user {id, plan, country}, tags, msg). Filters are mostly
// equality / $in on tenant, service or user fields combined with ranges, some
// regexes, some $or of a tenant and a user condition, some ranges alone; the
// mix gives about 5 matches per event at 10,000 filters.
//
// Prints one line of JSON per filter count, all from the same run and one
// thread. Rates are events per second of this process's CPU time ("/s"; on a
// shared machine wall time also counts the time others had the core), with
// the wall-clock rate beside them ("wallPerSec"). Run with
// --single-threaded-gc so that CPU time is the one thread's:
// - parse: JSON.parse alone on the same texts (the bound, events/s);
// - naive: every filter on every event, on a sample of the events when there
//   are many filters (naive.sampledEvents says how many);
// - index: events/s with JSON.parse and the predicates included
//   (eventsPerSec), and without the predicates (candidatesOnlyEventsPerSec:
//   what a faster predicate could approach); candidates, predicate
//   evaluations and matches per event. Candidates the index proves to match
//   from the keys alone (exact filters on paths without arrays: provenPerEvent)
//   are counted as matches without an evaluation. Before measuring, `warmup` other
//   events go through candidates() (JIT, and the index's statistics).
// - worker: the match worker's whole path from bytes (TopicFilters.match on
//   packed batches of 500: decode, JSON.parse, index, predicates), beside
//   decoding and JSON.parse alone on the same bytes (its bound).
// The index must find exactly the naive matches on the events both saw, and
// the worker path as many matches as the index; the script exits with an
// error if not.
//
// GREP_STREAMS_DIST=<dir> benchmarks another build's server/dist (e.g. an
// older commit's, to compare before and after in one session).
//
// BENCH_PROFILE=1 only runs JSON.parse and candidates() (5 passes, no
// predicates, no naive baseline), to profile the index:
//   BENCH_PROFILE=1 node --cpu-prof --cpu-prof-dir=/tmp/prof bench/matcher.mjs 50000 10000
//
// BENCH_AB=<dir> compares this build with another build's server/dist in
// one process: both index the same filters, and rounds of JSON.parse alone,
// this build and the other (parse, candidates() and the predicates of the
// candidates) alternate, so that a shared machine's drift hits both alike.
// Prints per filter count the median cost per event of each, beyond the
// parse, and each one's events/s over JSON.parse's. (Both indexes share the
// caches, so absolute figures are a little worse than alone.)
//   BENCH_AB=/work/old/server/dist node --single-threaded-gc bench/matcher.mjs 30000 10000

import { performance } from "node:perf_hooks";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const dist = process.env.GREP_STREAMS_DIST || path.join(here, "../server/dist");
const load = (p) => import(pathToFileURL(path.join(dist, p)).href);
const { compileFilter } = await load("src/filter/index.js");
const { FilterIndex } = await load("src/matcher/filter-index.js");
const { mulberry32 } = await load("src/util/prng.js");
const { TopicFilters } = await load("src/matcher/topic-filters.js");
const { PackedBatch, packBatch } = await load("src/matcher/match-batch.js");

const EVENTS = Number(process.argv[2] ?? 50_000);
const FILTER_COUNTS = process.argv.length > 3 ? process.argv.slice(3).map(Number) : [1_000, 10_000, 100_000];
const WARMUP_EVENTS = 20_000;
/** Predicate evaluations the naive baseline may spend (it samples events to stay within). */
const NAIVE_BUDGET = 2_000_000;

const TENANTS = 1_000;
const SERVICES = 200;
const USERS = 100_000;
const REGIONS = ["eu-west-1", "eu-central-1", "us-east-1", "us-west-2", "ap-south-1", "sa-east-1"];
const LEVELS = ["debug", "info", "info", "info", "info", "info", "warn", "warn", "error", "info"];
const KINDS = ["request", "job", "audit", "billing", "login", "webhook", "cache", "query"];
const STATUSES = [200, 200, 200, 200, 200, 200, 200, 201, 204, 301, 400, 404, 429, 500, 503];
const PLANS = ["free", "free", "free", "free", "free", "free", "free", "pro", "pro", "enterprise"];
const COUNTRIES = ["DE", "FR", "US", "GB", "IN", "BR", "JP", "NL", "ES", "IT", "SE", "PL", "CA", "AU", "MX", "KR", "CH", "AT", "BE", "NO"];
const TAGS = Array.from({ length: 30 }, (_, i) => `tag-${i}`);
const MESSAGES = [
  "GET /api/v1/orders completed",
  "POST /api/v1/payments accepted",
  "upstream connection refused, retrying",
  "cache miss for session, loading from store",
  "request timeout after retries exhausted",
  "user signed in with single sign-on",
  "webhook delivered to subscriber endpoint",
  "slow query detected on replica",
];

function generators(seed) {
  const rnd = mulberry32(seed);
  const int = (n) => Math.floor(rnd() * n);
  const pick = (xs) => xs[int(xs.length)];
  // Tenants are skewed (t-0 gets ~1% of the events, the median tenant ~0.07%).
  const tenant = () => `t-${Math.floor(TENANTS * rnd() ** 1.5)}`;
  const service = () => `svc-${int(SERVICES)}`;
  const user = () => `u-${int(USERS)}`;
  // Mostly tens of ms, a long tail into the seconds (P(> 1000 ms) ~ 2%).
  const latency = () => Math.round(Math.exp(3 + rnd() * 3.5 + (rnd() < 0.1 ? rnd() * 2.5 : 0)));
  const event = (seq) => ({
    ts: 1_760_000_000_000 + seq * 7,
    tenant: tenant(),
    service: service(),
    region: pick(REGIONS),
    level: pick(LEVELS),
    kind: pick(KINDS),
    status: pick(STATUSES),
    latency_ms: latency(),
    amount: Math.round(rnd() * 100_000) / 100,
    user: { id: user(), plan: pick(PLANS), country: pick(COUNTRIES) },
    tags: Array.from({ length: 1 + int(3) }, () => pick(TAGS)),
    msg: `${pick(MESSAGES)} (${int(100_000)})`,
  });
  const query = () => {
    const r = rnd();
    if (r < 0.3) return { tenant: tenant(), level: { $in: ["warn", "error", "debug"] } };
    if (r < 0.45) return { tenant: tenant(), latency_ms: { $gt: 100 + int(900) } };
    if (r < 0.6) return { service: service(), status: { $gte: 500 }, region: pick(REGIONS) };
    if (r < 0.7) return rnd() < 0.5 ? { "user.id": user() } : { "user.id": { $in: [user(), user(), user()] } };
    if (r < 0.78) return { tenant: tenant(), msg: { $regex: pick(["timeout", "refused", "^slow", "sign(ed)? in"]) } };
    if (r < 0.86) return { $or: [{ tenant: tenant() }, { "user.id": user() }] };
    if (r < 0.91) return { "user.plan": "enterprise", "user.country": pick(COUNTRIES), amount: { $gt: 900 + int(100) } };
    if (r < 0.95) return { latency_ms: { $gt: 800 + int(8_000) } };
    if (r < 0.98) return { tags: { $all: [pick(TAGS), pick(TAGS)] }, kind: pick(KINDS), "user.plan": { $ne: "free" }, status: { $lt: 300 } };
    if (r < 0.9998) return { tenant: tenant(), service: service() };
    return { msg: { $regex: "^panic" } }; // no index term: always a candidate
  };
  return { event, query };
}

const spec = (query) => ({ topics: ["events"], topicRegex: "", keyPrefix: [], keyRegex: "", query: JSON.stringify(query), projection: "" });

const gen = generators(42);
const warmTexts = Array.from({ length: WARMUP_EVENTS }, (_, i) => JSON.stringify(gen.event(i)));
const texts = Array.from({ length: EVENTS }, (_, i) => JSON.stringify(gen.event(WARMUP_EVENTS + i)));
const eventBytes = Math.round(texts.reduce((n, t) => n + Buffer.byteLength(t), 0) / texts.length);

// The match workers' path: the same events as bytes, in packed batches of 500 (as a source read hands them over).
const enc = new TextEncoder();
const toBatches = (list) => {
  const out = [];
  for (let i = 0; i < list.length; i += 500) {
    const records = list.slice(i, i + 500).map((t, j) => ({ topic: "events", partition: 0, offset: i + j, timestamp: 0, key: null, value: enc.encode(t), headers: [] }));
    out.push({ buf: packBatch(records, { keys: false, values: true }), count: records.length });
  }
  return out;
};
const batches = toBatches(texts);
const warmBatches = toBatches(warmTexts);
const utf8 = new TextDecoder("utf-8", { fatal: true });

/** The worker path's bound: decoding and JSON.parse of every value of the batches alone. */
function decodeParseOnly() {
  let sink = 0;
  const start = clock();
  for (const b of batches) {
    const p = new PackedBatch(b.buf, b.count);
    for (let i = 0; i < b.count; i++) sink += JSON.parse(utf8.decode(p.value(i))).status;
  }
  const t = elapsed(start);
  if (sink === 0) throw new Error("unreachable");
  return t;
}

/** TopicFilters.match over the batches: what a match worker does (parse or scan, index, predicates). */
function workerPath(topic) {
  let matches = 0;
  const start = clock();
  for (const b of batches) matches += topic.match(new PackedBatch(b.buf, b.count)).pairs.length / 2;
  return { t: elapsed(start), matches };
}

/** Wall and CPU milliseconds since `start` (from clock()). */
function clock() {
  return { wall: performance.now(), cpu: process.cpuUsage() };
}
function elapsed(start) {
  const c = process.cpuUsage(start.cpu);
  return { wall: performance.now() - start.wall, cpu: (c.user + c.system) / 1000 };
}

function parseOnly() {
  let sink = 0;
  const start = clock();
  for (const t of texts) sink += JSON.parse(t).status;
  const t = elapsed(start);
  if (sink === 0) throw new Error("unreachable");
  return t;
}

/** Every filter on each of the first `n` events: matches per event index. */
function naive(filters, n) {
  const matches = new Int32Array(n);
  const start = clock();
  for (let e = 0; e < n; e++) {
    const v = JSON.parse(texts[e]);
    let m = 0;
    for (const f of filters) if (f.matchesValue(v)) m++;
    matches[e] = m;
  }
  return { t: elapsed(start), matches };
}

function indexed(index, withPredicate) {
  const matches = new Int32Array(EVENTS);
  let candidates = 0;
  let proven = 0;
  const out = [];
  const sure = [];
  const start = clock();
  for (let e = 0; e < EVENTS; e++) {
    const v = JSON.parse(texts[e]);
    out.length = 0;
    sure.length = 0;
    index.candidates(v, out, sure);
    candidates += out.length;
    proven += sure.length;
    if (withPredicate) {
      let m = sure.length;
      for (let i = 0; i < out.length; i++) if (out[i].matchesValue(v)) m++;
      matches[e] = m;
    }
  }
  return { t: elapsed(start), matches, candidates, proven };
}

const perSec = (n, ms) => Math.round((n / ms) * 1000);
const round2 = (x) => Math.round(x * 100) / 100;
const sum = (xs) => xs.reduce((a, b) => a + b, 0);

/** The index's own work counters per event since `before` (newer builds only). */
function workPerEvent(index, before, events) {
  if (typeof index.stats !== "function" || before === null) return {};
  const s = index.stats();
  return {
    visitsPerEvent: round2((s.visits - before.visits) / events),
    lookupsPerEvent: round2((s.lookups - before.lookups) / events),
    refiledPer1000Events: round2(((s.refiled - before.refiled) * 1000) / events),
  };
}

/**
 * Profiling mode: JSON.parse and candidates() only. Five rounds of a parse
 * pass and a parse + candidates pass; the index's own cost is the difference
 * of the fastest of each (CPU time), which cancels much of a shared
 * machine's drift.
 */
function profileIndex(index, count) {
  const before = typeof index.stats === "function" ? index.stats() : null;
  const out = [];
  const sure = [];
  let candidates = 0;
  let parse = Infinity;
  let full = Infinity;
  for (let round = 0; round < 5; round++) {
    parse = Math.min(parse, parseOnly().cpu);
    const start = clock();
    for (const text of texts) {
      out.length = 0;
      sure.length = 0;
      index.candidates(JSON.parse(text), out, sure);
      candidates += out.length + sure.length;
    }
    full = Math.min(full, elapsed(start).cpu);
  }
  const work = workPerEvent(index, before, 5 * EVENTS);
  console.log(
    JSON.stringify({
      filters: count,
      profile: true,
      parsePerSec: perSec(EVENTS, parse),
      withIndexPerSec: perSec(EVENTS, full),
      indexNsPerEvent: Math.round(((full - parse) * 1e6) / EVENTS),
      candidatesPerEvent: round2(candidates / (5 * EVENTS)),
      ...work,
    }),
  );
}

/** BENCH_AB: this build against another, alternating in one process (see the top of this file). */
async function compareBuilds(otherDist, counts, rounds) {
  const other = (p) => import(pathToFileURL(path.join(otherDist, p)).href);
  const builds = [
    { name: "this", compileFilter, FilterIndex },
    { name: otherDist, compileFilter: (await other("src/filter/index.js")).compileFilter, FilterIndex: (await other("src/matcher/filter-index.js")).FilterIndex },
  ];
  const cpu = () => {
    const c = process.cpuUsage();
    return (c.user + c.system) / 1000;
  };
  const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
  for (const count of counts) {
    const fgen = generators(1000 + count);
    const specs = Array.from({ length: count }, () => spec(fgen.query()));
    const indexes = builds.map((b) => {
      const index = new b.FilterIndex();
      specs.forEach((q, i) => {
        const f = b.compileFilter(q);
        index.add(`f${i}`, f, f);
      });
      for (const t of warmTexts) index.candidates(JSON.parse(t), []);
      return index;
    });
    const parses = [];
    const costs = builds.map(() => []);
    const matches = builds.map(() => 0);
    const out = [];
    const sure = [];
    for (let r = 0; r < rounds; r++) {
      let t0 = cpu();
      let sink = 0;
      for (const t of texts) sink += JSON.parse(t).status;
      const parse = cpu() - t0;
      if (sink === 0) throw new Error("unreachable");
      parses.push(parse);
      for (let k = 0; k < builds.length; k++) {
        const b = r % 2 === 0 ? k : builds.length - 1 - k; // alternate which goes first
        let m = 0;
        t0 = cpu();
        for (const t of texts) {
          out.length = 0;
          sure.length = 0;
          const v = JSON.parse(t);
          indexes[b].candidates(v, out, sure);
          m += sure.length;
          for (let c = 0; c < out.length; c++) if (out[c].matchesValue(v)) m++;
        }
        costs[b].push(cpu() - t0 - parse);
        matches[b] = m;
      }
    }
    if (matches[0] !== matches[1]) {
      console.error(`${count} filters: this build found ${matches[0]} matches, the other ${matches[1]}`);
      process.exit(1);
    }
    const parse = median(parses);
    const line = { filters: count, events: EVENTS, rounds, parseNsPerEvent: Math.round((parse * 1e6) / EVENTS) };
    builds.forEach((b, k) => {
      const c = median(costs[k]);
      line[b.name === "this" ? "this" : "other"] = {
        ...(b.name === "this" ? {} : { dist: b.name }),
        indexNsPerEvent: Math.round((c * 1e6) / EVENTS),
        overParse: Math.round((parse / (parse + c)) * 1000) / 1000,
      };
    });
    line.thisOverOther = Math.round((median(costs[0]) / median(costs[1])) * 100) / 100;
    line.matchesPerEvent = round2(matches[0] / EVENTS);
    console.log(JSON.stringify(line));
  }
}

if (process.env.BENCH_AB) {
  await compareBuilds(process.env.BENCH_AB, FILTER_COUNTS, Number(process.env.BENCH_AB_ROUNDS ?? 7));
  process.exit(0);
}

const firstParse = parseOnly();
for (const count of FILTER_COUNTS) {
  const fgen = generators(1000 + count);
  let t0 = performance.now();
  const filters = Array.from({ length: count }, () => compileFilter(spec(fgen.query())));
  const compileMs = performance.now() - t0;
  t0 = performance.now();
  const index = new FilterIndex();
  filters.forEach((f, i) => index.add(`f${i}`, f, f));
  const buildMs = performance.now() - t0;

  // Warm-up: JIT for all paths, and the index's statistics (other events).
  for (const t of warmTexts) index.candidates(JSON.parse(t), []);
  if (!process.env.BENCH_PROFILE) {
    for (const t of warmTexts.slice(0, 50)) {
      const v = JSON.parse(t);
      for (const f of filters) f.matchesValue(v);
    }
  }

  if (process.env.BENCH_PROFILE) {
    profileIndex(index, count);
    continue;
  }
  const parse = parseOnly();
  const before = typeof index.stats === "function" ? index.stats() : null;
  const only = indexed(index, false);
  const work = workPerEvent(index, before, EVENTS);
  const full = indexed(index, true);
  const topic = new TopicFilters();
  filters.forEach((f, i) => topic.add(i + 1, f.spec));
  for (const b of warmBatches) topic.match(new PackedBatch(b.buf, b.count));
  const decodeParse = decodeParseOnly();
  const worker = workerPath(topic);
  if (worker.matches !== sum(full.matches)) {
    console.error(`the worker path found ${worker.matches} matches, the index ${sum(full.matches)}`);
    process.exit(1);
  }
  const naiveEvents = Math.min(EVENTS, Math.max(20, Math.floor(NAIVE_BUDGET / count)));
  const b = naive(filters, naiveEvents);
  for (let e = 0; e < naiveEvents; e++) {
    if (full.matches[e] !== b.matches[e]) {
      console.error(`event ${e}: the index found ${full.matches[e]} matches, every filter ${b.matches[e]}`);
      process.exit(1);
    }
  }
  const matches = sum(full.matches);
  const rate = (n, t) => perSec(n, t.cpu);
  const wallRate = (n, t) => perSec(n, t.wall);
  const line = {
    filters: count,
    events: EVENTS,
    warmupEvents: WARMUP_EVENTS,
    eventBytes,
    matchesPerEvent: round2(matches / EVENTS),
    parse: { eventsPerSec: rate(EVENTS, parse.cpu < firstParse.cpu ? parse : firstParse), wallPerSec: wallRate(EVENTS, parse) },
    naive: {
      sampledEvents: naiveEvents,
      ...(naiveEvents < EVENTS ? { note: `every filter on the first ${naiveEvents} of the ${EVENTS} events only (a sample)` } : {}),
      eventsPerSec: rate(naiveEvents, b.t),
      wallPerSec: wallRate(naiveEvents, b.t),
      matchesPerEvent: round2(sum(b.matches) / naiveEvents),
    },
    index: {
      eventsPerSec: rate(EVENTS, full.t),
      wallPerSec: wallRate(EVENTS, full.t),
      candidatesOnlyEventsPerSec: rate(EVENTS, only.t),
      candidatesPerEvent: round2((full.candidates + full.proven) / EVENTS),
      provenPerEvent: round2(full.proven / EVENTS),
      ...work,
      evaluationsPerEvent: round2(full.candidates / EVENTS),
      evaluationsPerMatch: round2(full.candidates / Math.max(1, matches)),
      compileMs: Math.round(compileMs),
      buildMs: Math.round(buildMs),
      ...(typeof index.stats === "function" ? { stats: index.stats() } : {}),
    },
    // The match worker's whole path from bytes (TopicFilters.match on packed batches), beside its bound.
    worker: { decodeParseEventsPerSec: rate(EVENTS, decodeParse), eventsPerSec: rate(EVENTS, worker.t), wallPerSec: wallRate(EVENTS, worker.t) },
    naiveMatchesEqual: true,
    node: process.version,
  };
  console.log(JSON.stringify(line));
}
