// HTTP/2 subscriptions (SSE and the lean Subscribe handler) are served
// through Node's core HTTP/2 API, without the compatibility layer's
// request/response pair: the same events, resumes, statuses and trailers;
// a client that resets its stream or drops its session ends the
// subscription; a request with an Origin (CORS) takes the compatibility path;
// /metrics counts what was served this way.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import http2 from "node:http2";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { GrepService } from "@grep-streams/sdk/gen/grepstreams/v1/grep_pb.js";
import { startServer, type TestServer } from "../helpers/server.js";
import { StreamReader } from "../helpers/stream-reader.js";
import { waitUntil } from "../helpers/deadline.js";
import { coreStreams } from "../../src/api/transport/reply.js";

/** An SSE stream over HTTP/2: its status, headers and the events as they come. */
function openSse(session: http2.ClientHttp2Session, path: string, headers: http2.OutgoingHttpHeaders = {}) {
  const req = session.request({ ":path": path, accept: "text/event-stream", ...headers });
  let text = "";
  const waiters: Array<() => void> = [];
  req.setEncoding("utf8");
  req.on("data", (c: string) => {
    text += c;
    for (const w of waiters.splice(0)) w();
  });
  const response = new Promise<http2.IncomingHttpHeaders>((resolve) => req.on("response", resolve));
  const events = () =>
    text
      .split("\n\n")
      .map((b) => b.split("\n"))
      .filter((lines) => lines.some((l) => l.startsWith("event: ")))
      .map((lines) => {
        return { event: lines.find((l) => l.startsWith("event: "))!.slice(7), id: lines.find((l) => l.startsWith("id: "))?.slice(4), data: lines.find((l) => l.startsWith("data: "))?.slice(6) };
      });
  const until = async (n: number) => {
    while (events().length < n) await new Promise<void>((r) => waiters.push(r));
    return events();
  };
  return { req, response, until };
}

describe("HTTP/2 subscriptions through the core API", () => {
  let server: TestServer;
  before(async () => (server = await startServer({ heartbeatMs: 60_000 })));
  after(() => server.close());

  it("serves SSE: started, events, a resume after an event ID, and ends the subscription on a reset", async () => {
    const topic = "core-sse";
    const client = createClient(GrepService, createConnectTransport({ baseUrl: server.url, httpVersion: "2" }));
    const session = http2.connect(server.url);
    try {
      const served = coreStreams.served;
      const before = server.app.engine.subscriptionCount;
      const a = openSse(session, `/v1/subscribe?topic=${topic}&q=${encodeURIComponent('{"n":{"$gte":1}}')}`);
      const h = await a.response;
      assert.equal(h[":status"], 200);
      assert.equal(h["content-type"], "text/event-stream; charset=utf-8");
      assert.equal(coreStreams.served, served + 1, "served by the core path");
      await a.until(1);
      await client.produce({ topic, messages: [0, 1, 2, 3].map((n) => ({ valueJson: JSON.stringify({ n }), partition: 0 })) });
      const got = (await a.until(4)).slice(1);
      assert.deepEqual(got.map((e) => [e.event, JSON.parse(e.data!).offset, JSON.parse(e.data!).value.n]), [["match", 1, 1], ["match", 2, 2], ["match", 3, 3]]);
      assert.equal(server.app.engine.subscriptionCount, before + 1);
      // A reset by the client ends the subscription (and throws nothing at the server).
      a.req.close(http2.constants.NGHTTP2_CANCEL);
      await waitUntil("the subscription closed", () => server.app.engine.subscriptionCount === before);

      // Resume after the first event: exactly the rest.
      const b = openSse(session, `/v1/subscribe?topic=${topic}&q=${encodeURIComponent('{"n":{"$gte":1}}')}`, { "last-event-id": got[0]!.id! });
      const rest = (await b.until(3)).slice(1);
      assert.deepEqual(rest.map((e) => e.id), [got[1]!.id, got[2]!.id]);
      b.req.close();

      // A bad filter: a status and a message, before any stream begins.
      const bad = openSse(session, `/v1/subscribe?topic=${topic}&q=${encodeURIComponent('{"$where":"1"}')}`);
      assert.equal((await bad.response)[":status"], 400);
    } finally {
      session.close();
    }
  });

  it("serves Subscribe in Connect and gRPC with the same statuses, trailers included", async () => {
    const topic = "core-subscribe";
    for (const transport of [createConnectTransport({ baseUrl: server.url, httpVersion: "2", useBinaryFormat: true }), createGrpcTransport({ baseUrl: server.url })]) {
      const client = createClient(GrepService, transport);
      const served = coreStreams.served;
      const r = new StreamReader((signal) => client.subscribe({ filter: { topics: [topic] }, start: { position: { case: "earliest", value: true } } }, { signal }));
      await r.started();
      assert.equal(coreStreams.served, served + 1, "served by the core path");
      await client.produce({ topic, messages: [{ valueJson: '{"x":1}' }] });
      assert.equal((await r.events(1))[0]!.valueJson, '{"x":1}');
      r.close();
      // An error after the headers: in the end-of-stream message (Connect) or the trailers (gRPC).
      const bad = new StreamReader((signal) => client.subscribe({ filter: { topics: [topic], query: '{"$where":"1"}' } }, { signal }));
      await assert.rejects(bad.started(), (err: unknown) => ConnectError.from(err).code === Code.InvalidArgument && /\$where/.test(ConnectError.from(err).rawMessage));
      // A deadline ends a quiet stream with DEADLINE_EXCEEDED.
      const quiet = new StreamReader((signal) => client.subscribe({ filter: { topics: ["core-quiet"] } }, { signal, timeoutMs: 300 }));
      await quiet.started();
      await assert.rejects(quiet.next("event"), (err: unknown) => ConnectError.from(err).code === Code.DeadlineExceeded);
    }
  });

  it("answers an oversized Subscribe request with RESOURCE_EXHAUSTED before the upload ends", async () => {
    const session = http2.connect(server.url);
    try {
      const req = session.request({ ":method": "POST", ":path": "/grepstreams.v1.GrepService/Subscribe", "content-type": "application/connect+proto" });
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("error", () => {}); // the server stops the upload (RST_STREAM NO_ERROR) once it has answered
      req.end(Buffer.alloc((4 << 20) + 10));
      const h = await new Promise<http2.IncomingHttpHeaders>((resolve) => req.on("response", resolve));
      await new Promise((resolve) => req.on("end", resolve));
      assert.equal(h[":status"], 200);
      const body = Buffer.concat(chunks);
      assert.equal(body[0], 2, "an end-of-stream frame");
      const end = JSON.parse(body.subarray(5).toString("utf8")) as { error: { code: string; message: string } };
      assert.equal(end.error.code, "resource_exhausted");
      assert.match(end.error.message, /larger than configured readMaxBytes/);
    } finally {
      session.destroy();
    }
  });

  it("a session that goes away ends its subscriptions", async () => {
    // (The earlier tests' subscriptions are all gone first.)
    await waitUntil("no subscriptions left", () => server.app.engine.subscriptionCount === 0);
    const session = http2.connect(server.url);
    const before = 0;
    const streams = Array.from({ length: 5 }, (_, i) => openSse(session, `/v1/subscribe?topic=core-gone&q=${encodeURIComponent(`{"i":${i}}`)}`));
    for (const s of streams) await s.until(1);
    assert.equal(server.app.engine.subscriptionCount, before + 5);
    session.destroy();
    await waitUntil("every subscription closed", () => server.app.engine.subscriptionCount === before);
  });

  it("leaves a request with an Origin to the compatibility path, which adds the CORS headers", async () => {
    const session = http2.connect(server.url);
    try {
      const served = coreStreams.served;
      const s = openSse(session, "/v1/subscribe?topic=core-cors", { origin: "https://app.example" });
      const h = await s.response;
      assert.equal(h[":status"], 200);
      assert.equal(h["access-control-allow-origin"], "*");
      await s.until(1);
      assert.equal(coreStreams.served, served, "not the core path");
      s.req.close();
    } finally {
      session.close();
    }
  });
});

describe("/metrics", () => {
  let server: TestServer;
  before(async () => (server = await startServer()));
  after(() => server.close());

  it("counts the calls the lean handlers and the core API served", async () => {
    const metric = async (name: string) => {
      const text = await (await fetch(`${server.url}/metrics`)).text();
      const line = text.split("\n").find((l) => l.startsWith(`${name} `));
      assert.ok(line, `${name} in /metrics`);
      return Number(line.split(" ")[1]);
    };
    const [produce, core, subscribe] = [await metric("grep_streams_produce_calls_lean_total"), await metric("grep_streams_http2_core_streams_total"), await metric("grep_streams_subscribe_calls_lean_total")];
    const client = createClient(GrepService, createConnectTransport({ baseUrl: server.url, httpVersion: "2", useBinaryFormat: true }));
    await client.produce({ topic: "metrics", messages: [{ valueJson: "{}" }] });
    const r = new StreamReader((signal) => client.subscribe({ filter: { topics: ["metrics"] } }, { signal }));
    await r.started();
    r.close();
    assert.deepEqual(
      [await metric("grep_streams_produce_calls_lean_total"), await metric("grep_streams_http2_core_streams_total"), await metric("grep_streams_subscribe_calls_lean_total")],
      [produce + 1, core + 2, subscribe + 1],
    );
  });
});
