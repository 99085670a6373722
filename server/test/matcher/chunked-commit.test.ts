// A batch that matches more than one commit should hold (a catch-up over
// many streams) is committed in chunks of whole records, each with its
// frontier, so that no commit stalls the event loop; numbering and order are
// exactly those of one commit.
import { it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { compileFilter } from "../../src/filter/index.js";
import { Matcher } from "../../src/matcher/matcher.js";
import { IndexStore } from "../../src/sequencer/index-store.js";
import { MAX_GROUP_MATCHES, Sequencer } from "../../src/sequencer/sequencer.js";
import { headEpoch } from "../../src/sequencer/types.js";
import { EmbeddedLog } from "../../src/source/embedded/embedded-log.js";
import { createLogger } from "../../src/util/log.js";
import { waitUntil } from "../helpers/deadline.js";

const enc = new TextEncoder();

it("a batch with more matches than a commit holds is committed in chunks, numbered as one", { timeout: 60_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "grep-streams-chunks-"));
  const log = new EmbeddedLog({ path: join(dir, "log.db"), defaultPartitions: 1 });
  const store = new IndexStore(join(dir, "index.db"));
  const commits: number[] = [];
  const got: Array<[number, number]> = [];
  const sequencer = new Sequencer(store, (_s, _e, matches) => {
    commits.push(matches.length);
    for (const m of matches) got.push([m.row.seq, m.row.offset]);
  });
  const matcher = new Matcher(log, sequencer, { batchSize: 2000, retryMs: 100, workers: 1 }, createLogger({}, () => {}));
  t.after(async () => {
    await matcher.close();
    store.close();
    await log.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const n = 3 * MAX_GROUP_MATCHES + 100;
  await log.produce("t", Array.from({ length: n }, (_, i) => ({ key: null, value: enc.encode(JSON.stringify({ n: i })), timestamp: i + 1 })));
  const spec = { topics: ["t"], topicRegex: "", keyPrefix: [], keyRegex: "", query: '{"n":{"$gte":0}}', projection: "" };
  const f = compileFilter(spec);
  const s = { record: store.createStream(f.streamId, JSON.stringify(f.spec), new Map([["t:0", 0]]), 1), filter: f };
  await matcher.attach(s);
  await waitUntil("every match", () => got.length === n);
  assert.deepEqual(got, Array.from({ length: n }, (_, i) => [i + 1, i]));
  // One read of the whole batch, committed in chunks of at most MAX_GROUP_MATCHES.
  assert.ok(commits.length >= 4, `commits: ${JSON.stringify(commits)}`);
  assert.ok(commits.every((c) => c <= MAX_GROUP_MATCHES), `commits: ${JSON.stringify(commits)}`);
  // Each chunk committed its own frontier with its matches.
  const [saved] = store.loadStreams();
  assert.deepEqual([headEpoch(saved!).lastSeq, headEpoch(saved!).frontier.get("t:0")], [n, n]);
});
