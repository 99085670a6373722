// A stream whose topics the source cannot list when it is attached (a broker
// outage, a lost metadata lookup) is joined once the source answers again:
// before, the failure was only logged and the stream stayed silent.
import { it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EmbeddedLog } from "../../src/source/embedded/embedded-log.js";
import { Engine } from "../../src/pipeline/engine.js";
import { createLogger } from "../../src/util/log.js";
import type { Source } from "../../src/source/types.js";

const enc = new TextEncoder();

it("retries attaching a stream until the source lists its topics, then delivers its matches", { timeout: 30_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "grep-streams-matcher-"));
  const log = new EmbeddedLog({ path: join(dir, "log.db"), defaultPartitions: 2 });
  // Calls 2-4 of listTopics fail: the stream's head start (call 1) works, attaching it does not, at first.
  let calls = 0;
  let armed = false;
  const flaky = new Proxy(log, {
    get(target, prop, receiver) {
      if (prop === "listTopics") {
        return async () => {
          calls++;
          if (armed && calls >= 2 && calls <= 4) throw new Error(`listTopics failed (call ${calls})`);
          return target.listTopics();
        };
      }
      const v = Reflect.get(target, prop, receiver);
      return typeof v === "function" ? v.bind(target) : v;
    },
  }) as Source;
  const warnings: string[] = [];
  const engine = await Engine.open({
    dataDir: dir,
    source: flaky,
    log: createLogger({}, (line) => void (JSON.parse(line).level === "warn" && warnings.push(JSON.parse(line).msg))),
    heartbeatMs: 60_000,
  });
  const abort = new AbortController();
  t.after(async () => {
    abort.abort();
    await engine.close();
    rmSync(dir, { recursive: true, force: true });
  });
  await log.produce("retry", [{ key: null, value: enc.encode('{"n":0}'), timestamp: 1 }]);

  calls = 0;
  armed = true;
  const sub = await engine.subscribe(engine.compile({ topics: ["retry"], topicRegex: "", keyPrefix: [], keyRegex: "", query: '{"n":{"$gt":0}}', projection: "" }), {
    start: { kind: "latest" },
    window: 0,
  });
  assert.ok(calls >= 5, `listTopics was called ${calls} times`);
  assert.deepEqual(warnings, Array(3).fill("matcher could not attach a stream; retrying"));

  await log.produce("retry", [
    { key: null, value: enc.encode('{"n":1}'), timestamp: 2 },
    { key: null, value: enc.encode('{"n":0}'), timestamp: 3 },
    { key: null, value: enc.encode('{"n":2}'), timestamp: 4 },
  ]);
  const got: number[] = [];
  for await (const item of sub.cursor.items(abort.signal)) {
    if (item.kind !== "event") continue;
    got.push(JSON.parse(new TextDecoder().decode(item.record.value!)).n);
    if (got.length === 2) break;
  }
  sub.close();
  assert.deepEqual(got.sort(), [1, 2]);
});
