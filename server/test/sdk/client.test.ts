// The SDK against a real server: the ack window, permanent errors, count,
// produce and listTopics.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as delay } from "node:timers/promises";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { createGrepClient, GrepStreamsError, type AckRequest, type AckResponse, type GrepCountProgress, type GrepEvent } from "@grep-streams/sdk";
import { clientFor, sources, startServer, type TestServer } from "../helpers/server.js";
import { describeServer, trackSourceCalls, within, type SourceCalls } from "../helpers/deadline.js";

/** Each step of a test gets this long, far below the file timeout, so a hang names its step. */
const STEP_MS = 30_000;

for (const source of sources()) {
  describe(`SDK client (${source})`, () => {
    let server: TestServer;
    let calls: SourceCalls;
    before(async () => {
      server = await startServer({ source, heartbeatMs: 50 });
      calls = trackSourceCalls(server.app.source);
    });
    const step = <T>(name: string, work: Promise<T>, topics: string[] = []) => within(STEP_MS, name, work, () => describeServer(server.app, calls, topics));
    after(() => server.close());
    const connect = (interceptors: Interceptor[] = []) => createConnectTransport({ baseUrl: server.url, httpVersion: "1.1", interceptors });

    it("acks what a slow consumer consumed, so a window of 5 keeps the stream going", { timeout: 60_000 }, async () => {
      const topic = server.topic("windowed");
      const received: string[] = [];
      let finished = 0; // events the consumer is done with (it asked for the next item)
      const acks: { eventId: string; unacked: number }[] = [];
      const problems: string[] = [];
      // Watches the SDK's Ack calls: never past what the consumer finished,
      // and the server's count of unacknowledged events never above the window.
      const watchAcks: Interceptor = (next) => async (req) => {
        if (req.method.name !== "Ack") return next(req);
        const eventId = (req.message as AckRequest).eventId;
        const index = received.indexOf(eventId);
        if (index < 0 || index >= finished) problems.push(`ack of ${index < 0 ? "an event not handed out yet" : `event ${index + 1}`} when ${finished} were consumed`);
        const res = await next(req);
        if (res.stream) throw new Error("Ack is unary");
        acks.push({ eventId, unacked: (res.message as AckResponse).unacked });
        return res;
      };
      const sdk = createGrepClient(connect([watchAcks]));
      await sdk.produce(topic, Array.from({ length: 50 }, (_, n) => ({ key: [`k${n % 3}`], value: { n } })));

      const sub = sdk.subscribe({ topics: [topic] }, { start: "earliest", window: 5 });
      const events: GrepEvent[] = [];
      for await (const item of sub) {
        if (item.type !== "event") continue;
        events.push(item.event);
        received.push(item.event.id);
        // Slow: a pause after every event, a long one (many heartbeats) after the fifth.
        await delay(events.length === 5 ? 300 : 2);
        if (events.length === 50) break;
        finished = events.length;
      }
      assert.deepEqual(events.map((e) => (e.value as { n: number }).n).sort((a, b) => a - b), Array.from({ length: 50 }, (_, n) => n));
      assert.deepEqual(problems, []);
      assert.ok(acks.length >= 10, `${acks.length} acks`);
      assert.ok(acks.every((a) => a.unacked <= 5), `unacked after acks: ${acks.map((a) => a.unacked).join(",")}`);
      // Acks are cumulative and in order; the last one covers the 49th event
      // (the 50th was still held when the loop broke off).
      const order = acks.map((a) => received.indexOf(a.eventId));
      assert.deepEqual(order, [...order].sort((a, b) => a - b));
      assert.equal(order.at(-1), 48);
      assert.equal(sub.lastEventId, events[49]!.id);
    });

    it("rejects an invalid filter with the server's InvalidArgument and does not retry", async () => {
      const filter = { topics: [server.topic("whatever")], query: { $where: "this.amount > 1" } };
      let serverMessage = "";
      try {
        for await (const _ of clientFor("connect", server.url).subscribe({ filter: { topics: filter.topics, query: JSON.stringify(filter.query) } }));
      } catch (err) {
        serverMessage = ConnectError.from(err).rawMessage;
      }
      assert.match(serverMessage, /\$where/);

      let reconnects = 0;
      const sub = createGrepClient(connect()).subscribe(filter, { backoff: { initialMs: 1 }, onReconnect: () => reconnects++ });
      await assert.rejects(
        async () => {
          for await (const _ of sub);
        },
        (err: unknown) => {
          assert.ok(err instanceof GrepStreamsError);
          assert.equal(err.code, Code.InvalidArgument);
          assert.equal(err.rawMessage, serverMessage);
          assert.equal(err.transient, false);
          return true;
        },
      );
      assert.equal(reconnects, 0);
    });

    it("produces, lists topics and counts with progress, in plain numbers", async () => {
      const topic = server.topic("counted");
      const sdk = createGrepClient(connect());
      const base = Date.parse("2026-05-01T00:00:00Z");
      const records = await step(
        "produce",
        sdk.produce(
          topic,
          Array.from({ length: 300 }, (_, n) => ({
            key: [`tenant-${n % 4}`],
            value: { n, kind: n % 3 === 0 ? "a" : "b" },
            timestamp: new Date(base + n * 1000),
            headers: { trace: `t-${n}`, bin: new Uint8Array([n % 256]) },
            ...(n === 0 ? { partition: 2 } : {}),
          })),
        ),
        [topic],
      );
      assert.equal(records.length, 300);
      assert.equal(records[0]!.partition, 2);
      assert.equal(typeof records[0]!.offset, "number");
      assert.equal(records[1]!.timestamp.getTime(), base + 1000);

      const { topics } = await step("listTopics", sdk.listTopics(), [topic]);
      const info = topics.find((t) => t.name === topic);
      assert.ok(info);
      assert.equal(info.partitions.reduce((n, p) => n + p.endOffset - p.startOffset, 0), 300, `partitions ${JSON.stringify(info.partitions)}`);

      const progress: GrepCountProgress[] = [];
      const result = await step(
        "count",
        sdk.count(
          { topics: [topic], query: { kind: "a" } },
          { from: base + 30_000, to: new Date(base + 90_000), bucketMs: 10_000, onProgress: (p) => progress.push(p) },
        ),
        [topic],
      );
      // n in [30, 90) with n % 3 == 0: 30, 33, ..., 87 = 20 matches.
      assert.equal(result.matched, 20, `answered from ${result.answeredFrom}, ${result.messagesScanned} scanned, partitions ${JSON.stringify(result.partitions)}`);
      assert.deepEqual(result.times.map((t) => [t.start.getTime() - base, t.count]), [
        [30_000, 4], [40_000, 3], [50_000, 3], [60_000, 4], [70_000, 3], [80_000, 3],
      ]);
      assert.equal(result.sizes.reduce((n, s) => n + s.count, 0), 20);
      assert.ok(progress.length >= 1);
      assert.equal(progress.at(-1)!.fraction, 1);
      assert.equal(progress.at(-1)!.matched, 20);
      assert.equal(typeof progress.at(-1)!.messagesScanned, "number");

      // The event as the SDK shapes it.
      const sub = sdk.subscribe({ topics: [topic], query: { n: 7 }, projection: { n: 1 } }, { start: "earliest" });
      let event: GrepEvent | undefined;
      // Bounded, and a gap fails at once: skipping it here waited forever for
      // an event the source no longer had.
      const seen: string[] = [];
      try {
        await step(
          "subscribe from earliest",
          (async () => {
            for await (const item of sub) {
              if (item.type === "event") {
                event = item.event;
                break;
              }
              if (item.type === "gap") throw new Error(`a gap of ${item.count} events (${item.reason}) before the event with n 7`);
              if (seen.length < 20) seen.push(item.type);
            }
          })(),
          [topic],
        );
      } catch (err) {
        await sub.close();
        throw new Error(`${(err as Error).message}\nitems before the event: ${seen.join(", ") || "none"}`, { cause: err });
      }
      assert.ok(event);
      assert.deepEqual(event.value, { n: 7 });
      assert.deepEqual(event.key, ["tenant-3"]);
      assert.equal(event.timestamp.getTime(), base + 7000);
      assert.equal(event.topic, topic);
      assert.equal(event.seq, 1);
      assert.deepEqual(
        event.headers.map((h) => [h.key, [...h.value]]),
        [["trace", [...new TextEncoder().encode("t-7")]], ["bin", [7]]],
      );

      await assert.rejects(sdk.count({ topics: [topic] }, { from: base + 10, to: base }), (err: unknown) => err instanceof GrepStreamsError && err.code === Code.InvalidArgument);
    });
  });
}
