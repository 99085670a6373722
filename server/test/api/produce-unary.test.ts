// The lean Produce handler: Connect unary calls in proto and JSON, over
// HTTP/1.1 and HTTP/2, are served by it (the counter says so) with the same
// answers Connect-ES gives; errors carry Connect-ES's codes and statuses;
// what it does not take (gRPC, gRPC-Web, compressed bodies) still works
// through Connect-ES.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import http2 from "node:http2";
import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { compressionGzip, createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { GrepService } from "@grep-streams/sdk/gen/grepstreams/v1/grep_pb.js";
import { startServer, type TestServer } from "../helpers/server.js";
import { leanProduce, PRODUCE_MAX_BYTES, PRODUCE_PATH } from "../../src/api/produce-unary.js";
import { coreStreams } from "../../src/api/transport/reply.js";

type Make = (baseUrl: string) => Transport;
const lean: Array<[string, Make]> = [
  ["Connect, proto, HTTP/1.1", (baseUrl) => createConnectTransport({ baseUrl, httpVersion: "1.1", useBinaryFormat: true })],
  ["Connect, JSON, HTTP/1.1", (baseUrl) => createConnectTransport({ baseUrl, httpVersion: "1.1", useBinaryFormat: false })],
  ["Connect, proto, HTTP/2", (baseUrl) => createConnectTransport({ baseUrl, httpVersion: "2", useBinaryFormat: true })],
  ["Connect, JSON, HTTP/2", (baseUrl) => createConnectTransport({ baseUrl, httpVersion: "2", useBinaryFormat: false })],
];
const viaConnectEs: Array<[string, Make]> = [
  ["gRPC", (baseUrl) => createGrpcTransport({ baseUrl, useBinaryFormat: true })],
  ["gRPC-Web", (baseUrl) => createGrpcWebTransport({ baseUrl, httpVersion: "1.1", useBinaryFormat: true })],
  ["Connect, gzip", (baseUrl) => createConnectTransport({ baseUrl, httpVersion: "2", sendCompression: compressionGzip, compressMinBytes: 1 })],
];

/** One raw HTTP/2 POST to Produce: status, content type and body. */
async function post(url: string, headers: http2.OutgoingHttpHeaders, body: Buffer): Promise<{ status: number; type: string; body: Buffer }> {
  const session = http2.connect(url);
  try {
    const req = session.request({ ":method": "POST", ":path": PRODUCE_PATH, ...headers });
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    const h = await new Promise<http2.IncomingHttpHeaders>((resolve, reject) => {
      req.on("response", resolve);
      req.on("error", reject);
      req.end(body);
    });
    await new Promise((resolve) => req.on("close", resolve));
    return { status: Number(h[":status"]), type: String(h["content-type"]), body: Buffer.concat(chunks) };
  } finally {
    session.close();
  }
}

describe("the lean Produce handler", () => {
  let server: TestServer;
  before(async () => (server = await startServer()));
  after(() => server.close());

  const all = [...lean.map(([n, m]) => [n, m, true] as const), ...viaConnectEs.map(([n, m]) => [n, m, false] as const)];
  for (const [name, make, isLean] of all) {
    it(`${name}: ${isLean ? "served by it" : "left to Connect-ES"}, with the same records and errors`, async () => {
      const client = createClient(GrepService, make(server.url));
      const topic = `produce-${name.replace(/[^a-z0-9]+/gi, "-")}`;
      const served = leanProduce.served;
      const core = coreStreams.served;
      const out = await client.produce({
        topic,
        messages: [
          { valueJson: '{"n":1}', partition: 1, timestampMs: 1_700_000_000_000n },
          { valueJson: '{"n":2}', key: ["a", "b"], partition: 1, headers: [{ key: "h", value: new Uint8Array([7]) }] },
        ],
      });
      assert.deepEqual(out.records.map((r) => [r.partition, Number(r.offset)]), [[1, 0], [1, 1]]);
      assert.equal(out.records[0]!.timestampMs, 1_700_000_000_000n);
      assert.ok(out.records[1]!.timestampMs > 1_700_000_000_000n);
      assert.equal(leanProduce.served, served + (isLean ? 1 : 0));
      // On HTTP/2, through the core API (no compatibility layer).
      assert.equal(coreStreams.served, core + (isLean && name.endsWith("HTTP/2") ? 1 : 0));

      // What was written reads back as sent (through the same client).
      const sub = client.subscribe({ filter: { topics: [topic] }, start: { position: { case: "earliest", value: true } } });
      const events = [];
      for await (const r of sub) {
        if (r.kind.case === "event") events.push(r.kind.value);
        if (events.length === 2) break;
      }
      assert.deepEqual(events.map((e) => [e.valueJson, e.key, Number(e.offset)]), [['{"n":1}', [], 0], ['{"n":2}', ["a", "b"], 1]]);
      assert.deepEqual(events[1]!.headers.map((h) => [h.key, [...h.value]]), [["h", [7]]]);

      // Errors: the code and the message say what to fix.
      const invalid = async (req: Parameters<typeof client.produce>[0], pattern: RegExp) => {
        await assert.rejects(client.produce(req), (err: unknown) => {
          const ce = ConnectError.from(err);
          assert.equal(ce.code, Code.InvalidArgument);
          assert.match(ce.rawMessage, pattern);
          return true;
        });
      };
      await invalid({ topic: "", messages: [{ valueJson: "{}" }] }, /topic: required/);
      await invalid({ topic, messages: [{ valueJson: '{"ok":1}' }, { valueJson: "not json" }] }, /messages\[1\]\.value_json: not valid JSON.*allow_non_json/);
      await invalid({ topic, messages: [{ valueJson: "{}", partition: 9 }] }, /partition/);
      // Nothing of a refused batch was written.
      const again = await client.produce({ topic, messages: [{ valueJson: "{}", partition: 1 }] });
      assert.deepEqual(again.records.map((r) => Number(r.offset)), [2]);
    });
  }

  it("answers a body that does not decode with INVALID_ARGUMENT as a Connect error", async () => {
    for (const [type, body] of [["application/json", "{not json"], ["application/proto", "\xff\xff\xff"]] as const) {
      const r = await post(server.url, { "content-type": type }, Buffer.from(body, "latin1"));
      assert.equal(r.status, 400);
      assert.equal(r.type, "application/json");
      const e = JSON.parse(r.body.toString("utf8")) as { code: string; message: string };
      assert.equal(e.code, "invalid_argument");
      assert.match(e.message, /cannot decode the request/);
    }
  });

  it("answers a bad connect-timeout-ms and an oversized body as Connect-ES would", async () => {
    const served = leanProduce.served;
    const bad = await post(server.url, { "content-type": "application/json", "connect-timeout-ms": "soon" }, Buffer.from('{"topic":"t","messages":[{"valueJson":"{}"}]}'));
    assert.equal(bad.status, 400);
    assert.equal((JSON.parse(bad.body.toString("utf8")) as { code: string }).code, "invalid_argument");

    // A deadline that holds changes nothing.
    const ok = await post(server.url, { "content-type": "application/json", "connect-timeout-ms": "5000" }, Buffer.from('{"topic":"deadline","messages":[{"valueJson":"{}"}]}'));
    assert.equal(ok.status, 200);
    // proto3 JSON leaves out zero values: partition 0, offset 0.
    const records = (JSON.parse(ok.body.toString("utf8")) as { records: Array<Record<string, unknown>> }).records;
    assert.equal(records.length, 1);
    assert.deepEqual(Object.keys(records[0]!), ["timestampMs"]);
    assert.match(String(records[0]!.timestampMs), /^\d{13}$/);

    const huge = await post(server.url, { "content-type": "application/proto" }, Buffer.alloc(PRODUCE_MAX_BYTES + 1));
    assert.equal(huge.status, 429);
    const e = JSON.parse(huge.body.toString("utf8")) as { code: string; message: string };
    assert.equal(e.code, "resource_exhausted");
    assert.match(e.message, /larger than configured readMaxBytes/);
    assert.equal(leanProduce.served, served + 3);

    // Connect-ES's paths have the same limit (gRPC-Web on HTTP/1.1: on HTTP/2, Node's session memory limit may reset the stream first).
    const web = createClient(GrepService, createGrpcWebTransport({ baseUrl: server.url, httpVersion: "1.1" }));
    await assert.rejects(web.produce({ topic: "huge", messages: [{ valueJson: JSON.stringify("x".repeat(PRODUCE_MAX_BYTES)) }] }), (err: unknown) => ConnectError.from(err).code === Code.ResourceExhausted);
  });
});
