// The lean Subscribe handler: every wire format it takes, served by it (the
// counter says so) with the same messages Connect-ES would send; errors and
// deadlines as statuses; what it does not take still works through Connect-ES.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import http2 from "node:http2";
import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { compressionGzip, createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { GrepService } from "@grep-streams/sdk/gen/grepstreams/v1/grep_pb.js";
import { startServer, type TestServer } from "../helpers/server.js";
import { StreamReader } from "../helpers/stream-reader.js";
import { produce } from "../helpers/produce.js";
import { leanStreams } from "../../src/api/subscribe-stream.js";

type Make = (baseUrl: string) => Transport;
const wires: Array<[string, Make]> = [
  ["Connect, proto, HTTP/1.1", (baseUrl) => createConnectTransport({ baseUrl, httpVersion: "1.1", useBinaryFormat: true })],
  ["Connect, JSON, HTTP/1.1", (baseUrl) => createConnectTransport({ baseUrl, httpVersion: "1.1", useBinaryFormat: false })],
  ["Connect, proto, HTTP/2", (baseUrl) => createConnectTransport({ baseUrl, httpVersion: "2", useBinaryFormat: true })],
  ["Connect, JSON, HTTP/2", (baseUrl) => createConnectTransport({ baseUrl, httpVersion: "2", useBinaryFormat: false })],
  ["gRPC, proto", (baseUrl) => createGrpcTransport({ baseUrl, useBinaryFormat: true })],
  ["gRPC, JSON", (baseUrl) => createGrpcTransport({ baseUrl, useBinaryFormat: false })],
  ["gRPC-Web, proto, HTTP/1.1", (baseUrl) => createGrpcWebTransport({ baseUrl, httpVersion: "1.1", useBinaryFormat: true })],
  ["gRPC-Web, JSON, HTTP/2", (baseUrl) => createGrpcWebTransport({ baseUrl, httpVersion: "2", useBinaryFormat: false })],
];

describe("the lean Subscribe handler", () => {
  let server: TestServer;
  before(async () => (server = await startServer({ heartbeatMs: 60_000 })));
  after(() => server.close());

  for (const [name, make] of wires) {
    it(`serves ${name}: started, events with payloads, and errors as statuses`, async () => {
      const client = createClient(GrepService, make(server.url));
      const topic = `lean-${name.replace(/[^a-z0-9]+/gi, "-")}`;
      const served = leanStreams.served;
      const r = new StreamReader((signal) => client.subscribe({ filter: { topics: [topic], query: '{"n":{"$gte":1}}' } }, { signal }));
      const started = await r.started();
      assert.equal(leanStreams.served, served + 1, "served by the lean handler");
      assert.match(started.streamId, /^[0-9a-f]{16}$/);
      assert.match(started.subscriptionId, /.+/);
      await produce(client, topic, [0, 1, 2].map((n) => ({ value: { n, s: "é\n" }, key: ["k", String(n)], partition: 1 })));
      await client.produce({ topic, allowNonJson: true, messages: [{ valueJson: "", rawKey: new Uint8Array([1, 2]), partition: 1, headers: [{ key: "h", value: new Uint8Array([9]) }] }] });
      const events = await r.events(2);
      assert.deepEqual(events.map((e) => JSON.parse(e.valueJson)), [{ n: 1, s: "é\n" }, { n: 2, s: "é\n" }]);
      assert.deepEqual(events.map((e) => [e.topic, e.partition, Number(e.offset), Number(e.seq), e.epoch]), [[topic, 1, 1, 1, 0], [topic, 1, 2, 2, 0]]);
      assert.deepEqual(events[0]!.key, ["k", "1"]);
      assert.ok(events[0]!.timestampMs > 0n);
      r.close();

      // A topic-only filter gets everything, raw keys and values and headers included.
      const all = new StreamReader((signal) => client.subscribe({ filter: { topics: [topic] }, start: { position: { case: "earliest", value: true } } }, { signal }));
      await all.started();
      const every = await all.events(4);
      assert.deepEqual(every.map((e) => Number(e.offset)), [0, 1, 2, 3]);
      assert.deepEqual([...every[3]!.rawKey], [1, 2]);
      assert.deepEqual(every[3]!.headers.map((h) => [h.key, [...h.value]]), [["h", [9]]]);
      all.close();

      // Payload-less events (omit_payload) carry the address only.
      const bare = new StreamReader((signal) => client.subscribe({ filter: { topics: [topic] }, omitPayload: true, start: { position: { case: "earliest", value: true } } }, { signal }));
      await bare.started();
      const [first] = await bare.events(1);
      assert.equal(first!.valueJson, "");
      assert.equal(Number(first!.offset), 0);
      bare.close();

      // A bad filter is INVALID_ARGUMENT with the filter's message.
      const bad = new StreamReader((signal) => client.subscribe({ filter: { topics: [topic], query: '{"$where":"1"}' } }, { signal }));
      await assert.rejects(bad.started(), (err: unknown) => {
        const ce = ConnectError.from(err);
        assert.equal(ce.code, Code.InvalidArgument);
        assert.match(ce.rawMessage, /\$where/);
        return true;
      });
      // A start event ID that does not parse, likewise.
      const badId = new StreamReader((signal) => client.subscribe({ filter: { topics: [topic] }, start: { position: { case: "afterEventId", value: "nope" } } }, { signal }));
      await assert.rejects(badId.started(), (err: unknown) => ConnectError.from(err).code === Code.InvalidArgument);
    });
  }

  it("a call's deadline ends it with DEADLINE_EXCEEDED", async () => {
    for (const make of [wires[0]![1], wires[4]![1], wires[6]![1]]) {
      const client = createClient(GrepService, make(server.url));
      const r = new StreamReader((signal) => client.subscribe({ filter: { topics: ["deadline"] } }, { signal, timeoutMs: 300 }));
      await r.started();
      await assert.rejects(r.next("event"), (err: unknown) => ConnectError.from(err).code === Code.DeadlineExceeded);
    }
  });

  it("leaves compressed requests to Connect-ES, which still serves them", async () => {
    const served = leanStreams.served;
    const transport = createConnectTransport({ baseUrl: server.url, httpVersion: "2", sendCompression: compressionGzip, compressMinBytes: 1 });
    const client = createClient(GrepService, transport);
    const r = new StreamReader((signal) => client.subscribe({ filter: { topics: ["gz"] } }, { signal }));
    await r.started();
    await produce(client, "gz", [{ value: { a: 1 } }]);
    assert.deepEqual((await r.events(1)).map((e) => JSON.parse(e.valueJson)), [{ a: 1 }]);
    r.close();
    assert.equal(leanStreams.served, served, "not the lean handler");
  });

  it("answers a truncated request envelope with INVALID_ARGUMENT in the end-of-stream message", async () => {
    const session = http2.connect(server.url);
    try {
      const req = session.request({ ":method": "POST", ":path": "/grepstreams.v1.GrepService/Subscribe", "content-type": "application/connect+json" });
      req.end(Buffer.from([0, 0, 0, 0, 50, 0x7b]));
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      const status = await new Promise<number>((resolve) => req.on("response", (h) => resolve(Number(h[":status"]))));
      await new Promise((resolve) => req.on("end", resolve));
      assert.equal(status, 200);
      const body = Buffer.concat(chunks);
      assert.equal(body[0], 2, "an end-of-stream frame");
      const end = JSON.parse(body.subarray(5).toString("utf8")) as { error: { code: string; message: string } };
      assert.equal(end.error.code, "invalid_argument");
      assert.match(end.error.message, /premature end/);
    } finally {
      session.close();
    }
  });
});
