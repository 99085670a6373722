import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import Database from "better-sqlite3";
import { EmbeddedLog } from "../../src/source/embedded/embedded-log.js";

const utf8 = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array | null) => (b === null ? null : new TextDecoder().decode(b));

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "grep-streams-embedded-"));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

test("topics, messages, start offsets and timestamps survive reopening the file", async () => {
  const file = path.join(dir, "log.sqlite");
  const clock = { now: 10_000 };
  const first = new EmbeddedLog({ path: file, now: () => clock.now, retentionMs: 0, retentionBytes: 5 });
  first.createTopic("explicit", 2);
  await first.produce("events", [
    { key: utf8("k"), value: utf8("v0"), partition: 1, timestamp: 300, headers: [["h", utf8("x")]] },
    { key: null, value: utf8("v1"), partition: 1, timestamp: 100 },
    { key: null, value: utf8("v2"), partition: 1, timestamp: 200 },
    { key: null, value: utf8("v3"), partition: 1, timestamp: 50 },
  ]);
  // 7 (key 1, value 2, headers 4) + 2 + 2 + 2 = 13 bytes; dropping offsets 0 and 1 leaves 4 <= 5.
  assert.deepEqual(first.applyRetention(), { deletedMessages: 2 });
  await first.close();

  const raw = new Database(file, { readonly: true });
  assert.equal(raw.pragma("journal_mode", { simple: true }), "wal");
  raw.close();

  const second = new EmbeddedLog({ path: file, now: () => clock.now, retentionMs: 0, retentionBytes: 5 });
  assert.deepEqual(
    (await second.listTopics()).map((t) => [t.name, t.partitions.map((p) => `${p.start}-${p.end}`).join(" ")]),
    [
      ["events", "0-0 2-4 0-0 0-0"],
      ["explicit", "0-0 0-0"],
    ],
  );
  const records = await second.read("events", 1, 0, 10);
  assert.deepEqual(
    records.map((r) => [r.offset, r.timestamp, text(r.key), text(r.value), r.headers.length]),
    [
      [2, 200, null, "v2", 0],
      [3, 50, null, "v3", 0],
    ],
  );
  // The running maximum timestamp was kept too: 300 (deleted) still bounds the search.
  assert.equal(await second.offsetForTimestamp("events", 1, 150), 2);
  assert.equal(await second.offsetForTimestamp("events", 1, 201), 4);

  // Appends continue after the last offset, and the byte count was persisted:
  // 4 + 2 = 6 > 5, so exactly one more message goes.
  const [next] = await second.produce("events", [{ key: null, value: utf8("v4"), partition: 1, timestamp: 400 }]);
  assert.deepEqual(next, { partition: 1, offset: 4, timestamp: 400 });
  assert.deepEqual(second.applyRetention(), { deletedMessages: 1 });
  assert.deepEqual((await second.describeTopic("events")).partitions[1], { partition: 1, start: 3, end: 5 });
  assert.equal(await second.offsetForTimestamp("events", 1, 201), 4);
  await second.close();
});

test("close is idempotent and the file can be opened again at once", async () => {
  const file = path.join(dir, "twice.sqlite");
  const log = new EmbeddedLog({ path: file });
  await log.produce("t", [{ key: null, value: null }]);
  await log.close();
  await log.close();
  const again = new EmbeddedLog({ path: file });
  assert.equal((await again.describeTopic("t")).partitions[0]!.end, 1);
  await again.close();
});
