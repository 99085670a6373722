// Every benchmark runs once at a tiny size, so that none rots: a script that
// no longer starts, throws, or prints no JSON fails here. Speed is not
// asserted (that is what the benchmarks themselves are for).
import { it } from "node:test";
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";

const benchDir = fileURLToPath(new URL("../../../../bench/", import.meta.url));
const { BENCHMARKS, runBenchmark } = (await import(new URL("../../../../bench/suite.mjs", import.meta.url).href)) as {
  BENCHMARKS: Record<string, unknown>;
  runBenchmark(name: string, size: "smoke", options?: { env?: Record<string, string> }): Promise<unknown[]>;
};

it("bench/suite.mjs lists every benchmark script", () => {
  const scripts = readdirSync(benchDir).filter((f) => f.endsWith(".mjs") && f !== "suite.mjs" && f !== "workload.mjs").map((f) => f.slice(0, -4));
  assert.deepEqual(Object.keys(BENCHMARKS).sort(), scripts.sort());
});

for (const name of Object.keys(BENCHMARKS)) {
  it(`bench/${name}.mjs runs at a tiny size`, { timeout: 170_000 }, async () => {
    const lines = await runBenchmark(name, "smoke");
    assert.ok(lines.length > 0);
  });
}

it("bench/matcher.mjs compares two builds in one process (BENCH_AB), here this build with itself", { timeout: 170_000 }, async () => {
  const dist = fileURLToPath(new URL("../../", import.meta.url));
  const lines = (await runBenchmark("matcher", "smoke", { env: { BENCH_AB: dist, BENCH_AB_ROUNDS: "3" } })) as Array<Record<string, unknown>>;
  assert.equal(lines.length, 1);
  const line = lines[0]!;
  assert.equal(line.filters, 100);
  assert.equal(typeof line.thisOverOther, "number");
  assert.deepEqual(Object.keys(line.other as object), ["dist", "indexNsPerEvent", "overParse"]);
});
