// The index's write path: group commits of the live head through the real
// Sequencer and IndexStore, on disk (WAL, synchronous=FULL), for many
// streams at once, as the matcher makes them when a topic is followed by
// thousands of distinct filters.
//
//   npm run build && node bench/index-commit.mjs [streams=1000] [commits=400] [matches per commit=256]
//
// Each commit is 4 partition batches (every stream a member of each, as on a
// topic of 4 partitions) whose matches fall on streams with a skew (a few
// streams match often, most rarely). Prints one line of JSON:
// - floor: one transaction writing one small row, the cost of a commit
//   itself (its fsync) on this disk;
// - index: per commit wall and CPU time (mean, p50, p99, max: a commit
//   blocks the event loop that long) and CPU microseconds per match, seals
//   and close included.
// GREP_STREAMS_DIST=<dir> runs another build's server/dist (an older
// commit's, to compare before and after in one session).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import Database from "better-sqlite3";

const STREAMS = Number(process.argv[2] ?? 1000);
const COMMITS = Number(process.argv[3] ?? 400);
const PER_COMMIT = Number(process.argv[4] ?? 256);
const PARTITIONS = 4;

const dist = process.env.GREP_STREAMS_DIST ? pathToFileURL(process.env.GREP_STREAMS_DIST + "/").href : new URL("../server/dist/", import.meta.url).href;
const { IndexStore } = await import(new URL("src/sequencer/index-store.js", dist).href);
const { Sequencer } = await import(new URL("src/sequencer/sequencer.js", dist).href);

const dir = mkdtempSync(join(tmpdir(), "grep-streams-bench-index-"));
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const stats = (xs) => {
  const a = Float64Array.from(xs).sort();
  const at = (p) => Math.round(a[Math.min(a.length - 1, Math.floor(p * a.length))] * 1000) / 1000;
  return { mean: Math.round((xs.reduce((s, x) => s + x, 0) / xs.length) * 1000) / 1000, p50: at(0.5), p99: at(0.99), max: at(1) };
};

try {
  // The floor: a transaction of one small row, as configured as the index.
  const floorDb = new Database(join(dir, "floor.db"));
  floorDb.pragma("journal_mode = WAL");
  floorDb.pragma("synchronous = FULL");
  floorDb.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)");
  const ins = floorDb.prepare("INSERT INTO t (v) VALUES (?)");
  const one = floorDb.transaction(() => ins.run(Buffer.alloc(64)));
  const floorWall = [];
  const floorCpu0 = cpuMs();
  for (let i = 0; i < COMMITS; i++) {
    const t = performance.now();
    one();
    floorWall.push(performance.now() - t);
  }
  const floorCpu = (cpuMs() - floorCpu0) / COMMITS;
  floorDb.close();

  const store = new IndexStore(join(dir, "index.db"));
  const seq = new Sequencer(store, () => {});
  const streams = Array.from({ length: STREAMS }, (_, i) => store.createStream(i.toString(16).padStart(16, "0"), "{}", new Map(Array.from({ length: PARTITIONS }, (_, p) => [`t:${p}`, 0])), 1));
  let seed = 42;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const offsets = new Array(PARTITIONS).fill(0);
  const wall = [];
  const cpu = [];
  let matches = 0;
  const cpu0 = cpuMs();
  const t0 = performance.now();
  for (let c = 0; c < COMMITS; c++) {
    const batches = [];
    for (let p = 0; p < PARTITIONS; p++) {
      const byStream = new Map();
      const n = Math.round(PER_COMMIT / PARTITIONS);
      for (let i = 0; i < n; i++) {
        const s = streams[Math.floor(rand() ** 3 * STREAMS)];
        let list = byStream.get(s);
        if (!list) byStream.set(s, (list = []));
        list.push({ topic: "t", partition: p, offset: offsets[p]++, timestamp: Date.now(), key: null, value: new Uint8Array(300), headers: [] });
      }
      matches += n;
      batches.push({ pk: `t:${p}`, next: offsets[p], byStream });
    }
    const w = performance.now();
    const u = cpuMs();
    const done = Promise.all(batches.map((b) => seq.commitHead(b.pk, b.next, streams, b.byStream)));
    // The group commit runs at setImmediate: time it from here to its promise.
    await done;
    cpu.push(cpuMs() - u);
    wall.push(performance.now() - w);
    if (typeof store.sealAged === "function") while (store.sealAged()) {}
  }
  seq.checkpoint();
  store.close();
  const totalCpu = cpuMs() - cpu0;
  console.log(JSON.stringify({
    build: process.env.GREP_STREAMS_DIST ?? "this",
    streams: STREAMS,
    commits: COMMITS,
    matchesPerCommit: PER_COMMIT,
    floor: { wallMs: stats(floorWall), cpuMs: Math.round(floorCpu * 1000) / 1000 },
    index: {
      commitWallMs: stats(wall),
      commitCpuMs: stats(cpu),
      cpuUsPerMatch: Math.round((totalCpu * 1000 * 10) / matches) / 10,
      matchesPerSec: Math.round(matches / ((performance.now() - t0) / 1000)),
    },
  }));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
