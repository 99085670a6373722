// A partition reader reads each announced append once: a batch that reaches
// the end the source announced needs no second, empty read. It still reads
// on while a batch stops short of that end (a full batch, or a source that
// returns less than asked, as a Kafka fetch does at its byte limit), so
// nothing is left unread.
import { it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { compileFilter } from "../../src/filter/index.js";
import { Matcher } from "../../src/matcher/matcher.js";
import { IndexStore } from "../../src/sequencer/index-store.js";
import { Sequencer } from "../../src/sequencer/sequencer.js";
import { EmbeddedLog } from "../../src/source/embedded/embedded-log.js";
import type { Source } from "../../src/source/types.js";
import { createLogger } from "../../src/util/log.js";
import { waitUntil } from "../helpers/deadline.js";

const enc = new TextEncoder();

/** The embedded log, with its reads counted and (optionally) cut short to `cap` records. */
function counted(log: EmbeddedLog, cap = Infinity): { source: Source; reads: number[] } {
  const reads: number[] = [];
  const source = new Proxy(log, {
    get(target, prop, receiver) {
      if (prop === "read") {
        return async (topic: string, partition: number, offset: number, max: number) => {
          const records = await target.read(topic, partition, offset, Math.min(max, cap));
          reads.push(records.length);
          return records;
        };
      }
      const v = Reflect.get(target, prop, receiver) as unknown;
      return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  }) as unknown as Source;
  return { source, reads };
}

async function setup(t: { after(fn: () => Promise<void>): void }, batchSize: number, cap?: number) {
  const dir = mkdtempSync(join(tmpdir(), "grep-streams-reads-"));
  const log = new EmbeddedLog({ path: join(dir, "log.db"), defaultPartitions: 1 });
  const store = new IndexStore(join(dir, "index.db"));
  const got: number[] = [];
  const sequencer = new Sequencer(store, (_s, _e, matches) => {
    for (const m of matches) got.push(m.row.offset);
  });
  const { source, reads } = counted(log, cap);
  const matcher = new Matcher(source, sequencer, { batchSize, retryMs: 100, workers: 1 }, createLogger({}, () => {}));
  t.after(async () => {
    await matcher.close();
    store.close();
    await log.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const append = (from: number, n: number) =>
    log.produce("t", Array.from({ length: n }, (_, i) => ({ key: null, value: enc.encode(JSON.stringify({ n: from + i })), timestamp: from + i + 1 })));
  await append(0, 1);
  const f = compileFilter({ topics: ["t"], topicRegex: "", keyPrefix: [], keyRegex: "", query: '{"n":{"$gte":0}}', projection: "" });
  await matcher.attach({ record: store.createStream(f.streamId, JSON.stringify(f.spec), new Map([["t:0", 0]]), 1), filter: f });
  await waitUntil("the first match", () => got.length === 1);
  // Until a read has come back empty the reader does not know the end: it reads on until one does.
  await waitUntil("the reader at the end", () => reads.at(-1) === 0);
  return { got, reads, append };
}

it("reads each announced append once, with no empty read after it", { timeout: 60_000 }, async (t) => {
  const { got, reads, append } = await setup(t, 500);
  const before = reads.length;
  for (let i = 1; i <= 20; i++) {
    await append(i, 1);
    await waitUntil(`match ${i}`, () => got.length === i + 1);
  }
  assert.deepEqual(got, Array.from({ length: 21 }, (_, i) => i));
  assert.deepEqual(reads.slice(before), new Array(20).fill(1), "one read of one record per append");
});

it("reads on while a batch is full, and stops at the announced end", { timeout: 60_000 }, async (t) => {
  const { got, reads, append } = await setup(t, 10);
  const before = reads.length;
  await append(1, 35);
  await waitUntil("every match", () => got.length === 36);
  assert.deepEqual(got, Array.from({ length: 36 }, (_, i) => i));
  assert.deepEqual(reads.slice(before), [10, 10, 10, 5]);
});

it("reads on while a source returns less than asked, up to the announced end", { timeout: 60_000 }, async (t) => {
  const { got, reads, append } = await setup(t, 500, 3);
  const before = reads.length;
  await append(1, 10);
  await waitUntil("every match", () => got.length === 11);
  assert.deepEqual(got, Array.from({ length: 11 }, (_, i) => i));
  assert.deepEqual(reads.slice(before), [3, 3, 3, 1]);
});
