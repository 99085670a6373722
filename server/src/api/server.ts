// The server: the engine behind one port that speaks the Connect protocol,
// gRPC-Web and gRPC (HTTP/1.1 and cleartext HTTP/2), plus plain HTTP routes:
// the SSE shim, /healthz, /metrics and the browser console at /.
import { setMaxListeners } from "node:events";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import type { ConnectRouter } from "@connectrpc/connect";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse, IncomingHttpHeaders, ServerHttp2Stream } from "node:http2";
import { GrepService } from "@grep-streams/sdk/gen/grepstreams/v1/grep_pb.js";
import { ServerReflection as ReflectionV1 } from "@grep-streams/sdk/gen/grpc/reflection/v1/reflection_pb.js";
import { ServerReflection as ReflectionV1alpha } from "@grep-streams/sdk/gen/grpc/reflection/v1alpha/reflection_pb.js";
import type { Engine } from "../pipeline/engine.js";
import type { Logger } from "../util/log.js";
import { grepService } from "./grep-service.js";
import { handleSse, SSE_PATH } from "./sse.js";
import { handleSubscribe, leanWire, SUBSCRIBE_PATH } from "./subscribe-stream.js";
import { handleProduce, leanProduceCodec, PRODUCE_MAX_BYTES, PRODUCE_PATH } from "./produce-unary.js";
import { metricsText } from "./metrics.js";
import { loadConsole } from "./console.js";
import { listen, type Listener } from "./transport/listener.js";
import { withCors } from "./transport/cors.js";
import { createHealthService, Health, HealthStatus, ServingStatus } from "./transport/health.js";
import { registerReflection } from "./transport/reflection.js";
import { coreIncoming, StreamReply } from "./transport/reply.js";

export interface ApiOptions {
  readonly host: string;
  readonly port: number;
  readonly corsOrigins: readonly string[];
}

export interface ApiServer {
  readonly url: string;
  readonly port: number;
  close(graceMs?: number): Promise<void>;
}

export async function startApi(engine: Engine, log: Logger, o: ApiOptions): Promise<ApiServer> {
  const health = new HealthStatus({ "": ServingStatus.SERVING, [GrepService.typeName]: ServingStatus.SERVING });
  const shutdown = new AbortController();
  // Connect adds one listener per open request to this signal: many long-lived streams are expected.
  setMaxListeners(0, shutdown.signal);
  const connect = connectNodeAdapter({
    routes: (router: ConnectRouter) => {
      grepService(engine, log.child({ api: "connect" }))(router);
      router.service(Health, createHealthService(health));
      registerReflection(router, [GrepService, Health, ReflectionV1, ReflectionV1alpha]);
    },
    shutdownSignal: shutdown.signal,
    // The lean handlers' limit on every other path too (Connect-ES sets none).
    readMaxBytes: PRODUCE_MAX_BYTES,
  });
  const sseLog = log.child({ api: "sse" });
  const subscribeLog = log.child({ api: "connect" });
  const consoleFiles = loadConsole();
  if (!consoleFiles.built) log.warn("the console is not built: / answers 404 until `npm run build` builds it");
  const handler = (req: IncomingMessage | Http2ServerRequest, res: ServerResponse | Http2ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    if (req.method === "GET" || req.method === "HEAD") {
      if (url.pathname === SSE_PATH) return void handleSse(engine, sseLog, req.headers, res, url);
      if (url.pathname === "/healthz") {
        const ok = !health.isShutDown;
        res.writeHead(ok ? 200 : 503, { "content-type": "text/plain" });
        return void res.end(ok ? "ok\n" : "shutting down\n");
      }
      if (url.pathname === "/metrics") {
        void metricsText(engine).then(
          (text) => {
            res.writeHead(200, { "content-type": "text/plain; version=0.0.4" });
            res.end(text);
          },
          (err) => {
            log.error("metrics failed", { err });
            res.writeHead(500).end();
          },
        );
        return;
      }
      if (consoleFiles.handle(req, res, url.pathname)) return;
    }
    // Subscribe streams in the common wire formats skip Connect-ES's per-stream pipeline (see subscribe-stream.ts).
    if (url.pathname === SUBSCRIBE_PATH) {
      const wire = leanWire(req);
      if (wire) return void handleSubscribe(engine, subscribeLog, shutdown.signal, wire, req, req, res);
    }
    // So do Produce calls in the Connect protocol's unary form (see produce-unary.ts).
    if (url.pathname === PRODUCE_PATH) {
      const codec = leanProduceCodec(req);
      if (codec) return void handleProduce(engine, subscribeLog, codec, req, req, res);
    }
    connect(req, res);
  };
  // HTTP/2 subscriptions (and Produce calls) are served through Node's core
  // API, without the compatibility layer's request/response pair (see transport/reply.ts).
  // Requests with an Origin take the other path, for their CORS headers.
  const streamHandler = (stream: ServerHttp2Stream, headers: IncomingHttpHeaders): boolean => {
    if (headers.origin !== undefined) return false;
    const url = new URL(headers[":path"] ?? "/", "http://localhost");
    if (url.pathname === SSE_PATH && headers[":method"] === "GET") {
      void handleSse(engine, sseLog, headers, new StreamReply(stream), url);
      return true;
    }
    if (url.pathname === SUBSCRIBE_PATH) {
      const req = coreIncoming(headers);
      const wire = leanWire(req);
      if (!wire) return false;
      void handleSubscribe(engine, subscribeLog, shutdown.signal, wire, req, stream, new StreamReply(stream, wire.protocol === "grpc"));
      return true;
    }
    // Produce as well: the compatibility layer's pair is a third of a lean call's cost.
    if (url.pathname === PRODUCE_PATH) {
      const req = coreIncoming(headers);
      const codec = leanProduceCodec(req);
      if (!codec) return false;
      void handleProduce(engine, subscribeLog, codec, req, stream, new StreamReply(stream));
      return true;
    }
    return false;
  };
  const listener: Listener = await listen({
    host: o.host,
    port: o.port,
    handler: withCors(handler, { allowedOrigins: o.corsOrigins.includes("*") ? "*" : o.corsOrigins, allowedHeaders: ["last-event-id"] }),
    streamHandler,
    onClose: () => {
      health.shutdown();
      shutdown.abort();
    },
    log: log.child({ api: "listener" }),
  });
  return {
    url: listener.url,
    port: listener.port,
    close: (graceMs) => listener.close(graceMs),
  };
}
