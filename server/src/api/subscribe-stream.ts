// A lean handler for Subscribe, the one long-lived call, in the Connect
// streaming protocol, gRPC and gRPC-Web (binary framing; proto or JSON).
//
// Why not Connect-ES's own handler: it runs each stream through a pipeline
// of async iterables (split, decompress, parse, invoke, serialize, compress,
// join; compiled to ES2017 generator helpers), with linked abort signals and
// Headers objects: about 37 KiB of heap per open stream, against about 9 KiB
// for an SSE stream, for the same cursor (bench/fanout-memory.mjs). Here a
// stream is one async function writing length-prefixed frames straight to
// the HTTP response, waiting for 'drain' like the SSE shim (a slow reader
// holds its cursor, never a growing buffer), and events are encoded with the
// record's part shared by all subscribers (event-encoding.ts).
//
// On HTTP/2 the stream is served through Node's core API, without the
// compatibility layer's request/response pair (transport/reply.ts).
//
// Only what is simple is served here; everything else goes to Connect-ES
// (leanWire() returns null): compressed requests, gRPC-Web text, gRPC over
// HTTP/1.1, other methods. Responses are not compressed (identity is always
// allowed). Protocol details come from Connect-ES's protocol modules, so
// errors, trailers and timeouts read as they did.

import { Code, ConnectError } from "@connectrpc/connect";
import { endStreamFlag, endStreamToJson, parseContentType as parseConnectType, parseTimeout as parseConnectTimeout } from "@connectrpc/connect/protocol-connect";
import { parseContentType as parseGrpcType, parseTimeout as parseGrpcTimeout, setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import { parseContentType as parseGrpcWebType, trailerFlag, trailerSerialize } from "@connectrpc/connect/protocol-grpc-web";
import { GrepService, SubscribeRequestSchema, type SubscribeRequest } from "@grep-streams/sdk/gen/grepstreams/v1/grep_pb.js";
import type { Engine } from "../pipeline/engine.js";
import type { Logger } from "../util/log.js";
import { openSubscription, type OpenedSubscription } from "./grep-service.js";
import { encodeItem, encodeMessage, type Codec } from "./event-encoding.js";
import { toConnectError } from "./status.js";
import { Stop, write } from "./stop.js";
import type { Incoming, Reply } from "./transport/reply.js";
import { decodeRequest, headerOf, isIdentity, readBody } from "./transport/read-body.js";

export const SUBSCRIBE_PATH = `/${GrepService.typeName}/${GrepService.method.subscribe.name}`;

/** Subscribe calls this handler served (the rest went to Connect-ES): for /metrics and tests. */
export const leanStreams = { served: 0 };

/** A request body larger than this is refused (a SubscribeRequest is a filter and a few fields). */
const READ_MAX_BYTES = 4 << 20;

export interface Wire {
  readonly protocol: "connect" | "grpc" | "grpc-web";
  readonly codec: Codec;
}


/** The protocol of a Subscribe request this handler serves, or null to leave it to Connect-ES. */
export function leanWire(req: Incoming): Wire | null {
  if (req.method !== "POST") return null;
  const type = headerOf(req, "content-type");
  if (type === undefined) return null;
  const connect = parseConnectType(type);
  if (connect) return connect.stream && isIdentity(headerOf(req, "connect-content-encoding")) ? { protocol: "connect", codec: connect.binary ? "proto" : "json" } : null;
  const web = parseGrpcWebType(type);
  if (web) return !web.text && isIdentity(headerOf(req, "grpc-encoding")) ? { protocol: "grpc-web", codec: web.binary ? "proto" : "json" } : null;
  const grpc = parseGrpcType(type);
  // gRPC needs HTTP/2 trailers.
  if (grpc) return req.httpVersionMajor === 2 && isIdentity(headerOf(req, "grpc-encoding")) ? { protocol: "grpc", codec: grpc.binary ? "proto" : "json" } : null;
  return null;
}

const CONTENT_TYPES: Record<Wire["protocol"], Record<Codec, string>> = {
  connect: { proto: "application/connect+proto", json: "application/connect+json" },
  grpc: { proto: "application/grpc+proto", json: "application/grpc+json" },
  "grpc-web": { proto: "application/grpc-web+proto", json: "application/grpc-web+json" },
};

/**
 * Serves one Subscribe call until the client goes, the server shuts down
 * (the stream then ends normally, as Connect-ES ended it) or the call's
 * deadline passes.
 */
export async function handleSubscribe(engine: Engine, log: Logger, shutdown: AbortSignal, wire: Wire, req: Incoming, body: AsyncIterable<Buffer>, res: Reply): Promise<void> {
  leanStreams.served++;
  const abort = new Stop();
  let gone = false;
  const onClose = () => {
    gone = true;
    abort.abort();
  };
  res.on("close", onClose);
  shutdown.addEventListener("abort", abort, { once: true });
  let deadline: NodeJS.Timeout | undefined;
  let error: ConnectError | undefined;
  let opened: OpenedSubscription | undefined;
  try {
    const timeout = wire.protocol === "connect" ? parseConnectTimeout(headerOf(req, "connect-timeout-ms") ?? null, Number.MAX_SAFE_INTEGER) : parseGrpcTimeout(headerOf(req, "grpc-timeout") ?? null, Number.MAX_SAFE_INTEGER);
    if (timeout.error) throw timeout.error;
    if (timeout.timeoutMs !== undefined) {
      deadline = setTimeout(() => {
        error = new ConnectError("the operation timed out", Code.DeadlineExceeded);
        abort.abort();
      }, timeout.timeoutMs);
    }
    const request = await readRequest(body, wire.codec);
    if (abort.aborted) return;
    opened = await openSubscription(engine, request);
    const { sub, projection, started } = opened;
    const omitPayload = request.omitPayload;
    res.writeHead(200, { "content-type": CONTENT_TYPES[wire.protocol][wire.codec] });
    await write(res, frame(0, encodeMessage(wire.codec, started)), abort);
    for await (const item of sub.cursor.items(abort)) {
      await write(res, frame(0, encodeItem(wire.codec, engine, sub.stream, item, omitPayload, projection)), abort);
    }
  } catch (err) {
    if (!abort.aborted) {
      error = toConnectError(err);
      if (error.code === Code.Internal) log.error("Subscribe failed", { err });
    }
  } finally {
    opened?.sub.close();
    clearTimeout(deadline);
    res.off("close", onClose);
    shutdown.removeEventListener("abort", abort);
    if (!gone) finish(wire, res, error);
  }
}

/** Reads and decodes the one request message. */
async function readRequest(from: AsyncIterable<Buffer>, codec: Codec): Promise<SubscribeRequest> {
  const body = await readBody(from, READ_MAX_BYTES);
  if (body.length < 5) throw new ConnectError("protocol error: missing input message for server-streaming method", Code.InvalidArgument);
  const flags = body[0]!;
  const length = body.readUInt32BE(1);
  if (flags !== 0) throw new ConnectError(`protocol error: unexpected envelope flags ${flags} (compression was not negotiated)`, Code.InvalidArgument);
  if (5 + length > body.length) throw new ConnectError("protocol error: premature end of stream", Code.InvalidArgument);
  if (5 + length < body.length) throw new ConnectError("protocol error: received extra input message for server-streaming method", Code.InvalidArgument);
  return decodeRequest(SubscribeRequestSchema, codec, body.subarray(5));
}

/** One length-prefixed frame (the envelope of all three protocols). */
function frame(flags: number, data: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(5 + data.length);
  out[0] = flags;
  out.writeUInt32BE(data.length, 1);
  out.set(data, 5);
  return out;
}

/** Ends the response the way the protocol ends a stream: status in an end frame or in trailers. */
function finish(wire: Wire, res: Reply, error: ConnectError | undefined): void {
  if (res.writableEnded || res.destroyed) return;
  if (!res.headersSent) res.writeHead(200, { "content-type": CONTENT_TYPES[wire.protocol][wire.codec] });
  switch (wire.protocol) {
    case "connect": {
      const end = endStreamToJson(new Headers(), error, undefined);
      res.end(frame(endStreamFlag, Buffer.from(JSON.stringify(end))));
      return;
    }
    case "grpc-web": {
      const trailer = setTrailerStatus(new Headers(), error);
      res.end(frame(trailerFlag, trailerSerialize(trailer)));
      return;
    }
    case "grpc": {
      const trailer = setTrailerStatus(new Headers(), error);
      const trailers: Record<string, string> = {};
      trailer.forEach((value, key) => (trailers[key] = value));
      res.addTrailers(trailers);
      res.end();
      return;
    }
  }
}
