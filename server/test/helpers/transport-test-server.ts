// A real listener on 127.0.0.1:0 serving a tiny Connect router (Health and
// reflection v1/v1alpha for the grepstreams.v1 file), GET /healthz before
// Connect, and CORS; plus client helpers that clean up after themselves.

import * as net from "node:net";
import type { Interceptor } from "@connectrpc/connect";
import { connectNodeAdapter, Http2SessionManager } from "@connectrpc/connect-node";
import { file_grepstreams_v1_grep } from "@grep-streams/sdk/gen/grepstreams/v1/grep_pb.js";
import { file_grpc_health_v1_health } from "@grep-streams/sdk/gen/grpc/health/v1/health_pb.js";
import { withCors, type CorsOptions } from "../../src/api/transport/cors.js";
import { createHealthService, Health, HealthStatus, ServingStatus } from "../../src/api/transport/health.js";
import { listen, type Listener, type ListenOptions, type NodeRequestHandler } from "../../src/api/transport/listener.js";
import { registerReflection } from "../../src/api/transport/reflection.js";

export interface TestServer {
  listener: Listener;
  url: string;
  port: number;
  health: HealthStatus;
  /** The shutdownSignal's controller given to connectNodeAdapter (aborted by close() when abortStreamsOnClose). */
  shutdown: AbortController;
  /** An HTTP/2 session manager for client transports; aborted by close(). */
  h2Session(): Http2SessionManager;
  /** Close the listener (graceMs default 2000) and every client session made by h2Session(). */
  close(graceMs?: number): Promise<void>;
}

export interface TestServerOptions {
  cors?: CorsOptions;
  /** Abort the Connect shutdownSignal when close() starts (default false). */
  abortStreamsOnClose?: boolean;
  sniffTimeoutMs?: number;
  interceptors?: Interceptor[];
  listen?: Partial<Pick<ListenOptions, "http1" | "log">>;
}

export async function startTransportTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const health = new HealthStatus({ "": ServingStatus.SERVING, "grepstreams.v1.GrepService": ServingStatus.SERVING });
  const shutdown = new AbortController();
  const connect = connectNodeAdapter({
    shutdownSignal: shutdown.signal,
    interceptors: options.interceptors ?? [],
    routes: (router) => {
      router.service(Health, createHealthService(health));
      registerReflection(router, [file_grepstreams_v1_grep, file_grpc_health_v1_health]);
    },
  });
  const routed: NodeRequestHandler = (req, res) => {
    if (req.method === "GET" && req.url === "/healthz") {
      res.writeHead(200, { "content-type": "text/plain" });
      res.end("ok");
      return;
    }
    connect(req, res);
  };
  const listener = await listen({
    host: "127.0.0.1",
    port: 0,
    handler: withCors(routed, options.cors),
    onClose: options.abortStreamsOnClose ? () => shutdown.abort() : undefined,
    sniffTimeoutMs: options.sniffTimeoutMs,
    ...options.listen,
  });
  const sessions: Http2SessionManager[] = [];
  return {
    listener,
    url: listener.url,
    port: listener.port,
    health,
    shutdown,
    h2Session() {
      const m = new Http2SessionManager(listener.url);
      sessions.push(m);
      return m;
    },
    async close(graceMs = 2_000) {
      try {
        await listener.close(graceMs);
      } finally {
        for (const m of sessions) m.abort();
      }
    },
  };
}

/**
 * A TCP proxy that forwards the first `trickleBytes` bytes of each client
 * connection one byte at a time (a few ms apart), then pipes: the listener
 * sees the HTTP/2 preface or the HTTP/1 request line in tiny chunks.
 */
export async function startTrickleProxy(
  target: { port: number; host?: string },
  trickleBytes = 40,
): Promise<{ port: number; url: string; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ noDelay: true }, (client) => {
    const upstream = net.connect({ port: target.port, host: target.host ?? "127.0.0.1", noDelay: true });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
      s.on("error", () => {
        client.destroy();
        upstream.destroy();
      });
    }
    upstream.pipe(client);
    let left = trickleBytes;
    const queue: number[] = [];
    let pumping = false;
    let ended = false;
    const pump = () => {
      if (pumping) return;
      pumping = true;
      const step = () => {
        const byte = queue.shift();
        if (byte === undefined) {
          pumping = false;
          if (ended) upstream.end();
          return;
        }
        upstream.write(Buffer.from([byte]));
        setTimeout(step, 2);
      };
      step();
    };
    client.on("data", (chunk: Buffer) => {
      if (left <= 0 && queue.length === 0) {
        upstream.write(chunk);
        return;
      }
      const slow = chunk.subarray(0, Math.max(0, left));
      left -= slow.length;
      queue.push(...slow);
      const rest = chunk.subarray(slow.length);
      // Bytes past the trickled prefix wait behind it.
      queue.push(...rest);
      pump();
    });
    client.on("end", () => {
      ended = true;
      if (!pumping) upstream.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
