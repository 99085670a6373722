// A backfill that stops moving says so, and on which source read it waits:
// its subscribers only see progress that does not change.
import { it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { compileFilter } from "../../src/filter/index.js";
import type { Matcher } from "../../src/matcher/matcher.js";
import { StreamRegistry } from "../../src/pipeline/streams.js";
import { TailBudget } from "../../src/cursor/live-tail.js";
import { IndexStore } from "../../src/sequencer/index-store.js";
import { Sequencer } from "../../src/sequencer/sequencer.js";
import type { Source } from "../../src/source/types.js";
import { createLogger } from "../../src/util/log.js";
import { waitUntil } from "../helpers/deadline.js";

it("a backfill without progress logs a warning naming the read it waits for", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "grep-streams-stall-"));
  const store = new IndexStore(join(dir, "index.db"));
  t.after(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const f = compileFilter({ topics: ["t"], topicRegex: "", keyPrefix: [], keyRegex: "", query: '{"a":1}', projection: "" });
  const record = store.createStream(f.streamId, JSON.stringify(f.spec), new Map([["t:0", 100]]), 1);
  // An unfinished backfill epoch of [0, 100), resumed by load().
  store.insertEpoch(record.sid, {
    epoch: 1, ord: -1, kind: "backfill", start: new Map([["t:0", 0]]), end: new Map([["t:0", 100]]), lastSeq: 0, complete: false, frontier: new Map([["t:0", 40]]),
  });
  let release: () => void = () => {};
  const source = { read: () => new Promise((resolve) => (release = () => resolve([]))) } as unknown as Source;
  const matcher = { attach: async () => {} } as unknown as Matcher;
  const warnings: Array<Record<string, unknown>> = [];
  const log = createLogger({}, (line) => {
    const rec = JSON.parse(line) as Record<string, unknown>;
    if (rec.level === "warn") warnings.push(rec);
  });
  const registry = new StreamRegistry(store, new Sequencer(store, () => {}), matcher, source, { tailCapacity: 16, tailBudget: new TailBudget(1 << 20), batchSize: 10, now: Date.now, stallCheckMs: 20 }, log);
  await registry.load();
  await waitUntil("a stall warning", () => warnings.length > 0);
  assert.equal(warnings[0]!.msg, "backfill made no progress");
  assert.equal(warnings[0]!.waitingFor, "t/0@40");
  assert.equal(warnings[0]!.scanned, 0);
  assert.equal(warnings[0]!.total, 60);
  release(); // the read returns nothing: the partition is done, the scan completes
  await waitUntil("the scan completed", () => registry.get(f.streamId)!.record.epochs.some((e) => e.kind === "backfill" && e.complete));
});
