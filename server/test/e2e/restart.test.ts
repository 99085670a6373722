// Resume after an event ID across a restart of the server on the same data
// directory: the same matches keep the same IDs, nothing is lost or repeated.
import { it } from "node:test";
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { clientFor, sources, startServer, tempDir } from "../helpers/server.js";
import { StreamReader } from "../helpers/stream-reader.js";
import { produce } from "../helpers/produce.js";

for (const source of sources()) {
  it(`resumes exactly after an event ID across a restart (${source})`, async (t) => {
    const dataDir = tempDir();
    const suffix = Math.random().toString(36).slice(2, 10);
    const tp = (name: string) => (source === "kafka" ? `${name}-${suffix}` : name);
    t.after(() => rmSync(dataDir, { recursive: true, force: true }));
    const filter = { topics: [tp("restart")], query: '{"keep":true}' };

    let server = await startServer({ source, dataDir, topicSuffix: suffix });
    let client = clientFor("grpc", server.url);
    const r = new StreamReader((signal) => client.subscribe({ filter }, { signal }));
    await r.started();
    // Spread over all partitions: the order across partitions is the matcher's, IDs must still be stable.
    await produce(client, tp("restart"), Array.from({ length: 20 }, (_, n) => ({ value: { n, keep: n % 3 !== 0 }, key: [`k${n}`] })));
    const before = await r.events(13);
    r.close();
    assert.deepEqual(before.map((e) => Number(e.seq)), Array.from({ length: 13 }, (_, i) => i + 1));
    assert.deepEqual(before.map((e) => JSON.parse(e.valueJson).n).sort((a, b) => a - b), [1, 2, 4, 5, 7, 8, 10, 11, 13, 14, 16, 17, 19]);
    await server.stop();

    server = await startServer({ source, dataDir, topicSuffix: suffix });
    t.after(() => server.stop());
    client = clientFor("grpc", server.url);
    // Everything after the 5th event, then new matches produced after the restart.
    const r2 = new StreamReader((signal) => client.subscribe({ filter, start: { position: { case: "afterEventId", value: before[4]!.id } } }, { signal }));
    await r2.started();
    const resumed = await r2.events(8);
    assert.deepEqual(resumed.map((e) => e.id), before.slice(5).map((e) => e.id));
    assert.deepEqual(resumed.map((e) => e.valueJson), before.slice(5).map((e) => e.valueJson));
    await produce(client, tp("restart"), [{ value: { n: 100, keep: true } }, { value: { n: 101, keep: false } }, { value: { n: 102, keep: true } }]);
    const fresh = await r2.events(2);
    assert.deepEqual(fresh.map((e) => JSON.parse(e.valueJson).n).sort(), [100, 102]);
    assert.deepEqual(fresh.map((e) => Number(e.seq)), [14, 15]);
    r2.close();
  });
}
