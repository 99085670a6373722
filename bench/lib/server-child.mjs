// The server of a benchmark in a child process (forked with an IPC channel),
// so the load generator and the clients never share its event loop. The
// child runs startApp, the same assembly `grep-streams serve` runs, and
// answers the parent's messages:
//   { cmd: "memory" }  -> { memory: {...} } after a full GC (needs --expose-gc, which fork() passes)
//   { cmd: "stats" }   -> { stats: {...} }  subscriptions, streams, delivery counters, event-loop delay since the last stats
//   { cmd: "heap-snapshot", path } -> a .heapsnapshot after a GC
//   { cmd: "profile-start" }, { cmd: "profile-stop", path } -> a .cpuprofile of what happened between them
//   { cmd: "stop" }    -> closes the app and exits (a --cpu-prof profile is written then)
// BENCH_SERVER_DIST=/path/to/other/server/dist runs another build (A/B in one run).
//
//   import { startServerChild } from "./lib/server-child.mjs";
//   const server = await startServerChild({ kafka: "127.0.0.1:29092", nodeArgs: ["--cpu-prof"] });

import { fork } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const self = fileURLToPath(import.meta.url);

if (process.argv[2] === "--child") await runChild(JSON.parse(process.argv[3]));

/**
 * Forks the server. Options: kafka (host:port or undefined), heartbeatMs,
 * nodeArgs (extra flags for the child's node, e.g. --cpu-prof), env, config
 * (ServerConfig fields that override the defaults, e.g. { streamIdleMs }).
 * Resolves once it listens: { url, pid, memory(), stats(), stop() }.
 */
export async function startServerChild(o = {}) {
  const dataDir = mkdtempSync(join(tmpdir(), "grep-streams-bench-"));
  const config = {
    host: "127.0.0.1", port: 0, dataDir, demo: false, partitions: o.partitions ?? 4, retentionMs: 0, retentionBytes: 0,
    heartbeatMs: o.heartbeatMs ?? 10_000, indexBudgetBytes: 1024 ** 3, streamIdleMs: 3_600_000, corsOrigins: ["*"],
    ...(process.env.BENCH_MATCH_WORKERS ? { matchWorkers: Number(process.env.BENCH_MATCH_WORKERS) } : {}),
    kafka: o.kafka ? { brokers: [o.kafka], clientId: "grep-streams-bench", tls: false, sasl: null } : null,
    ...(o.config ?? {}),
  };
  const child = fork(self, ["--child", JSON.stringify(config)], {
    execArgv: ["--expose-gc", ...(o.nodeArgs ?? [])],
    env: { ...process.env, ...(o.env ?? {}) },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  const pending = [];
  let ready;
  const readyP = new Promise((resolve, reject) => {
    ready = resolve;
    void exited.then(({ code, signal }) => reject(new Error(`bench server exited (code ${code}, signal ${signal}) before it was ready`)));
  });
  child.on("message", (m) => {
    if (m.ready) return ready(m.ready);
    pending.shift()?.(m);
  });
  const ask = (cmd, extra = {}) => new Promise((resolve) => {
    pending.push(resolve);
    child.send({ cmd, ...extra });
  });
  const url = await readyP;
  return {
    url,
    pid: child.pid,
    source: config.kafka ? "kafka" : "embedded",
    dataDir,
    memory: async () => (await ask("memory")).memory,
    stats: async () => (await ask("stats")).stats,
    /** CPU profile of the server from now until profileStop(path) (the inspector's sampling profiler). */
    profileStart: () => ask("profile-start"),
    profileStop: (path) => ask("profile-stop", { path }),
    /** A heap snapshot of the server (after a GC), for the Memory tab of Chrome's devtools. */
    heapSnapshot: (path) => ask("heap-snapshot", { path }),
    stop: async () => {
      child.send({ cmd: "stop" });
      const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
      await exited;
      clearTimeout(timer);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

async function runChild(config) {
  // BENCH_SERVER_DIST: another build's server/dist (an A/B comparison in one run of the machine).
  const dist = process.env.BENCH_SERVER_DIST ? pathToFileURL(process.env.BENCH_SERVER_DIST + "/").href : new URL("../../server/dist/", import.meta.url).href;
  const { startApp } = await import(new URL("src/app/app.js", dist).href);
  const { createLogger } = await import(new URL("src/util/log.js", dist).href);
  // Warnings and errors go to stderr: a benchmark that hides them measures nothing.
  const log = createLogger({}, (line) => {
    if (/"level":"(warn|error)"/.test(line)) process.stderr.write(line);
  });
  const app = await startApp(config, log);
  // How late the server's event loop runs callbacks: what every delivery waits on at least.
  const { monitorEventLoopDelay } = await import("node:perf_hooks");
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  const mib = (n) => Math.round((n / 2 ** 20) * 10) / 10;
  let profiler;
  process.on("message", async (m) => {
    if (m.cmd === "memory") {
      // Twice: the first collection may leave what finalizers freed.
      globalThis.gc();
      globalThis.gc();
      const u = process.memoryUsage();
      process.send({ memory: { heapUsed: u.heapUsed, heapTotal: u.heapTotal, rss: u.rss, external: u.external, arrayBuffers: u.arrayBuffers, heap_mib: mib(u.heapUsed), rss_mib: mib(u.rss), external_mib: mib(u.external) } });
    } else if (m.cmd === "stats") {
      const e = app.engine;
      const ms = (ns) => Math.round(ns / 1e4) / 100;
      process.send({
        stats: {
          subscriptions: e.subscriptionCount, streams: e.registry.size, fromTail: e.delivery.fromTail, fromSource: e.delivery.fromSource,
          loop_delay_ms: { p50: ms(loop.percentile(50)), p99: ms(loop.percentile(99)), max: ms(loop.max) },
        },
      });
      loop.reset();
    } else if (m.cmd === "heap-snapshot") {
      globalThis.gc();
      (await import("node:v8")).writeHeapSnapshot(m.path);
      process.send({ ok: true });
    } else if (m.cmd === "profile-start") {
      profiler = new (await import("node:inspector")).Session();
      profiler.connect();
      const post = (method, params) => new Promise((resolve, reject) => profiler.post(method, params, (err, r) => (err ? reject(err) : resolve(r))));
      await post("Profiler.enable");
      await post("Profiler.setSamplingInterval", { interval: 500 });
      await post("Profiler.start");
      profiler.stopTo = async (path) => {
        const { profile } = await post("Profiler.stop");
        (await import("node:fs")).writeFileSync(path, JSON.stringify(profile));
        profiler.disconnect();
      };
      process.send({ ok: true });
    } else if (m.cmd === "profile-stop") {
      await profiler.stopTo(m.path);
      profiler = undefined;
      process.send({ ok: true });
    } else if (m.cmd === "stop") {
      await app.close(1000);
      process.disconnect();
      process.exit(0);
    }
  });
  // The benchmark died without saying "stop" (killed, crashed): so does its server.
  process.on("disconnect", () => process.exit(1));
  process.send({ ready: app.url });
}
