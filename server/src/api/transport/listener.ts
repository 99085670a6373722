// One TCP port for HTTP/1.1 (Connect, gRPC-Web, plain GET/SSE) and cleartext
// HTTP/2 (gRPC, Connect over h2).
//
// Cleartext HTTP/2 servers in Node do not accept HTTP/1.1 clients (allowHTTP1
// needs TLS/ALPN), so each new socket is sniffed: an HTTP/2 client with prior
// knowledge starts with the 24-byte connection preface
// "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"; anything else is HTTP/1.x. The bytes read
// are pushed back (unshift) and the socket is handed to an http2 or an http
// server that never listens itself ('connection' event).
//
// The decision is taken as soon as the bytes seen so far stop matching the
// preface (usually after the first byte: "GET", "POST" and "OPTIONS" differ
// at byte 0 or 1), or when all 24 bytes match. A client that sends a strict
// prefix of the preface and stalls, or sends nothing, is dropped after
// sniffTimeoutMs; one that closes before the decision is dropped. TLS is not
// supported: a TLS ClientHello (first byte 0x16) is dropped at once.
// "Upgrade: h2c" over HTTP/1.1 is not supported either (Node has no h2c
// upgrade); such requests are served as plain HTTP/1.1.

import * as http from "node:http";
import * as http2 from "node:http2";
import * as net from "node:net";

/** What connectNodeAdapter() returns; also fine for http.createServer and http2.createServer. */
export type NodeRequestHandler = (
  req: http.IncomingMessage | http2.Http2ServerRequest,
  res: http.ServerResponse | http2.Http2ServerResponse,
) => void;

/** Minimal logger (structurally compatible with server/src/util/log.ts). */
export interface ListenerLog {
  debug(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
}

export interface ListenOptions {
  /** Interface to bind, e.g. "127.0.0.1", "0.0.0.0" or "::". */
  host: string;
  /** Port; 0 picks a free one (see Listener.port). */
  port: number;
  handler: NodeRequestHandler;
  /**
   * Offered each HTTP/2 stream before Node's compatibility layer makes a
   * request/response pair of it: returns true when it serves the stream
   * itself (through the core API), false to leave it to `handler` (so does
   * a throw, which is logged).
   */
  streamHandler?: (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => boolean;
  /**
   * Called once when close() starts, before waiting for in-flight requests.
   * Abort the `shutdownSignal` given to connectNodeAdapter here so that
   * long-lived streams end now rather than being cut after the grace period.
   */
  onClose?: () => void;
  /** Drop a new connection that has not sent enough bytes to be classified within this time (default 30 s). */
  sniffTimeoutMs?: number;
  /** HTTP/1.1 server timeouts (ms). Defaults: requestTimeout 0 (off: long streams), headersTimeout 60 s, keepAliveTimeout 5 s. */
  http1?: { requestTimeout?: number; headersTimeout?: number; keepAliveTimeout?: number };
  /** HTTP/2 settings sent to clients. */
  http2Settings?: http2.Settings;
  log?: ListenerLog;
}

export interface Listener {
  /** The bound port (the one picked when port 0 was asked for). */
  readonly port: number;
  /** Base URL for clients, e.g. "http://127.0.0.1:8080" (loopback when bound to all interfaces). */
  readonly url: string;
  /**
   * Stop accepting, close idle HTTP/1 keep-alive connections, send GOAWAY on
   * HTTP/2 sessions, wait up to graceMs (default 5000) for in-flight requests,
   * then destroy what remains. Idempotent; resolves once every socket is closed.
   */
  close(graceMs?: number): Promise<void>;
  /** Open connections by kind (for tests and metrics). */
  connections(): { sniffing: number; http1: number; http2: number };
}

const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");
const TLS_HANDSHAKE = 0x16;

export type SniffResult = "http2" | "http1" | "tls" | "undecided";

/** Classify the first bytes of a connection. */
export function sniff(head: Uint8Array): SniffResult {
  const n = Math.min(head.length, PREFACE.length);
  if (Buffer.compare(head.subarray(0, n), PREFACE.subarray(0, n)) === 0) {
    return head.length >= PREFACE.length ? "http2" : "undecided";
  }
  return head[0] === TLS_HANDSHAKE ? "tls" : "http1";
}

export async function listen(options: ListenOptions): Promise<Listener> {
  const { handler, log } = options;
  const sniffTimeoutMs = options.sniffTimeoutMs ?? 30_000;
  let closing = false;
  let closed: Promise<void> | undefined;

  const sniffing = new Set<net.Socket>();
  const h1Sockets = new Set<net.Socket>();
  const h2Sockets = new Set<net.Socket>();
  const sessions = new Set<http2.ServerHttp2Session>();
  const h1Pending = new Set<http.ServerResponse>();

  const safeHandle: NodeRequestHandler = (req, res) => {
    try {
      handler(req, res);
    } catch (err) {
      log?.warn("request handler threw", { err, url: req.url });
      if (!res.headersSent) {
        res.statusCode = 500;
        res.end();
      } else {
        res.destroy();
      }
    }
  };

  const requestTimeout = options.http1?.requestTimeout ?? 0;
  const h1 = http.createServer(
    {
      requestTimeout,
      // Node refuses headersTimeout > requestTimeout when the latter is on.
      headersTimeout: options.http1?.headersTimeout ?? (requestTimeout > 0 ? Math.min(60_000, requestTimeout) : 60_000),
      keepAliveTimeout: options.http1?.keepAliveTimeout ?? 5_000,
    },
    (req, res) => {
      if (closing) res.shouldKeepAlive = false; // "Connection: close", then the socket ends
      h1Pending.add(res);
      res.once("close", () => {
        h1Pending.delete(res);
        // A keep-alive connection whose response finished during close() is now idle.
        if (closing) setImmediate(() => h1.closeIdleConnections());
      });
      safeHandle(req, res);
    },
  );
  // The http server never listens itself, but its connection tracking (which
  // enforces headersTimeout/requestTimeout and backs closeIdleConnections())
  // is set up on 'listening'.
  h1.emit("listening");

  const h2 = http2.createServer({ settings: options.http2Settings ?? {} }, safeHandle);
  if (options.streamHandler) offerStreams(h2, options.streamHandler, () => closing, log);
  h2.setTimeout(0); // no idle timeout on sessions: server streams can be quiet for long
  h2.on("session", (session: http2.ServerHttp2Session) => {
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
    if (closing) session.close();
  });
  h2.on("sessionError", (err: Error) => log?.debug("http2 session error", { err }));

  const tcp = net.createServer({ allowHalfOpen: true, noDelay: true }, (socket) => {
    if (closing) {
      socket.destroy();
      return;
    }
    classify(socket);
  });
  tcp.on("error", (err) => log?.warn("listener error", { err }));

  function classify(socket: net.Socket): void {
    sniffing.add(socket);
    let head: Buffer = Buffer.alloc(0);
    const timer = setTimeout(() => {
      log?.debug("dropping connection: no request within sniff timeout", { remote: socket.remoteAddress });
      drop();
    }, sniffTimeoutMs);
    timer.unref();
    const done = () => {
      clearTimeout(timer);
      sniffing.delete(socket);
      socket.off("data", onData);
      socket.off("end", drop);
      socket.off("error", drop);
    };
    function drop() {
      done();
      socket.destroy();
    }
    function onData(chunk: Buffer) {
      head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
      const kind = sniff(head);
      if (kind === "undecided") return;
      done();
      if (kind === "tls") {
        log?.debug("dropping connection: TLS is not supported on this port", { remote: socket.remoteAddress });
        socket.destroy();
        return;
      }
      socket.pause();
      socket.unshift(head);
      if (kind === "http2") {
        track(socket, h2Sockets);
        socket.allowHalfOpen = false; // as on a socket accepted by an http2 server
        // Http2Session reads what is already buffered on the socket (next tick).
        h2.emit("connection", socket);
      } else {
        track(socket, h1Sockets);
        h1.emit("connection", socket);
        // The http parser takes over the socket's handle; the bytes pushed
        // back are delivered through the 'data' listener it registered.
        socket.resume();
      }
    }
    socket.on("data", onData);
    socket.once("end", drop); // closed before we could tell: nothing to serve
    socket.once("error", drop);
  }

  function track(socket: net.Socket, set: Set<net.Socket>): void {
    set.add(socket);
    socket.once("close", () => set.delete(socket));
  }

  try {
    await new Promise<void>((resolve, reject) => {
      tcp.once("error", reject);
      tcp.listen({ host: options.host, port: options.port }, () => {
        tcp.off("error", reject);
        resolve();
      });
    });
  } catch (err) {
    h1.close(() => {}); // stop its connection-checking interval
    throw err;
  }
  const address = tcp.address() as net.AddressInfo;
  const url = `http://${urlHost(options.host)}:${address.port}`;

  async function shutdown(graceMs: number): Promise<void> {
    closing = true;
    try {
      options.onClose?.();
    } catch (err) {
      log?.warn("onClose threw", { err });
    }
    const allClosed = new Promise<void>((resolve) => tcp.close(() => resolve())); // stop accepting
    for (const s of [...sniffing]) s.destroy();
    for (const res of h1Pending) if (!res.headersSent) res.shouldKeepAlive = false;
    h1.closeIdleConnections();
    for (const s of [...sessions]) s.close(); // GOAWAY; the session ends when its streams do

    let timer: NodeJS.Timeout | undefined;
    const graceOver = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), Math.max(0, graceMs));
    });
    const first = await Promise.race([allClosed.then(() => "closed" as const), graceOver]);
    clearTimeout(timer);
    if (first === "timeout") {
      log?.debug("close: grace period over, destroying connections", {
        http1: h1Sockets.size,
        http2: h2Sockets.size,
      });
      for (const s of [...sessions]) s.destroy();
      for (const s of [...h1Sockets, ...h2Sockets, ...sniffing]) s.destroy();
      await allClosed;
    }
    h1.close(() => {}); // clears its connection-checking interval (it never listened)
  }

  return {
    port: address.port,
    url,
    close(graceMs = 5_000) {
      closed ??= shutdown(graceMs);
      return closed;
    },
    connections: () => ({ sniffing: open(sniffing), http1: open(h1Sockets), http2: open(h2Sockets) }),
  };
}

/**
 * Puts `take` in front of the compatibility layer. Node implements that
 * layer as a 'stream' listener of the server, added with the 'request'
 * listener: it is moved behind `take` and called for the streams `take`
 * leaves.
 */
function offerStreams(h2: http2.Http2Server, take: NonNullable<ListenOptions["streamHandler"]>, closing: () => boolean, log: ListenerLog | undefined): void {
  const compat = h2.listeners("stream") as Array<(...args: unknown[]) => void>;
  if (compat.length === 0) throw new Error("listen: Node's HTTP/2 compatibility layer is not a 'stream' listener of the server (a Node version this code does not know)");
  h2.removeAllListeners("stream");
  h2.on("stream", function (this: http2.Http2Server, stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, ...rest: unknown[]) {
    let taken = false;
    try {
      taken = !closing() && take(stream, headers);
    } catch (err) {
      // (A throw here would reach the event loop: the compatibility path answers instead.)
      log?.warn("HTTP/2 stream handler threw", { err, path: headers[":path"] });
    }
    if (taken) return;
    for (const l of compat) l.call(this, stream, headers, ...rest);
  });
}

/** Sockets not yet destroyed ('close' comes a little after destroy()). */
function open(sockets: Set<net.Socket>): number {
  let n = 0;
  for (const s of sockets) if (!s.destroyed) n++;
  return n;
}

function urlHost(host: string): string {
  if (host === "" || host === "0.0.0.0") return "127.0.0.1";
  if (host === "::" || host === "[::]") return "[::1]";
  if (net.isIPv6(host)) return `[${host}]`;
  return host;
}
