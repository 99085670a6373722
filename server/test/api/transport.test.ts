// Integration tests of the transport layer against a real listener on port 0:
// Health and reflection over gRPC (h2c), Connect and gRPC-Web (HTTP/1.1) on
// one port, plain GET, CORS, sniffing edge cases and graceful close.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import * as http from "node:http";
import * as http2 from "node:http2";
import * as net from "node:net";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { fromBinary, type MessageInitShape } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import {
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
  Http2SessionManager,
} from "@connectrpc/connect-node";
import * as v1 from "@grep-streams/sdk/gen/grpc/reflection/v1/reflection_pb.js";
import * as v1alpha from "@grep-streams/sdk/gen/grpc/reflection/v1alpha/reflection_pb.js";
import { Health, ServingStatus } from "../../src/api/transport/health.js";
import { listen } from "../../src/api/transport/listener.js";
import { startTransportTestServer, startTrickleProxy, type TestServer } from "../helpers/transport-test-server.js";

const T = { timeout: 20_000 };

const EXPECTED_SERVICES = [
  "grepstreams.v1.GrepService",
  "grpc.health.v1.Health",
  "grpc.reflection.v1.ServerReflection",
  "grpc.reflection.v1alpha.ServerReflection",
];

function grpc(srv: TestServer): Transport {
  return createGrpcTransport({ baseUrl: srv.url, sessionManager: srv.h2Session() });
}

async function reflectV1(transport: Transport, reqs: MessageInitShape<typeof v1.ServerReflectionRequestSchema>[]) {
  const client = createClient(v1.ServerReflection, transport);
  const out: v1.ServerReflectionResponse[] = [];
  for await (const res of client.serverReflectionInfo(fromArray(reqs))) out.push(res);
  return out;
}

async function reflectV1alpha(transport: Transport, reqs: MessageInitShape<typeof v1alpha.ServerReflectionRequestSchema>[]) {
  const client = createClient(v1alpha.ServerReflection, transport);
  const out: v1alpha.ServerReflectionResponse[] = [];
  for await (const res of client.serverReflectionInfo(fromArray(reqs))) out.push(res);
  return out;
}

async function* fromArray<T>(items: T[]): AsyncGenerator<T> {
  for (const item of items) yield item;
}

/** Read an iterator to its end; never throws. */
async function drain<T>(it: AsyncIterator<T>): Promise<{ messages: T[]; error?: unknown }> {
  const messages: T[] = [];
  try {
    for (;;) {
      const r = await it.next();
      if (r.done) return { messages };
      messages.push(r.value);
    }
  } catch (error) {
    return { messages, error };
  }
}

function request(
  url: string,
  options: http.RequestOptions & { body?: string | Buffer } = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { ...options, agent: options.agent ?? false }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(options.body);
  });
}

/** A GET over an HTTP/2 session: the body as text. */
function h2Get(session: http2.ClientHttp2Session, path: string): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const st = session.request({ ":path": path });
    let data = "";
    st.setEncoding("utf8");
    st.on("data", (d: string) => (data += d));
    st.on("end", () => resolve(data));
    st.on("error", reject);
    st.end();
  });
}

/** Resolves when the socket closes, with the bytes it received. */
function socketClosed(socket: net.Socket): Promise<Buffer> {
  const chunks: Buffer[] = [];
  socket.on("data", (d: Buffer) => chunks.push(d));
  socket.on("error", () => {});
  return new Promise((resolve) => socket.once("close", () => resolve(Buffer.concat(chunks))));
}

async function waitFor(cond: () => boolean, ms = 2_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("transport: one port, all protocols", () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTransportTestServer({ sniffTimeoutMs: 300 });
  });
  after(async () => {
    await srv.close();
  });

  it("health Check over gRPC (HTTP/2)", T, async () => {
    const client = createClient(Health, grpc(srv));
    const res = await client.check({ service: "" });
    assert.equal(res.status, ServingStatus.SERVING);
    const named = await client.check({ service: "grepstreams.v1.GrepService" });
    assert.equal(named.status, ServingStatus.SERVING);
    await assert.rejects(client.check({ service: "nope.Service" }), (err: unknown) => {
      assert.ok(err instanceof ConnectError);
      assert.equal(err.code, Code.NotFound);
      return true;
    });
  });

  it("health Check over the Connect protocol (HTTP/1.1)", T, async () => {
    const client = createClient(Health, createConnectTransport({ baseUrl: srv.url, httpVersion: "1.1" }));
    assert.equal((await client.check({ service: "" })).status, ServingStatus.SERVING);
  });

  it("health Check over the Connect protocol (HTTP/2)", T, async () => {
    const transport = createConnectTransport({ baseUrl: srv.url, httpVersion: "2", sessionManager: srv.h2Session() });
    assert.equal((await createClient(Health, transport).check({ service: "" })).status, ServingStatus.SERVING);
  });

  it("health Check over gRPC-Web (HTTP/1.1)", T, async () => {
    const client = createClient(Health, createGrpcWebTransport({ baseUrl: srv.url, httpVersion: "1.1" }));
    assert.equal((await client.check({ service: "" })).status, ServingStatus.SERVING);
  });

  it("health List over gRPC", T, async () => {
    const res = await createClient(Health, grpc(srv)).list({});
    assert.deepEqual(Object.keys(res.statuses).sort(), ["", "grepstreams.v1.GrepService"]);
  });

  it("health Watch streams status changes", T, async () => {
    const ac = new AbortController();
    const it = createClient(Health, grpc(srv))
      .watch({ service: "later.Service" }, { signal: ac.signal })
      [Symbol.asyncIterator]();
    assert.equal((await it.next()).value?.status, ServingStatus.SERVICE_UNKNOWN);
    srv.health.set("later.Service", ServingStatus.SERVING);
    assert.equal((await it.next()).value?.status, ServingStatus.SERVING);
    srv.health.set("later.Service", ServingStatus.NOT_SERVING);
    assert.equal((await it.next()).value?.status, ServingStatus.NOT_SERVING);
    ac.abort();
    await drain(it);
    // The subscription is released on the request's signal, not only in a finally.
    await waitFor(() => srv.health.watcherCount === 0);
  });

  it("reflection list_services over gRPC, v1 and v1alpha", T, async () => {
    const [r1] = await reflectV1(grpc(srv), [{ host: "h", messageRequest: { case: "listServices", value: "" } }]);
    assert.equal(r1?.messageResponse.case, "listServicesResponse");
    assert.equal(r1?.validHost, "h");
    assert.equal(r1?.originalRequest?.messageRequest.case, "listServices");
    const names1 = r1?.messageResponse.case === "listServicesResponse" ? r1.messageResponse.value.service.map((s) => s.name) : [];
    assert.deepEqual([...names1].sort(), EXPECTED_SERVICES);

    const [ra] = await reflectV1alpha(grpc(srv), [{ messageRequest: { case: "listServices", value: "*" } }]);
    const namesA = ra?.messageResponse.case === "listServicesResponse" ? ra.messageResponse.value.service.map((s) => s.name) : [];
    assert.deepEqual([...namesA].sort(), EXPECTED_SERVICES);
  });

  it("reflection file_containing_symbol, file_by_filename and errors on one stream", T, async () => {
    const res = await reflectV1(grpc(srv), [
      { messageRequest: { case: "fileContainingSymbol", value: "grepstreams.v1.GrepService" } },
      { messageRequest: { case: "fileContainingSymbol", value: "grepstreams.v1.GrepService.Subscribe" } },
      { messageRequest: { case: "fileContainingSymbol", value: "grepstreams.v1.Event.id" } },
      { messageRequest: { case: "fileByFilename", value: "grpc/health/v1/health.proto" } },
      { messageRequest: { case: "fileContainingSymbol", value: "no.such.Symbol" } },
      { messageRequest: { case: "fileByFilename", value: "no/such.proto" } },
      { messageRequest: { case: "fileContainingExtension", value: { containingType: "grepstreams.v1.Event", extensionNumber: 100 } } },
      { messageRequest: { case: "allExtensionNumbersOfType", value: "grepstreams.v1.Event" } },
    ]);
    assert.equal(res.length, 8);
    const fileNames = (i: number) => {
      const m = res[i]?.messageResponse;
      assert.equal(m?.case, "fileDescriptorResponse", `response ${i}: ${m?.case}`);
      return m?.case === "fileDescriptorResponse"
        ? m.value.fileDescriptorProto.map((b) => fromBinary(FileDescriptorProtoSchema, b).name)
        : [];
    };
    assert.equal(fileNames(0)[0], "grepstreams/v1/grep.proto");
    assert.equal(fileNames(1)[0], "grepstreams/v1/grep.proto");
    assert.equal(fileNames(2)[0], "grepstreams/v1/grep.proto");
    assert.deepEqual(fileNames(3), ["grpc/health/v1/health.proto"]);
    for (const i of [4, 5, 6]) {
      const m = res[i]?.messageResponse;
      assert.equal(m?.case, "errorResponse", `response ${i}`);
      assert.equal(m?.case === "errorResponse" ? m.value.errorCode : -1, 5); // NOT_FOUND
    }
    const ext = res[7]?.messageResponse;
    assert.equal(ext?.case, "allExtensionNumbersResponse");
    assert.deepEqual(ext?.case === "allExtensionNumbersResponse" ? [ext.value.baseTypeName, ext.value.extensionNumber] : [], [
      "grepstreams.v1.Event",
      [],
    ]);
  });

  it("reflection file_containing_symbol over gRPC v1alpha; unknown symbol is NOT_FOUND", T, async () => {
    const res = await reflectV1alpha(grpc(srv), [
      { messageRequest: { case: "fileContainingSymbol", value: "grepstreams.v1.GrepService" } },
      { messageRequest: { case: "fileContainingSymbol", value: "grepstreams.v1.Nope" } },
    ]);
    const m0 = res[0]?.messageResponse;
    assert.equal(m0?.case, "fileDescriptorResponse");
    if (m0?.case === "fileDescriptorResponse") {
      const fd = fromBinary(FileDescriptorProtoSchema, m0.value.fileDescriptorProto[0] ?? new Uint8Array());
      assert.equal(fd.name, "grepstreams/v1/grep.proto");
      assert.ok(fd.service.some((s) => s.name === "GrepService"));
    }
    const m1 = res[1]?.messageResponse;
    assert.equal(m1?.case, "errorResponse");
    assert.equal(m1?.case === "errorResponse" ? m1.value.errorCode : -1, 5);
  });

  it("reflection over the Connect protocol on HTTP/2 (bidi)", T, async () => {
    const transport = createConnectTransport({ baseUrl: srv.url, httpVersion: "2", sessionManager: srv.h2Session() });
    const [r] = await reflectV1(transport, [{ messageRequest: { case: "listServices", value: "" } }]);
    assert.equal(r?.messageResponse.case, "listServicesResponse");
  });

  it("plain GET over HTTP/1.1 on the same port", T, async () => {
    const res = await request(`${srv.url}/healthz`);
    assert.equal(res.status, 200);
    assert.equal(res.body, "ok");
    assert.equal(res.headers["access-control-allow-origin"], "*");
    const missing = await request(`${srv.url}/nope`);
    assert.equal(missing.status, 404);
  });

  it("HTTP/1.1 keep-alive: several requests on one connection", T, async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      let sockets = 0;
      for (let i = 0; i < 3; i++) {
        const res = await request(`${srv.url}/healthz`, { agent });
        assert.equal(res.body, "ok");
      }
      for (const list of Object.values(agent.freeSockets)) sockets += list?.length ?? 0;
      assert.equal(sockets, 1);
    } finally {
      agent.destroy();
    }
  });

  it("a large HTTP/1.1 request body spanning the sniffed chunk", T, async () => {
    const body = `{"service":""${" ".repeat(300_000)}}`;
    const res = await request(`${srv.url}/grpc.health.v1.Health/Check`, {
      method: "POST",
      headers: { "content-type": "application/json", "connect-protocol-version": "1" },
      body,
    });
    assert.equal(res.status, 200, res.body);
    assert.deepEqual(JSON.parse(res.body), { status: "SERVING" });
  });

  it("HTTP/1.1 over raw socket with HTTP/2 client on the same port at once", T, async () => {
    const h2 = http2.connect(srv.url);
    try {
      const [a, b] = await Promise.all([request(`${srv.url}/healthz`), h2Get(h2, "/healthz")]);
      assert.equal(a.body, "ok");
      assert.equal(b, "ok");
    } finally {
      h2.close();
    }
  });

  it("CORS preflight answers 204 with Access-Control-Allow-Origin", T, async () => {
    const res = await request(`${srv.url}/grpc.health.v1.Health/Check`, {
      method: "OPTIONS",
      headers: {
        origin: "https://app.example",
        "access-control-request-method": "POST",
        "access-control-request-headers": "content-type,connect-protocol-version",
      },
    });
    assert.equal(res.status, 204);
    assert.equal(res.headers["access-control-allow-origin"], "*");
    assert.match(String(res.headers["access-control-allow-methods"]), /POST/);
    assert.match(String(res.headers["access-control-allow-headers"]), /Connect-Protocol-Version/i);
    assert.ok(res.headers["access-control-max-age"]);
  });

  it("CORS headers on an actual Connect call", T, async () => {
    const res = await request(`${srv.url}/grpc.health.v1.Health/Check`, {
      method: "POST",
      headers: { origin: "https://app.example", "content-type": "application/json" },
      body: "{}",
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers["access-control-allow-origin"], "*");
    assert.match(String(res.headers["access-control-expose-headers"]), /Grpc-Status/i);
  });

  it("sniffing: request line and HTTP/2 preface delivered one byte at a time", T, async () => {
    const proxy = await startTrickleProxy({ port: srv.port }, 40);
    const sm = new Http2SessionManager(proxy.url);
    try {
      assert.equal((await request(`${proxy.url}/healthz`)).body, "ok");
      const client = createClient(Health, createGrpcTransport({ baseUrl: proxy.url, sessionManager: sm }));
      assert.equal((await client.check({ service: "" })).status, ServingStatus.SERVING);
    } finally {
      sm.abort();
      await proxy.close();
    }
  });

  it("sniffing: a client that sends part of the preface and stalls is dropped after the sniff timeout", T, async () => {
    const socket = net.connect(srv.port, "127.0.0.1");
    const closed = socketClosed(socket);
    socket.write("PRI * HTTP/2.0\r\n");
    const t0 = Date.now();
    const got = await closed;
    assert.equal(got.length, 0);
    assert.ok(Date.now() - t0 >= 200, "dropped before the timeout");
  });

  it("sniffing: a silent client is dropped after the sniff timeout; an early EOF at once", T, async () => {
    const silent = net.connect(srv.port, "127.0.0.1");
    const eof = net.connect(srv.port, "127.0.0.1", () => eof.end());
    assert.equal((await Promise.all([socketClosed(silent), socketClosed(eof)])).every((b) => b.length === 0), true);
  });

  it("sniffing: TLS ClientHello is dropped (TLS not supported)", T, async () => {
    const socket = net.connect(srv.port, "127.0.0.1");
    const closed = socketClosed(socket);
    socket.write(Buffer.from([0x16, 0x03, 0x01, 0x00, 0x2f, 0x01, 0x00]));
    assert.equal((await closed).length, 0);
  });

  it("sniffing: garbage gets an HTTP/1.1 400", T, async () => {
    const socket = net.connect(srv.port, "127.0.0.1");
    const closed = socketClosed(socket);
    socket.write("\x01\x02 hello\r\n\r\n");
    assert.match((await closed).toString("latin1"), /^HTTP\/1\.1 400/);
  });
});

describe("transport: CORS with an origin list", () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTransportTestServer({ cors: { allowedOrigins: ["https://ok.example"], allowedHeaders: ["x-app"] } });
  });
  after(async () => {
    await srv.close();
  });

  it("allows listed origins only", T, async () => {
    const preflight = (origin: string) =>
      request(`${srv.url}/grpc.health.v1.Health/Check`, {
        method: "OPTIONS",
        headers: { origin, "access-control-request-method": "POST" },
      });
    const ok = await preflight("https://ok.example");
    assert.equal(ok.status, 204);
    assert.equal(ok.headers["access-control-allow-origin"], "https://ok.example");
    assert.match(String(ok.headers["access-control-allow-headers"]), /x-app/);
    assert.match(String(ok.headers.vary), /Origin/);
    const bad = await preflight("https://evil.example");
    assert.equal(bad.status, 403);
    assert.equal(bad.headers["access-control-allow-origin"], undefined);
    const get = await request(`${srv.url}/healthz`, { headers: { origin: "https://evil.example" } });
    assert.equal(get.status, 200);
    assert.equal(get.headers["access-control-allow-origin"], undefined);
  });
});

describe("transport: HTTP/2 streams offered to streamHandler first", () => {
  it("serves what it takes through the core API, leaves the rest (and what it throws on) to the handler", T, async () => {
    const warnings: string[] = [];
    const listener = await listen({
      host: "127.0.0.1",
      port: 0,
      handler: (req, res) => {
        res.writeHead(200, { "content-type": "text/plain" });
        res.end(`compat ${req.url}`);
      },
      streamHandler: (stream, headers) => {
        if (headers[":path"] === "/throw") throw new Error("boom");
        if (headers[":path"] !== "/take") return false;
        stream.respond({ ":status": 200 });
        stream.end("core");
        return true;
      },
      log: { debug: () => {}, warn: (msg) => warnings.push(msg) },
    });
    const session = http2.connect(listener.url);
    try {
      assert.deepEqual(await Promise.all([h2Get(session, "/take"), h2Get(session, "/other"), h2Get(session, "/throw")]), ["core", "compat /other", "compat /throw"]);
      assert.deepEqual(warnings, ["HTTP/2 stream handler threw"]);
      // HTTP/1.1 never reaches it.
      assert.equal((await request(`${listener.url}/take`)).body, "compat /take");
    } finally {
      session.close();
      await listener.close(1000);
    }
  });
});

describe("transport: close()", () => {
  it("ends an open Health.Watch stream at once when the shutdownSignal is aborted", T, async () => {
    const srv = await startTransportTestServer({ abortStreamsOnClose: true });
    const it = createClient(Health, grpc(srv)).watch({ service: "" })[Symbol.asyncIterator]();
    assert.equal((await it.next()).value?.status, ServingStatus.SERVING);
    const ended = drain(it);
    const t0 = Date.now();
    await srv.close(10_000);
    assert.ok(Date.now() - t0 < 3_000, `close took ${Date.now() - t0} ms`);
    await ended; // the client stream ends (with or without an error)
    assert.equal(srv.health.watcherCount, 0);
  });

  it("destroys a Watch stream still open after the grace period (gRPC and Connect over HTTP/1.1)", T, async () => {
    const srv = await startTransportTestServer();
    const g = createClient(Health, grpc(srv)).watch({ service: "" })[Symbol.asyncIterator]();
    const c = createClient(Health, createConnectTransport({ baseUrl: srv.url, httpVersion: "1.1" }))
      .watch({ service: "" })
      [Symbol.asyncIterator]();
    assert.equal((await g.next()).value?.status, ServingStatus.SERVING);
    assert.equal((await c.next()).value?.status, ServingStatus.SERVING);
    assert.equal(srv.health.watcherCount, 2);
    const ended = Promise.all([drain(g), drain(c)]);
    const t0 = Date.now();
    await srv.listener.close(300);
    const took = Date.now() - t0;
    assert.ok(took >= 250 && took < 3_000, `close took ${took} ms`);
    await ended; // both client streams end
    await waitFor(() => srv.health.watcherCount === 0);
    await srv.close();
  });

  it("returns quickly with idle HTTP/1.1 keep-alive and HTTP/2 connections", T, async () => {
    const srv = await startTransportTestServer();
    const agent = new http.Agent({ keepAlive: true });
    try {
      assert.equal((await request(`${srv.url}/healthz`, { agent })).body, "ok");
      assert.equal((await createClient(Health, grpc(srv)).check({})).status, ServingStatus.SERVING);
      assert.deepEqual(srv.listener.connections(), { sniffing: 0, http1: 1, http2: 1 });
      const t0 = Date.now();
      await srv.listener.close(10_000);
      assert.ok(Date.now() - t0 < 2_000, `close took ${Date.now() - t0} ms`);
      assert.deepEqual(srv.listener.connections(), { sniffing: 0, http1: 0, http2: 0 });
      // Closed: new connections are refused.
      await assert.rejects(request(`${srv.url}/healthz`));
    } finally {
      agent.destroy();
      await srv.close();
    }
  });

  it("lets an in-flight HTTP/1.1 request finish, then closes its keep-alive connection", T, async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const srv = await startTransportTestServer({
      interceptors: [
        (next) => async (req) => {
          if (req.header.get("x-slow") === "1") await gate;
          return next(req);
        },
      ],
    });
    const agent = new http.Agent({ keepAlive: true });
    try {
      const inflight = request(`${srv.url}/grpc.health.v1.Health/Check`, {
        method: "POST",
        agent,
        headers: { "content-type": "application/json", "x-slow": "1" },
        body: "{}",
      });
      await waitFor(() => srv.listener.connections().http1 === 1);
      await new Promise((r) => setTimeout(r, 50));
      const closing = srv.listener.close(10_000);
      setTimeout(release, 100);
      const res = await inflight;
      assert.equal(res.status, 200);
      assert.equal(res.headers.connection, "close");
      const t0 = Date.now();
      await closing;
      assert.ok(Date.now() - t0 < 2_000);
    } finally {
      agent.destroy();
      await srv.close();
    }
  });

  it("listen() rejects when the port is taken", T, async () => {
    const srv = await startTransportTestServer();
    try {
      await assert.rejects(listen({ host: "127.0.0.1", port: srv.port, handler: () => {} }), { code: "EADDRINUSE" });
    } finally {
      await srv.close();
    }
  });

  it("close() is idempotent", T, async () => {
    const srv = await startTransportTestServer();
    await Promise.all([srv.listener.close(), srv.listener.close()]);
    await srv.close();
  });
});

// buf curl, a real reflection client, if @bufbuild/buf is installed.
function findBin(name: string): string | undefined {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = path.join(dir, "node_modules", ".bin", name);
    if (existsSync(candidate)) return candidate;
    const parent = path.dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

function run(cmd: string, args: string[]): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: 15_000 }, (err, stdout, stderr) => {
      if (err) reject(Object.assign(err, { stdout, stderr }));
      else resolve({ stdout, stderr });
    });
  });
}

const buf = findBin("buf");

describe("transport: buf curl", { skip: buf ? false : "buf not found in node_modules/.bin (npm install @bufbuild/buf)" }, () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTransportTestServer();
  });
  after(async () => {
    await srv.close();
  });

  it("--list-services over gRPC (h2c prior knowledge), reflection v1", T, async () => {
    const { stdout } = await run(buf!, ["curl", "--protocol", "grpc", "--http2-prior-knowledge", "--list-services", srv.url]);
    assert.deepEqual(stdout.trim().split("\n").sort(), EXPECTED_SERVICES);
  });

  it("--list-services with reflection v1alpha", T, async () => {
    const { stdout } = await run(buf!, [
      "curl",
      "--protocol",
      "grpc",
      "--http2-prior-knowledge",
      "--reflect-protocol",
      "grpc-v1alpha",
      "--list-services",
      srv.url,
    ]);
    assert.deepEqual(stdout.trim().split("\n").sort(), EXPECTED_SERVICES);
  });

  it("calls Health/Check using descriptors from reflection", T, async () => {
    const { stdout } = await run(buf!, [
      "curl",
      "--protocol",
      "grpc",
      "--http2-prior-knowledge",
      "--data",
      '{"service":""}',
      `${srv.url}/grpc.health.v1.Health/Check`,
    ]);
    assert.deepEqual(JSON.parse(stdout), { status: "SERVING" });
  });

  it("--list-methods (descriptors of every listed service by reflection)", T, async () => {
    const { stdout } = await run(buf!, ["curl", "--protocol", "grpc", "--http2-prior-knowledge", "--list-methods", srv.url]);
    const methods = stdout.trim().split("\n");
    for (const m of [
      "grepstreams.v1.GrepService/Subscribe",
      "grpc.health.v1.Health/Watch",
      "grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
      "grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
    ]) {
      assert.ok(methods.includes(m), `${m} missing from:\n${stdout}`);
    }
  });
});
