// Streams nobody uses are evicted when the index is over its disk budget; an
// event ID of an evicted stream gets a clear error saying what to do, and a
// new stream for the same filter never reuses its IDs.
import { it } from "node:test";
import assert from "node:assert/strict";
import { Code, ConnectError } from "@connectrpc/connect";
import { clientFor, startServer } from "../helpers/server.js";
import { StreamReader } from "../helpers/stream-reader.js";
import { produce } from "../helpers/produce.js";

it("evicts idle streams above the budget and explains evicted event IDs", async (t) => {
  // A budget of 1 byte: every idle stream is over it. Idle at once (0 ms).
  const server = await startServer({ indexBudgetBytes: 1, streamIdleMs: 0 });
  t.after(() => server.close());
  const client = clientFor("connect", server.url);
  const filter = { topics: ["evict"] };
  const busy = new StreamReader((signal) => client.subscribe({ filter: { topics: ["evict"], query: '{"n":1}' } }, { signal }));
  await busy.started();
  const r = new StreamReader((signal) => client.subscribe({ filter }, { signal }));
  await r.started();
  await produce(client, "evict", [{ value: { n: 1 }, partition: 0 }, { value: { n: 2 }, partition: 0 }]);
  const old = await r.events(2);
  r.close();
  await busy.events(1);

  // The stream with an open subscriber stays; the idle one goes.
  let evicted: string[] = [];
  for (let i = 0; i < 100 && evicted.length === 0; i++) {
    // The subscription ends when the server notices the closed stream: retry until it is idle.
    evicted = await server.app.engine.evictIdleStreams();
    if (evicted.length === 0) await new Promise((res) => setImmediate(res));
  }
  assert.equal(evicted.length, 1);
  busy.close();

  try {
    for await (const _ of client.subscribe({ filter, start: { position: { case: "afterEventId", value: old[0]!.id } } })) assert.fail("expected an error");
    assert.fail("expected an error");
  } catch (err) {
    const e = ConnectError.from(err);
    assert.equal(e.code, Code.NotFound);
    assert.match(e.rawMessage, /was evicted from the index .* subscribe again from a timestamp .* or from earliest/);
  }

  // Subscribing again creates a fresh stream: the same matches get new IDs, never the old ones.
  const again = new StreamReader((signal) => client.subscribe({ filter, start: { position: { case: "earliest", value: true } } }, { signal }));
  await again.started();
  const fresh = await again.events(2);
  assert.deepEqual(fresh.map((e) => JSON.parse(e.valueJson).n), [1, 2]);
  for (const e of fresh) assert.ok(!old.some((o) => o.id === e.id));
  assert.ok(fresh.every((e) => e.epoch > old[0]!.epoch));
  again.close();
});
