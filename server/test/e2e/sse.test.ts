// The SSE shim: the wire format curl and EventSource see, Last-Event-ID
// resume, heartbeats, and 400 for a bad filter.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { clientFor, sources, startServer, type TestServer } from "../helpers/server.js";
import { openSse } from "../helpers/sse.js";
import { produce } from "../helpers/produce.js";

for (const source of sources()) {
  describe(`SSE /v1/subscribe (${source})`, () => {
    let server: TestServer;
    before(async () => (server = await startServer({ source, heartbeatMs: 100 })));
    const tp = (name: string) => server.topic(name);
    after(() => server.close());

    const url = (params: Record<string, string | string[]>) => {
      const u = new URL("/v1/subscribe", server.url);
      for (const [k, v] of Object.entries(params)) for (const x of [v].flat()) u.searchParams.append(k, x);
      return u.toString();
    };

    it("streams matches as event: match with the event ID, and resumes with Last-Event-ID", async () => {
      const client = clientFor("connect", server.url);
      const params = { topic: tp("web"), key: "tenant-1,*", q: '{"level":"error"}' };
      const s = await openSse(url(params));
      assert.equal(s.status, 200);
      assert.match(String(s.headers["content-type"]), /^text\/event-stream/);
      const started = JSON.parse((await s.nextEvent("started")).data);
      assert.match(started.stream_id, /^[0-9a-f]{16}$/);
      await produce(client, tp("web"), [
        { key: ["tenant-1", "u1"], value: { level: "error", n: 1 }, partition: 0 },
        { key: ["tenant-2", "u1"], value: { level: "error", n: 2 }, partition: 0 },
        { key: ["tenant-1", "u2"], value: { level: "info", n: 3 }, partition: 0 },
        { key: ["tenant-1", "u3"], value: { level: "error", n: 4 }, partition: 0 },
        { key: ["tenant-1"], value: { level: "error", n: 5 }, partition: 0 },
        { key: ["tenant-1", "u4", "x"], value: { level: "error", n: 6 }, partition: 0 },
      ]);
      const m1 = await s.nextEvent("match");
      const m2 = await s.nextEvent("match");
      const m3 = await s.nextEvent("match");
      const d1 = JSON.parse(m1.data);
      assert.deepEqual(Object.keys(d1), ["id", "topic", "partition", "offset", "timestamp", "key", "value"]);
      assert.equal(d1.id, m1.id);
      assert.deepEqual([d1.topic, d1.partition, d1.offset, d1.key, d1.value], [tp("web"), 0, 0, ["tenant-1", "u1"], { level: "error", n: 1 }]);
      assert.deepEqual([m2, m3].map((m) => JSON.parse(m.data).value.n), [4, 6]);
      // Heartbeats are comments, sent while idle; one after the last match
      // names it as the head (one sent before it may show a lag).
      const seen = s.comments.length;
      while (s.comments.length === seen) await new Promise((r) => setImmediate(r));
      assert.match(s.comments[seen]!, /^heartbeat head=\S+ lag=0$/);
      s.close();

      // Reconnect as EventSource does: Last-Event-ID header.
      const again = await openSse(url(params), { "last-event-id": m1.id! });
      await again.nextEvent("started");
      assert.deepEqual([(await again.nextEvent("match")).id, (await again.nextEvent("match")).id], [m2.id, m3.id]);
      again.close();
      // Or the last_event_id parameter.
      const byParam = await openSse(url({ ...params, last_event_id: m2.id! }));
      assert.equal((await byParam.nextEvent("match")).id, m3.id);
      byParam.close();
    });

    it("from=earliest and from=<RFC 3339 time>", async () => {
      const client = clientFor("connect", server.url);
      const base = Date.parse("2026-03-01T12:00:00Z");
      await produce(client, tp("web-hist"), [0, 1, 2].map((n) => ({ value: { n }, timestamp: base + n * 1000, partition: 0 })));
      const all = await openSse(url({ topic: tp("web-hist"), from: "earliest" }));
      assert.deepEqual([0, 1, 2].length, 3);
      const got = [];
      for (let i = 0; i < 3; i++) got.push(JSON.parse((await all.nextEvent("match")).data).value.n);
      assert.deepEqual(got, [0, 1, 2]);
      all.close();
      const later = await openSse(url({ topic: tp("web-hist"), from: "2026-03-01T12:00:01Z" }));
      assert.equal(JSON.parse((await later.nextEvent("match")).data).value.n, 1);
      later.close();
    });

    it("answers 400 with the reason for a bad filter or start", async () => {
      let s = await openSse(url({ topic: tp("web"), q: '{"$where":"1"}' }));
      assert.equal(s.status, 400);
      assert.match(s.body, /\$where/);
      s = await openSse(url({ topic: tp("web"), from: "yesterday" }));
      assert.equal(s.status, 400);
      assert.match(s.body, /from: expected "earliest", "latest" or an RFC 3339 time/);
      s = await openSse(url({ topic: tp("web") }), { "last-event-id": "garbage" });
      assert.equal(s.status, 400);
      assert.match(s.body, /malformed event ID/);
    });
  });
}
