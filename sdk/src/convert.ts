// Plain JavaScript shapes for the SDK's callers: numbers instead of bigints,
// Dates, parsed JSON values, and filters that may hold query objects.
import type { MessageInitShape } from "@bufbuild/protobuf";
import type {
  CountProgress as CountProgressMessage,
  CountResult as CountResultMessage,
  Event,
  FilterSchema,
  Gap,
  Heartbeat,
  PartitionProgress as PartitionProgressMessage,
  Progress,
  Started,
} from "./gen/grepstreams/v1/grep_pb.js";

/** A filter; `query` and `projection` may be objects (sent as JSON) or JSON text. */
export interface GrepFilter {
  readonly topics?: readonly string[];
  readonly topicRegex?: string;
  readonly keyPrefix?: readonly string[];
  readonly keyRegex?: string;
  readonly query?: string | Record<string, unknown>;
  readonly projection?: string | Record<string, unknown>;
}

export interface EventHeader {
  readonly key: string;
  readonly value: Uint8Array;
}

export interface GrepEvent {
  /** Opaque and stable: resume after it with `start: { afterEventId }`. */
  readonly id: string;
  readonly epoch: number;
  /** Dense within an epoch: 1, 2, 3, ... */
  readonly seq: number;
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly timestamp: Date;
  /** The key's elements; null when the message has no key or its key is not a JSON array of strings. */
  readonly key: string[] | null;
  /** The key bytes when the key is not a JSON array of strings. */
  readonly rawKey: Uint8Array | null;
  /** The parsed JSON value (after the projection), or the raw bytes when the value is not JSON. */
  readonly value: unknown;
  /** The value's JSON text as the server sent it (on one line), or null when it is not JSON. */
  readonly valueJson: string | null;
  readonly headers: readonly EventHeader[];
}

export interface EventItem {
  readonly type: "event";
  readonly event: GrepEvent;
}

/** Events the stream had named that can no longer be delivered (e.g. retention deleted them). */
export interface GapItem {
  readonly type: "gap";
  readonly fromEventId: string;
  readonly toEventId: string;
  readonly count: number;
  readonly reason: string;
}

/** While history is scanned (an "earliest" or time start). */
export interface ProgressItem {
  readonly type: "progress";
  readonly scanned: number;
  readonly total: number;
  readonly fraction: number;
  readonly etaMs: number;
  readonly matched: number;
}

/** Sent on every (re)connection when `includeStarted` is set. */
export interface StartedItem {
  readonly type: "started";
  readonly streamId: string;
  readonly subscriptionId: string;
  readonly resolvedAfterEventId: string;
  readonly headEventId: string;
  readonly canonicalFilter: string;
  readonly warnings: readonly string[];
  /** False for the first connection, true after a reconnect. */
  readonly reconnected: boolean;
}

/** Sent when `includeHeartbeats` is set. */
export interface HeartbeatItem {
  readonly type: "heartbeat";
  readonly headEventId: string;
  /** Events of the stream after the last one sent to this subscriber. */
  readonly lag: number;
  readonly serverTime: Date;
}

export type SubscriptionItem = EventItem | GapItem | ProgressItem | StartedItem | HeartbeatItem;

export function filterOf(f: GrepFilter): MessageInitShape<typeof FilterSchema> {
  const json = (v: string | Record<string, unknown> | undefined) => (v === undefined ? "" : typeof v === "string" ? v : JSON.stringify(v));
  return {
    topics: [...(f.topics ?? [])],
    topicRegex: f.topicRegex ?? "",
    keyPrefix: [...(f.keyPrefix ?? [])],
    keyRegex: f.keyRegex ?? "",
    query: json(f.query),
    projection: json(f.projection),
  };
}

export function eventOf(e: Event): GrepEvent {
  return {
    id: e.id,
    epoch: e.epoch,
    seq: Number(e.seq),
    topic: e.topic,
    partition: e.partition,
    offset: Number(e.offset),
    timestamp: new Date(Number(e.timestampMs)),
    key: e.key.length > 0 ? e.key : null,
    rawKey: e.rawKey.length > 0 ? e.rawKey : null,
    ...valueOf(e),
    headers: e.headers.map((h) => ({ key: h.key, value: h.value })),
  };
}

function valueOf(e: Event): { value: unknown; valueJson: string | null } {
  if (e.valueJson === "") return { value: e.rawValue, valueJson: null }; // not JSON (or no payload asked for): the bytes
  try {
    return { value: JSON.parse(e.valueJson), valueJson: e.valueJson };
  } catch {
    return { value: new TextEncoder().encode(e.valueJson), valueJson: null };
  }
}

export function gapOf(g: Gap): GapItem {
  return { type: "gap", fromEventId: g.fromEventId, toEventId: g.toEventId, count: Number(g.count), reason: g.reason };
}

export function progressOf(p: Progress): ProgressItem {
  return { type: "progress", scanned: Number(p.scanned), total: Number(p.total), fraction: p.fraction, etaMs: Number(p.etaMs), matched: Number(p.matched) };
}

export function startedOf(s: Started, reconnected: boolean): StartedItem {
  return {
    type: "started",
    streamId: s.streamId,
    subscriptionId: s.subscriptionId,
    resolvedAfterEventId: s.resolvedAfterEventId,
    headEventId: s.headEventId,
    canonicalFilter: s.canonicalFilter,
    warnings: s.warnings,
    reconnected,
  };
}

export function heartbeatOf(h: Heartbeat): HeartbeatItem {
  return { type: "heartbeat", headEventId: h.headEventId, lag: Number(h.lag), serverTime: new Date(Number(h.serverTimeMs)) };
}

export interface GrepPartitionProgress {
  readonly topic: string;
  readonly partition: number;
  readonly scanned: number;
  readonly total: number;
  readonly matched: number;
}

export interface GrepCountProgress {
  readonly messagesScanned: number;
  readonly bytesScanned: number;
  readonly matched: number;
  readonly messagesTotal: number;
  readonly fraction: number;
  readonly etaMs: number;
  readonly partitions: readonly GrepPartitionProgress[];
}

export interface GrepCountResult {
  readonly matched: number;
  readonly messagesScanned: number;
  readonly bytesScanned: number;
  readonly matchedBytes: number;
  readonly skippedNonJson: number;
  readonly skippedBadKey: number;
  /** Value sizes: counts of values of at most `leBytes` bytes (the last bucket, 0, has no bound). */
  readonly sizes: readonly { leBytes: number; count: number }[];
  readonly times: readonly { start: Date; count: number }[];
  readonly partitions: readonly GrepPartitionProgress[];
  readonly elapsedMs: number;
  /** "scan", "index" or "cache", as the server says. */
  readonly answeredFrom: string;
}

function partitionProgressOf(p: PartitionProgressMessage): GrepPartitionProgress {
  return { topic: p.topic, partition: p.partition, scanned: Number(p.scanned), total: Number(p.total), matched: Number(p.matched) };
}

export function countProgressOf(p: CountProgressMessage): GrepCountProgress {
  return {
    messagesScanned: Number(p.messagesScanned),
    bytesScanned: Number(p.bytesScanned),
    matched: Number(p.matched),
    messagesTotal: Number(p.messagesTotal),
    fraction: p.fraction,
    etaMs: Number(p.etaMs),
    partitions: p.partitions.map(partitionProgressOf),
  };
}

export function countResultOf(r: CountResultMessage): GrepCountResult {
  return {
    matched: Number(r.matched),
    messagesScanned: Number(r.messagesScanned),
    bytesScanned: Number(r.bytesScanned),
    matchedBytes: Number(r.matchedBytes),
    skippedNonJson: Number(r.skippedNonJson),
    skippedBadKey: Number(r.skippedBadKey),
    sizes: r.sizes.map((s) => ({ leBytes: Number(s.leBytes), count: Number(s.count) })),
    times: r.times.map((t) => ({ start: new Date(Number(t.startMs)), count: Number(t.count) })),
    partitions: r.partitions.map(partitionProgressOf),
    elapsedMs: Number(r.elapsedMs),
    answeredFrom: r.answeredFrom,
  };
}
