// End to end, through a real server over real HTTP: exact event sequences and
// IDs over each transport, shared streams, start positions and bad input.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { Code, ConnectError } from "@connectrpc/connect";
import { clientFor, sources, startServer, type TestServer, type TransportName } from "../helpers/server.js";
import { StreamReader } from "../helpers/stream-reader.js";
import { produce } from "../helpers/produce.js";

const transports: TransportName[] = ["connect", "grpc", "grpc-web"];

for (const source of sources()) {
  for (const transport of transports) {
    describe(`Subscribe over ${transport} (${source})`, () => {
      let server: TestServer;
      before(async () => (server = await startServer({ source })));
      const tp = (name: string) => server.topic(name);
      after(() => server.close());

      it("delivers exactly the matching events, in order, with dense seqs and stable IDs", async () => {
        const client = clientFor(transport, server.url);
        const filter = { topics: [tp("orders")], query: JSON.stringify({ amount: { $gt: 100 } }) };
        const r = new StreamReader((signal) => client.subscribe({ filter }, { signal }));
        const started = await r.started();
        assert.match(started.streamId, /^[0-9a-f]{16}$/);
        assert.deepEqual(started.warnings, [`topic "${tp("orders")}" does not exist yet; its events flow once it is created`]);
        const amounts = [50, 150, 99, 101, 500, 100, 1000];
        await produce(client, tp("orders"), amounts.map((amount, i) => ({ value: { amount, i }, key: ["t1", `u${i}`], partition: 0 })));
        const events = await r.events(4);
        assert.deepEqual(events.map((e) => JSON.parse(e.valueJson).amount), [150, 101, 500, 1000]);
        assert.deepEqual(events.map((e) => Number(e.seq)), [1, 2, 3, 4]);
        assert.deepEqual(events.map((e) => Number(e.offset)), [1, 3, 4, 6]);
        assert.deepEqual(events.map((e) => e.partition), [0, 0, 0, 0]);
        assert.deepEqual(events[0]!.key, ["t1", "u1"]);
        assert.equal(events[0]!.topic, tp("orders"));
        assert.equal(new Set(events.map((e) => e.id)).size, 4);
        r.close();

        // A second subscriber of an equal filter (other key order, duplicate topic) shares the stream and its IDs.
        const same = { topics: [tp("orders"), tp("orders")], query: '{ "amount" : { "$gt" : 100 } }' };
        const r2 = new StreamReader((signal) => client.subscribe({ filter: same, start: { position: { case: "earliest", value: true } } }, { signal }));
        const s2 = await r2.started();
        assert.equal(s2.streamId, started.streamId);
        const again = await r2.events(4);
        assert.deepEqual(again.map((e) => e.id), events.map((e) => e.id));
        r2.close();
      });
    });
  }

  describe(`start positions (${source})`, () => {
    let server: TestServer;
    before(async () => (server = await startServer({ source })));
      const tp = (name: string) => server.topic(name);
    after(() => server.close());

    it("earliest backfills history, then continues live without gap or repeat", async () => {
      const client = clientFor("connect", server.url);
      await produce(client, tp("hist"), [1, 2, 3, 4, 5, 6].map((n) => ({ value: { n, even: n % 2 === 0 }, partition: 0 })));
      const filter = { topics: [tp("hist")], query: '{"even":true}' };
      // First subscriber at latest creates the stream at the head: nothing old.
      const live = new StreamReader((signal) => client.subscribe({ filter }, { signal }));
      await live.started();
      await produce(client, tp("hist"), [{ value: { n: 8, even: true }, partition: 0 }]);
      const [first] = await live.events(1);
      assert.equal(JSON.parse(first!.valueJson).n, 8);
      assert.equal(first!.epoch, 0);

      const r = new StreamReader((signal) => client.subscribe({ filter, start: { position: { case: "earliest", value: true } } }, { signal }));
      await r.started();
      const history = await r.events(4);
      assert.deepEqual(history.map((e) => JSON.parse(e.valueJson).n), [2, 4, 6, 8]);
      assert.deepEqual(history.map((e) => Number(e.seq)), [1, 2, 3, 1]);
      assert.equal(history[3]!.id, first!.id);
      assert.notEqual(history[0]!.epoch, 0);
      await produce(client, tp("hist"), [{ value: { n: 9, even: false }, partition: 0 }, { value: { n: 10, even: true }, partition: 0 }]);
      const [next] = await r.events(1);
      assert.equal(JSON.parse(next!.valueJson).n, 10);
      assert.equal(Number(next!.seq), 2);

      // A third subscriber from earliest reuses the backfill epoch: same IDs.
      const r3 = new StreamReader((signal) => client.subscribe({ filter, start: { position: { case: "earliest", value: true } } }, { signal }));
      await r3.started();
      assert.deepEqual((await r3.events(5)).map((e) => e.id), [...history, next!].map((e) => e.id));
      for (const x of [live, r, r3]) x.close();
    });

    it("a topic regex picks up topics created after the subscription", async () => {
      const client = clientFor("connect", server.url);
      const topicRegex = `^${tp("rx-a").replace("rx-a", "rx-[ab]")}$`;
      const r = new StreamReader((signal) => client.subscribe({ filter: { topicRegex, query: '{"n":{"$gt":0}}' } }, { signal }));
      const started = await r.started();
      assert.match(started.warnings[0] ?? "", /no topic matches topic_regex/);
      await produce(client, tp("rx-a"), [{ value: { n: 1 }, partition: 0 }]);
      await produce(client, tp("rx-c"), [{ value: { n: 2 }, partition: 0 }]);
      await produce(client, tp("rx-b"), [{ value: { n: 0 }, partition: 0 }, { value: { n: 3 }, partition: 0 }]);
      const events = await r.events(2);
      assert.deepEqual(events.map((e) => [e.topic, JSON.parse(e.valueJson).n]), [[tp("rx-a"), 1], [tp("rx-b"), 3]]);
      r.close();
    });

    it("after an event ID yields exactly the following matches", async () => {
      const client = clientFor("connect", server.url);
      const filter = { topics: [tp("after")] };
      const r = new StreamReader((signal) => client.subscribe({ filter }, { signal }));
      await r.started();
      await produce(client, tp("after"), [0, 1, 2, 3, 4].map((n) => ({ value: { n }, partition: 1 })));
      const all = await r.events(5);
      r.close();
      const r2 = new StreamReader((signal) => client.subscribe({ filter, start: { position: { case: "afterEventId", value: all[1]!.id } } }, { signal }));
      const s = await r2.started();
      assert.equal(s.resolvedAfterEventId, all[1]!.id);
      assert.equal(s.headEventId, all[4]!.id);
      assert.deepEqual((await r2.events(3)).map((e) => e.id), all.slice(2).map((e) => e.id));
      r2.close();
    });

    it("a timestamp starts at the first match at or after it", async () => {
      const client = clientFor("connect", server.url);
      const base = Date.parse("2026-01-01T00:00:00Z");
      await produce(client, tp("times"), [0, 1, 2, 3, 4, 5].map((n) => ({ value: { n }, timestamp: base + n * 60_000, partition: 2 })));
      const filter = { topics: [tp("times")] };
      // From a time before the stream existed: a backfill from that time.
      const r = new StreamReader((signal) => client.subscribe({ filter, start: { position: { case: "timestampMs", value: BigInt(base + 3 * 60_000) } } }, { signal }));
      await r.started();
      assert.deepEqual((await r.events(3)).map((e) => JSON.parse(e.valueJson).n), [3, 4, 5]);
      r.close();
      // Now the index covers it: answered by binary search in the index.
      const r2 = new StreamReader((signal) => client.subscribe({ filter, start: { position: { case: "timestampMs", value: BigInt(base + 4 * 60_000 + 1) } } }, { signal }));
      await r2.started();
      assert.deepEqual((await r2.events(1)).map((e) => JSON.parse(e.valueJson).n), [5]);
      r2.close();
    });
  });

  describe(`bad input (${source})`, () => {
    let server: TestServer;
    before(async () => (server = await startServer({ source })));
      const tp = (name: string) => server.topic(name);
    after(() => server.close());

    async function subscribeError(filter: object, start?: object): Promise<ConnectError> {
      const client = clientFor("connect", server.url);
      try {
        for await (const _ of client.subscribe({ filter, ...(start ? { start } : {}) })) {
          assert.fail("expected an error before any message");
        }
      } catch (err) {
        return ConnectError.from(err);
      }
      assert.fail("expected an error");
    }

    it("rejects invalid filters with INVALID_ARGUMENT saying what and where", async () => {
      const cases: Array<[object, RegExp]> = [
        [{ topics: ["a"], query: '{"$where": "sleep(1000)"}' }, /query.*\$where/],
        [{ topics: ["a"], query: '{"a": {"$function": {}}}' }, /\$function/],
        [{ topics: ["a"], query: "{not json" }, /query.*JSON/i],
        [{ topicRegex: "(" }, /topic_regex/],
        [{}, /topics|topic_regex/],
        [{ topics: ["a"], projection: '{"a": {"$slice": 1}}' }, /projection/],
      ];
      for (const [filter, message] of cases) {
        const err = await subscribeError(filter);
        assert.equal(err.code, Code.InvalidArgument, `${JSON.stringify(filter)}: ${err.message}`);
        assert.match(err.rawMessage, message);
      }
    });

    it("rejects malformed, foreign and unknown event IDs", async () => {
      const client = clientFor("connect", server.url);
      const r = new StreamReader((signal) => client.subscribe({ filter: { topics: [tp("ids")] } }, { signal }));
      await r.started();
      await produce(client, tp("ids"), [{ value: 1 }]);
      const [e] = await r.events(1);
      r.close();
      const after = (id: string) => ({ position: { case: "afterEventId", value: id } });
      let err = await subscribeError({ topics: [tp("ids")] }, after("not-an-id"));
      assert.equal(err.code, Code.InvalidArgument);
      assert.match(err.rawMessage, /malformed event ID/);
      err = await subscribeError({ topics: [tp("other")] }, after(e!.id));
      assert.equal(err.code, Code.InvalidArgument);
      assert.match(err.rawMessage, /belongs to stream/);
      // Same stream, an epoch the index never had.
      const { encodeEventId, decodeEventId } = await import("../../src/sequencer/event-id.js");
      const a = decodeEventId(e!.id);
      err = await subscribeError({ topics: [tp("ids")] }, after(encodeEventId({ ...a, epoch: 42 })));
      assert.equal(err.code, Code.NotFound);
      err = await subscribeError({ topics: [tp("ids")] }, after(encodeEventId({ ...a, seq: 1000 })));
      assert.equal(err.code, Code.OutOfRange);
    });

    it("skips and counts non-JSON values and non-array keys", async () => {
      const client = clientFor("connect", server.url);
      const withQuery = new StreamReader((signal) => client.subscribe({ filter: { topics: [tp("mixed")], query: '{"ok":true}' } }, { signal }));
      const withKey = new StreamReader((signal) => client.subscribe({ filter: { topics: [tp("mixed")], keyPrefix: ["a"] } }, { signal }));
      const everything = new StreamReader((signal) => client.subscribe({ filter: { topics: [tp("mixed")] } }, { signal }));
      for (const r of [withQuery, withKey, everything]) await r.started();
      const enc = new TextEncoder();
      await produce(client, tp("mixed"), [
        { raw: "not json at all", key: ["a"], partition: 0 },
        { value: { ok: true }, rawKey: enc.encode("plain-string-key"), partition: 0 },
        { raw: "{broken", rawKey: enc.encode('{"not":"an array"}'), partition: 0 },
        { value: { ok: true }, key: ["a", "b"], partition: 0 },
      ]);
      assert.deepEqual((await withQuery.events(2)).map((e) => Number(e.offset)), [1, 3]);
      assert.deepEqual((await withKey.events(2)).map((e) => Number(e.offset)), [0, 3]);
      const all = await everything.events(4);
      assert.deepEqual(all.map((e) => Number(e.offset)), [0, 1, 2, 3]);
      assert.equal(new TextDecoder().decode(all[0]!.rawValue), "not json at all");
      assert.equal(new TextDecoder().decode(all[1]!.rawKey), "plain-string-key");
      const topics = await client.listTopics({});
      const mixed = topics.topics.find((t) => t.name === tp("mixed"))!;
      assert.equal(mixed.nonJsonValues, 2n);
      assert.equal(mixed.badKeys, 2n);
      for (const r of [withQuery, withKey, everything]) r.close();
    });
  });
}
