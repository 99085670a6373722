// A lean handler for Produce in the Connect protocol's unary form (POST,
// application/proto or application/json, no compression), the way load
// generators and the SDK call it.
//
// Why not Connect-ES's own unary handler: measured on this machine
// (2 cores, Node 20), a unary call through it costs the server about 0.9 ms
// of main-thread CPU (Headers objects, linked abort signals, a DOMException
// per call when the handler context is aborted at the end, async-iterable
// body reading), against about 0.2 ms for a plain HTTP/2 request. On the
// embedded log every message comes in through Produce, so at 200 calls a
// second that was a fifth of the main thread, the thread that also reads,
// commits and delivers (docs/benchmarks.md, "Issue 9, fourth pass").
//
// The implementation is the same function Connect-ES calls (topics.ts), and
// errors read as Connect-ES writes them (status from the code, the JSON error
// body). On HTTP/2 it is served through Node's core API (transport/reply.ts).
// Everything else goes to Connect-ES: compressed bodies, GET, gRPC and
// gRPC-Web, other methods.

import { Code, ConnectError } from "@connectrpc/connect";
import { codeToHttpStatus, errorToJsonBytes, parseContentType, parseTimeout } from "@connectrpc/connect/protocol-connect";
import { create, toBinary, toJsonString } from "@bufbuild/protobuf";
import { GrepService, ProduceRequestSchema, ProduceResponseSchema } from "@grep-streams/sdk/gen/grepstreams/v1/grep_pb.js";
import type { Engine } from "../pipeline/engine.js";
import type { Logger } from "../util/log.js";
import { produce } from "./topics.js";
import { toConnectError } from "./status.js";
import type { Incoming, Reply } from "./transport/reply.js";
import { decodeRequest, headerOf, isIdentity, readBody } from "./transport/read-body.js";
import type { Codec } from "./event-encoding.js";

export const PRODUCE_PATH = `/${GrepService.typeName}/${GrepService.method.produce.name}`;

/** Produce calls this handler served (the rest went to Connect-ES): for tests. */
export const leanProduce = { served: 0 };

/**
 * A request body larger than this is refused with RESOURCE_EXHAUSTED. A
 * batch holds at most MAX_PRODUCE_BATCH messages; 64 MiB is far more than
 * 10,000 messages of a few KB. (Connect-ES sets no limit of its own; the
 * server gives it this one, server.ts.)
 */
export const PRODUCE_MAX_BYTES = 64 << 20;


/** The codec of a Produce request this handler serves, or null to leave it to Connect-ES. */
export function leanProduceCodec(req: Incoming): Codec | null {
  if (req.method !== "POST") return null;
  const type = parseContentType(headerOf(req, "content-type") ?? null);
  if (!type || type.stream || !isIdentity(headerOf(req, "content-encoding"))) return null;
  return type.binary ? "proto" : "json";
}

/** Serves one Produce call; never rejects (a failure is the response). */
export async function handleProduce(engine: Engine, log: Logger, codec: Codec, req: Incoming, from: AsyncIterable<Buffer>, res: Reply): Promise<void> {
  leanProduce.served++;
  let status = 200;
  let type = codec === "proto" ? "application/proto" : "application/json";
  let body: Uint8Array;
  try {
    const timeout = parseTimeout(headerOf(req, "connect-timeout-ms") ?? null, Number.MAX_SAFE_INTEGER);
    if (timeout.error) throw timeout.error;
    const request = decodeRequest(ProduceRequestSchema, codec, await readBody(from, PRODUCE_MAX_BYTES));
    const out = create(ProduceResponseSchema, await withDeadline(produce(engine, request), timeout.timeoutMs));
    body = codec === "proto" ? toBinary(ProduceResponseSchema, out) : Buffer.from(toJsonString(ProduceResponseSchema, out));
  } catch (err) {
    // A client that went away mid-request is not the server's failure.
    if (res.destroyed) return;
    const e = toConnectError(err);
    if (e.code === Code.Internal) log.error("Produce failed", { err });
    status = codeToHttpStatus(e.code);
    type = "application/json";
    body = errorToJsonBytes(e, {});
  }
  if (res.destroyed || res.writableEnded) return;
  res.writeHead(status, { "content-type": type, "content-length": body.length });
  res.end(body);
}

/** The call's deadline (connect-timeout-ms) as Connect-ES applies it: DEADLINE_EXCEEDED once it passes. */
function withDeadline<T>(work: Promise<T>, timeoutMs: number | undefined): Promise<T> {
  if (timeoutMs === undefined) return work;
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ConnectError("the operation timed out", Code.DeadlineExceeded)), timeoutMs);
  });
  return Promise.race([work, expired]).finally(() => clearTimeout(timer));
}
