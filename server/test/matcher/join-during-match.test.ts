// A stream that joins a partition while a batch of it is in a match worker,
// with its frontier inside that batch: the worker did not test its filter on
// the batch, so the batch must not move its frontier, and the reader must
// scan again from its frontier. Before this was handled, such a stream never
// received a match (the reader had not moved past its frontier yet, so the
// join asked for no rewind, and every later batch started past it).
import { it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { compileFilter } from "../../src/filter/index.js";
import { Matcher } from "../../src/matcher/matcher.js";
import { IndexStore } from "../../src/sequencer/index-store.js";
import { Sequencer } from "../../src/sequencer/sequencer.js";
import { EmbeddedLog } from "../../src/source/embedded/embedded-log.js";
import { createLogger } from "../../src/util/log.js";
import { waitUntil } from "../helpers/deadline.js";

const enc = new TextEncoder();

it("a stream joining while its partition's batch is matched gets every match from its frontier", { timeout: 60_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "grep-streams-join-"));
  process.env.GATED_WORKER_DIR = dir;
  const log = new EmbeddedLog({ path: join(dir, "log.db"), defaultPartitions: 1 });
  const store = new IndexStore(join(dir, "index.db"));
  const got = new Map<string, Array<[number, number]>>();
  const sequencer = new Sequencer(store, (s, _e, matches) => {
    let list = got.get(s.streamId);
    if (!list) got.set(s.streamId, (list = []));
    for (const m of matches) list.push([m.row.seq, m.row.offset]);
  });
  const matcher = new Matcher(log, sequencer, { batchSize: 1000, retryMs: 100, workers: 1, workerUrl: new URL("../helpers/gated-match-worker.js", import.meta.url) }, createLogger({}, () => {}));
  t.after(async () => {
    writeFileSync(join(dir, "open"), "");
    await matcher.close();
    store.close();
    await log.close();
    rmSync(dir, { recursive: true, force: true });
  });
  await log.produce("t", Array.from({ length: 1000 }, (_, i) => ({ key: null, value: enc.encode(JSON.stringify({ n: i })), timestamp: i + 1 })));

  const spec = (query: string) => ({ topics: ["t"], topicRegex: "", keyPrefix: [], keyRegex: "", query, projection: "" });
  const fa = compileFilter(spec('{"n":{"$gte":0}}'));
  const a = { record: store.createStream(fa.streamId, JSON.stringify(fa.spec), new Map([["t:0", 0]]), 1), filter: fa };
  await matcher.attach(a);
  await waitUntil("the first batch reached the worker", () => existsSync(join(dir, "arrived")));

  // Joins with its frontier at 500, inside the batch [0, 1000) the worker holds.
  const fb = compileFilter(spec('{"n":{"$mod":[2,0]}}'));
  const b = { record: store.createStream(fb.streamId, JSON.stringify(fb.spec), new Map([["t:0", 500]]), 1), filter: fb };
  await matcher.attach(b);
  writeFileSync(join(dir, "open"), "");

  await waitUntil("every match of both streams", () => (got.get(fa.streamId)?.length ?? 0) === 1000 && (got.get(fb.streamId)?.length ?? 0) === 250);
  assert.deepEqual(got.get(fa.streamId), Array.from({ length: 1000 }, (_, i) => [i + 1, i]));
  // Exactly the even offsets from 500, numbered densely from 1: none lost, none twice.
  assert.deepEqual(got.get(fb.streamId), Array.from({ length: 250 }, (_, i) => [i + 1, 500 + 2 * i]));
});
