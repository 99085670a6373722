// The GrepService over Connect (gRPC, gRPC-Web and the Connect protocol).
// Thin: converts messages and errors; the engine does the work.
import { Code, type ConnectRouter, type HandlerContext } from "@connectrpc/connect";
import type { MessageInitShape } from "@bufbuild/protobuf";
import {
  GrepService,
  type CountRequest,
  type Filter,
  type ProduceRequest,
  type StartPosition,
  type SubscribeRequest,
  type ValidateFilterRequest,
  type SubscribeResponseSchema,
  type CountResponseSchema,
} from "@grep-streams/sdk/gen/grepstreams/v1/grep_pb.js";
import type { CompiledFilter, FilterSpec } from "../filter/index.js";
import type { Engine, Subscription } from "../pipeline/engine.js";
import type { StartSpec } from "../pipeline/start.js";
import type { CursorItem } from "../cursor/cursor.js";
import type { ActiveStream } from "../pipeline/streams.js";
import { RequestError } from "../util/request-error.js";
import type { Logger } from "../util/log.js";
import { payloadOf, projectionOf } from "./payload.js";
import { toConnectError } from "./status.js";
import { produce, listTopics } from "./topics.js";

export type SubscribeOut = MessageInitShape<typeof SubscribeResponseSchema>;
type CountOut = MessageInitShape<typeof CountResponseSchema>;

export function specOf(f: Filter | undefined): FilterSpec {
  return {
    topics: f?.topics ?? [],
    topicRegex: f?.topicRegex ?? "",
    keyPrefix: f?.keyPrefix ?? [],
    keyRegex: f?.keyRegex ?? "",
    query: f?.query ?? "",
    projection: f?.projection ?? "",
  };
}

export function startSpecOf(s: StartPosition | undefined): StartSpec {
  const p = s?.position;
  switch (p?.case) {
    case "earliest":
      return { kind: "earliest" };
    case "timestampMs":
      return { kind: "time", ms: Number(p.value) };
    case "afterEventId":
      return { kind: "after", eventId: p.value };
    default:
      return { kind: "latest" };
  }
}

/** Turns a cursor item into the Subscribe response message. */
export function responseOf(engine: Engine, stream: ActiveStream, item: CursorItem, omitPayload: boolean, projection: CompiledFilter | null): SubscribeOut {
  switch (item.kind) {
    case "event": {
      const { row, record } = item;
      const base = {
        id: engine.eventId(stream, row),
        epoch: row.epoch,
        seq: BigInt(row.seq),
        topic: row.topic,
        partition: row.partition,
        offset: BigInt(row.offset),
        timestampMs: BigInt(row.timestamp),
      };
      if (omitPayload) return { kind: { case: "event", value: base } };
      const p = payloadOf(record, projection);
      return {
        kind: {
          case: "event",
          value: {
            ...base,
            key: p.key ?? [],
            rawKey: p.rawKey ?? new Uint8Array(0),
            valueJson: p.valueJson ?? "",
            rawValue: p.rawValue ?? new Uint8Array(0),
            headers: record.headers.map(([key, value]) => ({ key, value })),
          },
        },
      };
    }
    case "gap":
      return {
        kind: {
          case: "gap",
          value: { fromEventId: engine.eventId(stream, item.from), toEventId: engine.eventId(stream, item.to), count: BigInt(item.count), reason: item.reason },
        },
      };
    case "progress":
      return {
        kind: {
          case: "progress",
          value: {
            scanned: BigInt(item.scanned),
            total: BigInt(item.total),
            fraction: item.total > 0 ? item.scanned / item.total : 1,
            etaMs: BigInt(item.etaMs),
            matched: BigInt(item.matched),
          },
        },
      };
    case "heartbeat":
      return {
        kind: { case: "heartbeat", value: { headEventId: engine.eventId(stream, item.head), lag: BigInt(item.lag), serverTimeMs: BigInt(Date.now()) } },
      };
  }
}

/** An open subscription and its first message; the caller closes `sub`. */
export interface OpenedSubscription {
  readonly sub: Subscription;
  /** The filter whose projection shapes the values, or null. */
  readonly projection: CompiledFilter | null;
  readonly started: SubscribeOut;
}

/**
 * Opens the subscription a Subscribe request asks for (shared by the
 * Connect-ES handler and the lean one of subscribe-stream.ts). Throws
 * RequestErrors for bad requests.
 */
export async function openSubscription(engine: Engine, req: SubscribeRequest): Promise<OpenedSubscription> {
  const filter = engine.compile(specOf(req.filter));
  const sub = await engine.subscribe(filter, {
    start: startSpecOf(req.start),
    window: req.window,
    ...(req.durableName ? { durableName: req.durableName } : {}),
  });
  try {
    const started: SubscribeOut = {
      kind: {
        case: "started",
        value: {
          streamId: sub.stream.record.streamId,
          subscriptionId: sub.id,
          resolvedAfterEventId: engine.eventId(sub.stream, sub.start),
          headEventId: engine.eventId(sub.stream, engine.headPosition(sub.stream)),
          canonicalFilter: filter.canonical,
          warnings: await engine.warningsFor(filter),
        },
      },
    };
    return { sub, projection: projectionOf(filter), started };
  } catch (err) {
    sub.close();
    throw err;
  }
}

export function grepService(engine: Engine, log: Logger) {
  return (router: ConnectRouter) =>
    router.service(GrepService, {
      async *subscribe(req: SubscribeRequest, ctx: HandlerContext): AsyncGenerator<SubscribeOut> {
        try {
          const { sub, projection, started } = await openSubscription(engine, req);
          try {
            yield started;
            for await (const item of sub.cursor.items(ctx.signal)) yield responseOf(engine, sub.stream, item, req.omitPayload, projection);
          } finally {
            sub.close();
          }
        } catch (err) {
          if (ctx.signal.aborted) return;
          throw logged(log, err);
        }
      },

      async ack(req) {
        try {
          return { unacked: engine.ack(req.subscriptionId, req.eventId) };
        } catch (err) {
          throw logged(log, err);
        }
      },

      async *count(req: CountRequest, ctx: HandlerContext): AsyncGenerator<CountOut> {
        try {
          const filter = engine.compile(specOf(req.filter));
          if (req.toMs > 0n && req.fromMs >= req.toMs) throw new RequestError("invalid_argument", "to_ms must be after from_ms");
          const range = { fromMs: Number(req.fromMs), toMs: Number(req.toMs), bucketMs: Number(req.bucketMs) };
          for await (const out of engine.count(filter, range, ctx.signal)) {
            if (out.kind === "progress") {
              yield {
                kind: {
                  case: "progress",
                  value: {
                    messagesScanned: BigInt(out.messagesScanned),
                    bytesScanned: BigInt(out.bytesScanned),
                    matched: BigInt(out.matched),
                    messagesTotal: BigInt(out.messagesTotal),
                    fraction: out.fraction,
                    etaMs: BigInt(out.etaMs),
                    partitions: out.partitions.map(partitionOut),
                  },
                },
              };
            } else {
              yield {
                kind: {
                  case: "result",
                  value: {
                    matched: BigInt(out.matched),
                    messagesScanned: BigInt(out.messagesScanned),
                    bytesScanned: BigInt(out.bytesScanned),
                    matchedBytes: BigInt(out.matchedBytes),
                    skippedNonJson: BigInt(out.skippedNonJson),
                    skippedBadKey: BigInt(out.skippedBadKey),
                    sizes: out.sizes.map((s) => ({ leBytes: BigInt(s.leBytes), count: BigInt(s.count) })),
                    times: out.times.map((t) => ({ startMs: BigInt(t.startMs), count: BigInt(t.count) })),
                    partitions: out.partitions.map(partitionOut),
                    elapsedMs: BigInt(out.elapsedMs),
                    answeredFrom: out.answeredFrom,
                  },
                },
              };
            }
          }
        } catch (err) {
          if (ctx.signal.aborted) return;
          throw logged(log, err);
        }
      },

      async produce(req: ProduceRequest) {
        try {
          return await produce(engine, req);
        } catch (err) {
          throw logged(log, err);
        }
      },

      async validateFilter(req: ValidateFilterRequest) {
        try {
          const v = engine.validate(specOf(req.filter));
          if (!v.ok) return { problems: [{ field: v.field, location: v.location, message: v.message }] };
          return { streamId: v.filter.streamId, canonicalFilter: v.filter.canonical, warnings: await engine.warningsFor(v.filter) };
        } catch (err) {
          throw logged(log, err);
        }
      },

      async listTopics() {
        try {
          return await listTopics(engine);
        } catch (err) {
          throw logged(log, err);
        }
      },
    });
}

function partitionOut(p: { topic: string; partition: number; scanned: number; total: number; matched: number }) {
  return { topic: p.topic, partition: p.partition, scanned: BigInt(p.scanned), total: BigInt(p.total), matched: BigInt(p.matched) };
}

function logged(log: Logger, err: unknown) {
  const ce = toConnectError(err);
  if (ce.code === Code.Internal) log.error("request failed", { err });
  return ce;
}
