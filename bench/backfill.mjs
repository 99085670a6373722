// Backfill scans of history, side by side in one run: N streams resuming at
// once over the same unwatched range (a burst of reconnects after a blip or
// a restart; the soak's resumes), each with its own tenant filter.
//
//   baseline:  each epoch scanned alone, every value parsed (how backfills ran before
//              the literal prefilter and shared scans: valueLiterals off)
//   prefilter: each epoch scanned alone, parsing only values with the tenant's literal
//   shared:    all epochs on one shared scan (and the prefilter): the range read once
// beside the floor of reading the range once, and reading + JSON.parse of every value
// once (what one `kcat | jq`-style pass costs). Every variant must find the same
// matches for every stream (checked; exit 1 otherwise).
//
//   npm run build && node bench/backfill.mjs [messages=200000] [streams=50] [filterShape=tenant]
//   BENCH_KAFKA=127.0.0.1:19092 node bench/backfill.mjs ...   (the range on Kafka)
// filterShape: tenant ({"tenant":"t-<i>"}), tenantLevel ({"tenant":..., "level":{"$in":["warn","error"]}}),
// status ({"status":{"$gte":500},"latency_ms":{"$gt":<i>}}: no literal, every value parsed).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { generateEvents } from "./workload.mjs";

const N = Number(process.argv[2] ?? 200_000);
const STREAMS = Number(process.argv[3] ?? 50);
const SHAPE = process.argv[4] ?? "tenant";
const KAFKA = process.env.BENCH_KAFKA || undefined;
const PARTITIONS = 4;
const BATCH = 500; // the server's default batch size

const dist = new URL("../server/dist/src/", import.meta.url);
const load = (p) => import(new URL(p, dist).href);
const { EmbeddedLog } = await load("source/embedded/embedded-log.js");
const { KafkaSource } = await load("source/kafka/index.js");
const { IndexStore } = await load("sequencer/index-store.js");
const { Sequencer } = await load("sequencer/sequencer.js");
const { partitionKey } = await load("sequencer/types.js");
const { compileFilter } = await load("filter/index.js");
const { runBackfill } = await load("matcher/backfill.js");
const { BackfillScans } = await load("matcher/backfill-scans.js");
const { createLogger } = await load("util/log.js");

const dir = mkdtempSync(join(tmpdir(), "grep-streams-bench-backfill-"));
const topic = `bench-backfill-${process.pid}-${Date.now()}`;
const source = KAFKA
  ? new KafkaSource({ brokers: [KAFKA], defaultPartitions: PARTITIONS, log: createLogger({}, () => {}) })
  : new EmbeddedLog({ path: join(dir, "log.db"), defaultPartitions: PARTITIONS });
const enc = new TextEncoder();

try {
  // The range: N workload events, in batches.
  const events = generateEvents(N, 7);
  const t0 = Date.now() - N;
  for (let i = 0; i < N; i += 1000) {
    await source.produce(topic, events.slice(i, i + 1000).map((e, j) => ({ partition: (i + j) % PARTITIONS, timestamp: t0 + i + j, key: null, value: enc.encode(JSON.stringify(e)) })));
  }
  const meta = await source.describeTopic(topic);
  const end = new Map(meta.partitions.map((p) => [partitionKey(topic, p.partition), p.end]));
  const start = new Map(meta.partitions.map((p) => [partitionKey(topic, p.partition), p.start]));
  const bytes = events.reduce((n, e) => n + JSON.stringify(e).length, 0);

  const queries = Array.from({ length: STREAMS }, (_, i) => {
    if (SHAPE === "tenantLevel") return { tenant: `t-${i}`, level: { $in: ["warn", "error"] } };
    if (SHAPE === "status") return { status: { $gte: 500 }, latency_ms: { $gt: 900 + i } };
    return { tenant: `t-${i}` };
  });
  const filters = queries.map((q) => compileFilter({ topics: [topic], topicRegex: "", keyPrefix: [], keyRegex: "", query: JSON.stringify(q), projection: "" }));

  const cpu = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  const timed = async (fn) => {
    const w = performance.now();
    const c = cpu();
    const out = await fn();
    return { wallMs: Math.round(performance.now() - w), cpuMs: Math.round(cpu() - c), out };
  };

  // Floors: the range read once; read and parsed once.
  const readAll = async (each) => {
    let n = 0;
    for (const p of meta.partitions) {
      for (let o = p.start; o < p.end; ) {
        const rs = await source.read(topic, p.partition, o, BATCH);
        if (rs.length === 0) break;
        for (const r of rs) each(r);
        n += rs.length;
        o = rs[rs.length - 1].offset + 1;
      }
    }
    return n;
  };
  const decoder = new TextDecoder();
  const read = await timed(() => readAll(() => {}));
  const parse = await timed(() => readAll((r) => JSON.parse(decoder.decode(r.value))));

  /** Fresh streams with one backfill epoch each over the whole range, in a fresh index. */
  const setup = (variant) => {
    const store = new IndexStore(join(dir, `index-${variant}.db`));
    const sequencer = new Sequencer(store, () => {});
    const streams = filters.map((f, i) => {
      const record = store.createStream(`${variant}-${i}`.padStart(16, "0"), "{}", new Map(end), 0);
      const epoch = { epoch: 1, ord: -1, kind: "backfill", start: new Map(start), end: new Map(end), lastSeq: 0, complete: false, frontier: new Map(start) };
      store.insertEpoch(record.sid, epoch);
      record.epochs.unshift(epoch);
      return { record, epoch, filter: f };
    });
    const counts = () => streams.map((s) => s.epoch.lastSeq);
    return { store, sequencer, streams, counts };
  };
  const progress = () => ({ scanned: 0, total: 0, matched: 0, startedAt: Date.now(), waitingFor: "" });
  // (Each stream has its own signal in the server.)
  const signal = () => new AbortController().signal;

  const variants = {
    baseline: async ({ sequencer, streams }) => {
      for (const s of streams) await runBackfill(source, sequencer, { record: s.record, filter: { ...s.filter, valueLiterals: null } }, s.epoch, { batchSize: BATCH, signal: signal(), progress: progress() });
    },
    prefilter: async ({ sequencer, streams }) => {
      for (const s of streams) await runBackfill(source, sequencer, { record: s.record, filter: s.filter }, s.epoch, { batchSize: BATCH, signal: signal(), progress: progress() });
    },
    shared: async ({ sequencer, streams }) => {
      const scans = new BackfillScans(source, sequencer, { batchSize: BATCH, maxScans: 4 });
      await Promise.all(streams.map((s) => scans.scan({ stream: { record: s.record, filter: s.filter }, epoch: s.epoch, signal: signal(), progress: progress() })));
    },
  };
  const result = {
    bench: "backfill", source: KAFKA ? "kafka" : "embedded", messages: N, streams: STREAMS, shape: SHAPE, valueBytes: Math.round(bytes / N),
    readOnceMs: read.wallMs, readAndParseOnceMs: parse.wallMs,
  };
  let expected;
  // BENCH_ONLY=shared,prefilter: only those (for a profile).
  const only = process.env.BENCH_ONLY?.split(",");
  for (const [name, run] of Object.entries(variants)) {
    if (only && !only.includes(name)) continue;
    const s = setup(name);
    const t = await timed(() => run(s));
    const counts = s.counts();
    s.store.close();
    if (expected === undefined) expected = counts;
    else if (JSON.stringify(counts) !== JSON.stringify(expected)) {
      console.error(`${name} found other matches than the baseline: ${counts} vs ${expected}`);
      process.exit(1);
    }
    result[`${name}WallMs`] = t.wallMs;
    result[`${name}CpuMs`] = t.cpuMs;
    result[`${name}MsgPerS`] = Math.round((N * STREAMS) / (t.wallMs / 1000));
  }
  result.matchesPerStream = Math.round(expected.reduce((a, b) => a + b, 0) / STREAMS);
  result.sharedOverBaseline = +(result.baselineWallMs / result.sharedWallMs).toFixed(1);
  result.prefilterOverBaseline = +(result.baselineWallMs / result.prefilterWallMs).toFixed(1);
  console.log(JSON.stringify(result));
} finally {
  await source.close?.();
  rmSync(dir, { recursive: true, force: true });
}
