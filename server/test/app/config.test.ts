// `grep-streams serve` flags: the memory and housekeeping ones this server's
// bounds depend on, their defaults, environment variables and refusals.
import { it } from "node:test";
import assert from "node:assert/strict";
import { ConfigError, parseServeArgs, type ServerConfig } from "../../src/config.js";
import { defaultTailBudgetBytes } from "../../src/cursor/live-tail.js";

const parse = (argv: string[], env: NodeJS.ProcessEnv = {}) => parseServeArgs(argv, env) as ServerConfig;

it("the tail budget, idle time and housekeeping interval have defaults, flags and environment variables", () => {
  const d = parse([]);
  assert.equal(d.tailBudgetBytes, defaultTailBudgetBytes());
  assert.ok(d.tailBudgetBytes > 0 && d.tailBudgetBytes <= 256 * 1024 ** 2);
  assert.equal(d.streamIdleMs, 3_600_000);
  assert.equal(d.housekeepingMs, 30_000);
  assert.equal(d.maxScans, 4);
  const f = parse(["--tail-budget-bytes", "1048576", "--stream-idle-ms", "0", "--housekeeping-ms", "50", "--max-scans", "1"]);
  assert.deepEqual([f.tailBudgetBytes, f.streamIdleMs, f.housekeepingMs, f.maxScans], [1048576, 0, 50, 1]);
  const e = parse([], { GREP_STREAMS_TAIL_BUDGET_BYTES: "4096", GREP_STREAMS_HOUSEKEEPING_MS: "1000" });
  assert.deepEqual([e.tailBudgetBytes, e.housekeepingMs], [4096, 1000]);
});

it("refuses a housekeeping interval below 10 ms and a negative budget, naming the flag", () => {
  assert.throws(() => parse(["--housekeeping-ms", "0"]), (err: unknown) => err instanceof ConfigError && /--housekeeping-ms: expected an integer >= 10, got "0"/.test(err.message));
  assert.throws(() => parse(["--tail-budget-bytes=-1"]), (err: unknown) => err instanceof ConfigError && /--tail-budget-bytes: expected an integer >= 0/.test(err.message));
});
