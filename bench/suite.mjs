// Every benchmark, in one place: `npm run bench` runs each at its full size
// (minutes; the figures docs/benchmarks.md reports), `npm run bench:smoke` at
// a tiny size (seconds; CI runs this through server/test/bench so that no
// benchmark rots). Each script prints JSON lines; this prints them prefixed
// with the script's name.
//
//   npm run build && node bench/suite.mjs [full|smoke] [name...]

import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

/** name -> node flags, full-size arguments, tiny arguments (and environment, when it needs one). */
export const BENCHMARKS = {
  matcher: { flags: [], full: ["50000", "1000", "10000", "100000"], smoke: ["300", "100"] },
  predicate: { flags: [], full: [], smoke: ["100", "2", "2"] },
  "match-workers": { flags: [], full: ["100000", "10000", "1", "2"], smoke: ["1000", "50", "1", "2"] },
  pipeline: { flags: [], full: [], smoke: ["2000", "0.1"] },
  backfill: { flags: [], full: ["200000", "50"], smoke: ["2000", "4"] },
  produce: { flags: [], full: ["2000", "1", "5", "25"], smoke: ["20", "1"] },
  "index-commit": { flags: [], full: ["1000", "400", "256"], smoke: ["20", "5", "16"] },
  soak: { flags: [], full: ["1000", "2000", "3600"], smoke: ["20", "200", "6"], env: { BENCH_SAMPLE_S: "2", BENCH_CHURN_S: "1", BENCH_CHURN_SHARE: "0.2", BENCH_IDLE_MS: "500", BENCH_HOUSEKEEPING_MS: "100" } },
  "live-latency": { flags: [], full: ["1000", "5000", "20"], smoke: ["20", "200", "2"] },
  "fanout-memory": { flags: ["--expose-gc"], full: ["50000", "1000", "200"], smoke: ["200", "20", "10"] },
  "stalled-clients": { flags: ["--expose-gc"], full: [], smoke: ["4", "200"] },
  "console-rows": { flags: [], full: [], smoke: ["300"] },
};

/** Runs one benchmark (`env`: variables added to this process's); resolves with its JSON lines, rejects with its stderr. */
export function runBenchmark(name, size, { timeoutMs = 600_000, env = {} } = {}) {
  const b = BENCHMARKS[name];
  if (!b) throw new Error(`unknown benchmark ${name}; known: ${Object.keys(BENCHMARKS).join(", ")}`);
  const script = fileURLToPath(new URL(`./${name}.mjs`, import.meta.url));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...b.flags, script, ...b[size]], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...(b.env ?? {}), ...env } });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      const lines = out.split("\n").filter((l) => l.startsWith("{"));
      if (code !== 0 || lines.length === 0) {
        reject(new Error(`bench/${name}.mjs ${b[size].join(" ")} exited (${code ?? signal}) with ${lines.length} JSON lines; stderr:\n${err.slice(-4000)}`));
        return;
      }
      try {
        resolve(lines.map((l) => JSON.parse(l)));
      } catch (e) {
        reject(new Error(`bench/${name}.mjs printed a line that is not JSON: ${e.message}`));
      }
    });
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const size = process.argv[2] ?? "full";
  if (size !== "full" && size !== "smoke") throw new Error(`expected full or smoke, got ${size}`);
  const names = process.argv.length > 3 ? process.argv.slice(3) : Object.keys(BENCHMARKS);
  for (const name of names) {
    for (const line of await runBenchmark(name, size)) console.log(`${name} ${JSON.stringify(line)}`);
  }
}
