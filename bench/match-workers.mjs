// Matching on every core: the match workers' throughput with 1 and with 2
// workers (and the same work inline on the main thread, the one-core bound),
// and the main thread's event-loop delay while they run flat out.
//
//   npm run build && node bench/match-workers.mjs [events] [filters] [workers...]
//
// Two measurements per worker count:
// - "pool": the main thread only packs batches of 500 records (the bytes a
//   source read returned) and posts them, one batch in flight per partition
//   (8 partitions); the workers parse and match. The matching throughput.
// - "catchUp": the real matcher (embedded log, partition readers, the
//   sequencer's SQLite commits) catching up a backlog of the same events in
//   4 partitions for the same filters, one stream each: what the main
//   thread's reading and committing leave of it, and the main thread's
//   event-loop delay meanwhile.
// Prints one line of JSON.

import { performance, monitorEventLoopDelay } from "node:perf_hooks";
import { MatchPool } from "../server/dist/src/matcher/match-pool.js";
import { PackedBatch, packBatch } from "../server/dist/src/matcher/match-batch.js";
import { TopicFilters } from "../server/dist/src/matcher/topic-filters.js";
import { createLogger } from "../server/dist/src/util/log.js";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { compileFilter } from "../server/dist/src/filter/index.js";
import { Matcher } from "../server/dist/src/matcher/matcher.js";
import { IndexStore } from "../server/dist/src/sequencer/index-store.js";
import { Sequencer } from "../server/dist/src/sequencer/sequencer.js";
import { EmbeddedLog } from "../server/dist/src/source/embedded/embedded-log.js";
import { generateEvents, generateFilters } from "./workload.mjs";

const EVENTS = Number(process.argv[2] ?? 100_000);
const FILTERS = Number(process.argv[3] ?? 10_000);
const WORKERS = process.argv.length > 4 ? process.argv.slice(4).map(Number) : [1, 2];
const BATCH = 500;
const PARTITIONS = 8;
const TOPIC = "events";

const enc = new TextEncoder();
// One per stream id: the catch-up makes a stream of each, and equal filters are one stream.
const specs = [...new Map(generateFilters(FILTERS, 7).map((query) => {
  const spec = { topics: [TOPIC], topicRegex: "", keyPrefix: [], keyRegex: "", query: JSON.stringify(query), projection: "" };
  return [compileFilter(spec).streamId, spec];
})).values()];
const records = generateEvents(EVENTS, 11).map((e, i) => ({
  topic: TOPIC, partition: i % PARTITIONS, offset: i, timestamp: 0, key: null, value: enc.encode(JSON.stringify(e)), headers: [],
}));
const batches = [];
for (let i = 0; i < records.length; i += BATCH) batches.push(records.slice(i, i + BATCH));
const parts = { keys: false, values: true };

function inline() {
  const t = new TopicFilters();
  specs.forEach((s, i) => t.add(i + 1, s));
  let matches = 0;
  const t0 = performance.now();
  for (const b of batches) matches += t.match(new PackedBatch(packBatch(b, parts), b.length)).pairs.length / 2;
  return { ms: performance.now() - t0, matches };
}

async function pooled(workers) {
  const pool = new MatchPool(workers, createLogger({}, (line) => process.stderr.write(`${line}\n`)));
  specs.forEach((s, i) => pool.add(TOPIC, i + 1, s));
  // Warm up: the workers compile the filters and JIT the matching.
  await Promise.all(Array.from({ length: workers }, (_, w) => pool.match(w, TOPIC, batches[0], parts)));
  const lanes = Array.from({ length: PARTITIONS }, () => pool.acquire());
  const delay = monitorEventLoopDelay({ resolution: 1 });
  let next = 0;
  let matches = 0;
  const t0 = performance.now();
  delay.enable();
  await Promise.all(
    lanes.map(async (w) => {
      while (next < batches.length) {
        const b = batches[next++];
        const r = await pool.match(w, TOPIC, b, parts); // not `matches += await ...`: that reads matches before the await
        matches += r.pairs.length / 2;
      }
    }),
  );
  const ms = performance.now() - t0;
  delay.disable();
  await pool.close();
  return { ms, matches, loopDelayP99Ms: +(delay.percentile(99) / 1e6).toFixed(1), loopDelayMaxMs: +(delay.max / 1e6).toFixed(1) };
}

/** The matcher catching up EVENTS records of 4 partitions for every filter. */
async function catchUp(workers) {
  const dir = mkdtempSync(join(tmpdir(), "grep-streams-bench-workers-"));
  const log = new EmbeddedLog({ path: join(dir, "log.db"), defaultPartitions: 4 });
  for (let i = 0; i < records.length; i += 5000) {
    await log.produce(TOPIC, records.slice(i, i + 5000).map((r, j) => ({ key: null, value: r.value, timestamp: i + j, partition: (i + j) % 4 })));
  }
  const store = new IndexStore(join(dir, "index.db"));
  let matches = 0;
  const sequencer = new Sequencer(store, (_s, _e, m) => (matches += m.length));
  const quiet = createLogger({}, (line) => process.stderr.write(`${line}\n`));
  const matcher = new Matcher(log, sequencer, { batchSize: 500, retryMs: 100, workers }, quiet);
  const streams = specs.map((spec) => {
    const filter = compileFilter(spec);
    return { record: store.createStream(filter.streamId, JSON.stringify(filter.spec), new Map(), 1), filter };
  });
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  const t0 = performance.now();
  for (const s of streams) void matcher.attach(s);
  await new Promise((resolve) => {
    const check = setInterval(() => {
      const pos = matcher.positions();
      if (pos.size === 4 && [...pos.values()].reduce((a, b) => a + b, 0) >= EVENTS) resolve(clearInterval(check));
    }, 2);
  });
  const ms = performance.now() - t0;
  delay.disable();
  await matcher.close();
  store.close();
  await log.close();
  rmSync(dir, { recursive: true, force: true });
  return { ms, matches, loopDelayP99Ms: +(delay.percentile(99) / 1e6).toFixed(1), loopDelayMaxMs: +(delay.max / 1e6).toFixed(1) };
}

const perSec = (ms) => Math.round((EVENTS / ms) * 1000);
const base = inline();
const out = { events: EVENTS, filters: specs.length, matchesPerEvent: +(base.matches / EVENTS).toFixed(2), inline: { eventsPerSec: perSec(base.ms) } };
let first;
let firstCatchUp;
for (const w of WORKERS) {
  const r = await pooled(w);
  if (r.matches !== base.matches) throw new Error(`${w} workers found ${r.matches} matches, inline ${base.matches}`);
  first ??= r.ms;
  const c = await catchUp(w);
  if (c.matches !== base.matches) throw new Error(`the matcher with ${w} workers committed ${c.matches} matches, inline ${base.matches}`);
  firstCatchUp ??= c.ms;
  out[`workers${w}`] = {
    pool: { eventsPerSec: perSec(r.ms), vsFirst: +(first / r.ms).toFixed(2), loopDelayP99Ms: r.loopDelayP99Ms, loopDelayMaxMs: r.loopDelayMaxMs },
    catchUp: { eventsPerSec: perSec(c.ms), vsFirst: +(firstCatchUp / c.ms).toFixed(2), loopDelayP99Ms: c.loopDelayP99Ms, loopDelayMaxMs: c.loopDelayMaxMs },
  };
}
out.node = process.version;
console.log(JSON.stringify(out));
