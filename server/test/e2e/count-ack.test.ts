// Count over history, and the ack window of Subscribe.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { Code, ConnectError } from "@connectrpc/connect";
import type { CountResult } from "@grep-streams/sdk/gen/grepstreams/v1/grep_pb.js";
import { clientFor, sources, startServer, type TestServer } from "../helpers/server.js";
import { StreamReader } from "../helpers/stream-reader.js";
import { produce } from "../helpers/produce.js";

for (const source of sources()) {
  describe(`Count and Ack (${source})`, () => {
    let server: TestServer;
    before(async () => (server = await startServer({ source, heartbeatMs: 50 })));
    const tp = (name: string) => server.topic(name);
    after(() => server.close());

    it("counts matches over a time range with progress, sizes and time buckets", async () => {
      const client = clientFor("connect", server.url);
      const base = Date.parse("2026-05-01T00:00:00Z");
      const messages = Array.from({ length: 300 }, (_, n) => ({ value: { n, kind: n % 3 === 0 ? "a" : "b" }, timestamp: base + n * 1000, key: [`k${n % 7}`] }));
      await produce(client, tp("counted"), [...messages, { raw: "garbage", value: null, timestamp: base + 5_000 }]);
      const progress = [];
      let result: CountResult | undefined;
      for await (const res of client.count({ filter: { topics: [tp("counted")], query: '{"kind":"a"}' }, fromMs: BigInt(base + 30_000), toMs: BigInt(base + 90_000), bucketMs: 10_000n })) {
        if (res.kind.case === "progress") progress.push(res.kind.value);
        if (res.kind.case === "result") result = res.kind.value;
      }
      assert.ok(result);
      // n in [30, 90) with n % 3 == 0: 30, 33, ..., 87 = 20 matches.
      assert.equal(result.matched, 20n);
      assert.deepEqual(result.times.map((t) => [Number(t.startMs) - base, Number(t.count)]), [
        [30_000, 4], [40_000, 3], [50_000, 3], [60_000, 4], [70_000, 3], [80_000, 3],
      ]);
      assert.equal(result.sizes.reduce((n, s) => n + s.count, 0n), 20n);
      assert.equal(result.sizes[0]!.leBytes, 64n);
      assert.equal(result.sizes[0]!.count, 20n);
      assert.ok(progress.length >= 2);
      assert.equal(progress.at(-1)!.fraction, 1);
      assert.equal(progress.at(-1)!.matched, 20n);

      // Over everything: the non-JSON message is scanned and counted as skipped.
      let all: CountResult | undefined;
      for await (const res of client.count({ filter: { topics: [tp("counted")], query: '{"kind":"b"}' } })) if (res.kind.case === "result") all = res.kind.value;
      assert.equal(all!.matched, 200n);
      assert.equal(all!.messagesScanned, 301n);
      assert.equal(all!.skippedNonJson, 1n);
    });

    it("answers a range the index covers from the index, and a repeated count from the cache", async () => {
      const client = clientFor("connect", server.url);
      const base = Date.parse("2026-06-01T00:00:00Z");
      await produce(client, tp("indexed"), Array.from({ length: 120 }, (_, n) => ({ value: { n, hot: n % 4 === 0, pad: "x".repeat(n) }, timestamp: base + n * 1000, key: [`k${n}`] })));
      const filter = { topics: [tp("indexed")], query: '{"hot":true}' };
      const count = async (fromMs = 0n, toMs = 0n) => {
        let result: CountResult | undefined;
        for await (const res of client.count({ filter, fromMs, toMs, bucketMs: 30_000n })) if (res.kind.case === "result") result = res.kind.value;
        return result!;
      };
      const scanned = await count(BigInt(base + 10_000), BigInt(base + 100_000));
      assert.equal(scanned.answeredFrom, "scan");
      assert.equal(scanned.matched, 22n); // n in [10, 100) with n % 4 == 0
      const again = await count(BigInt(base + 10_000), BigInt(base + 100_000));
      assert.equal(again.answeredFrom, "cache");
      assert.deepEqual([again.matched, again.matchedBytes, again.times, again.sizes], [scanned.matched, scanned.matchedBytes, scanned.times, scanned.sizes]);

      // A subscriber from earliest makes the stream's index cover all history.
      const r = new StreamReader((signal) => client.subscribe({ filter, start: { position: { case: "earliest", value: true } } }, { signal }));
      const { streamId } = await r.started();
      await r.events(30);
      r.close();
      // The backfill's last commit (marking it complete) may come after the batch with the last match.
      const epochs = () => server.app.engine.registry.get(streamId)!.record.epochs;
      while (!epochs().every((e) => e.kind === "head" || e.complete)) await new Promise((res) => setImmediate(res));
      const fromIndex = await count(BigInt(base + 10_000), BigInt(base + 99_500));
      assert.equal(fromIndex.answeredFrom, "index");
      assert.equal(fromIndex.messagesScanned, 0n);
      const rescanned = await count(BigInt(base + 10_000), BigInt(base + 99_500));
      assert.equal(rescanned.answeredFrom, "cache");
      assert.deepEqual([fromIndex.matched, fromIndex.matchedBytes, fromIndex.times, fromIndex.sizes], [scanned.matched, scanned.matchedBytes, scanned.times, scanned.sizes]);
      const all = await count();
      assert.equal(all.answeredFrom, "index");
      assert.equal(all.matched, 30n);
    });

    it("with a window of N, at most N events are unacknowledged; acks are cumulative", async () => {
      const client = clientFor("connect", server.url);
      const r = new StreamReader((signal) => client.subscribe({ filter: { topics: [tp("flow")] }, window: 2 }, { signal }));
      const started = await r.started();
      await produce(client, tp("flow"), [1, 2, 3, 4, 5].map((n) => ({ value: { n }, partition: 0 })));
      const [e1, e2] = await r.events(2);
      // The window is full: the server sends heartbeats, not events.
      const hb = await r.next("event", "heartbeat");
      assert.equal(hb.kind.case, "heartbeat");
      assert.equal((await client.ack({ subscriptionId: started.subscriptionId, eventId: e1!.id })).unacked, 1);
      const [e3] = await r.events(1);
      assert.equal(JSON.parse(e3!.valueJson).n, 3);
      assert.equal((await r.next("event", "heartbeat")).kind.case, "heartbeat");
      // Cumulative: acking e3 acknowledges e2 too.
      assert.equal((await client.ack({ subscriptionId: started.subscriptionId, eventId: e3!.id })).unacked, 0);
      assert.deepEqual((await r.events(2)).map((e) => JSON.parse(e.valueJson).n), [4, 5]);
      // An ack for an event not delivered yet, or of an unknown subscription, is refused.
      await assert.rejects(client.ack({ subscriptionId: "nope", eventId: e1!.id }), (err) => ConnectError.from(err).code === Code.NotFound);
      void e2;
      r.close();
    });
  });
}
