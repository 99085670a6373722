// Resolves where a subscription starts, as a position in its stream: latest
// (the head now), earliest (backfilling what the index does not cover), a
// timestamp (binary search in the index, or a backfill from the source's
// offsets for that time), or after an event ID.
import type { Source } from "../source/types.js";
import type { IndexStore } from "../sequencer/index-store.js";
import { decodeEventId, EventIdError, type EventAddress } from "../sequencer/event-id.js";
import { headEpoch, partitionKey, type OffsetMap } from "../sequencer/types.js";
import type { Position } from "../cursor/position.js";
import { RequestError } from "../util/request-error.js";
import type { ActiveStream, StreamRegistry } from "./streams.js";

export type StartSpec =
  | { readonly kind: "latest" }
  | { readonly kind: "earliest" }
  | { readonly kind: "time"; readonly ms: number }
  | { readonly kind: "after"; readonly eventId: string };

export async function resolveStart(registry: StreamRegistry, source: Source, store: IndexStore, stream: ActiveStream, start: StartSpec): Promise<Position> {
  const record = stream.record;
  switch (start.kind) {
    case "latest": {
      const head = headEpoch(record);
      return { epoch: head.epoch, seq: head.lastSeq };
    }
    case "earliest": {
      const from = await offsetsOf(source, stream, (_t, p) => Promise.resolve(p.start));
      return { epoch: registry.coverFrom(stream, from).epoch, seq: 0 };
    }
    case "time": {
      const from = await offsetsOf(source, stream, (t, p) => source.offsetForTimestamp(t, p.partition, start.ms));
      const oldest = record.epochs[0]!;
      const covering = registry.coverFrom(stream, from);
      if (covering !== oldest) return { epoch: covering.epoch, seq: 0 };
      return firstAtOrAfter(store, stream, start.ms);
    }
    case "after":
      return afterEventId(store, stream, start.eventId);
  }
}

async function offsetsOf(
  source: Source,
  stream: ActiveStream,
  offset: (topic: string, p: { partition: number; start: number; end: number }) => Promise<number>,
): Promise<OffsetMap> {
  const out: OffsetMap = new Map();
  for (const t of await source.listTopics()) {
    if (!stream.filter.matchesTopic(t.name)) continue;
    for (const p of t.partitions) out.set(partitionKey(t.name, p.partition), await offset(t.name, p));
  }
  return out;
}

/** Binary search over seq, per epoch in position order: timestamps grow with seq closely enough. */
function firstAtOrAfter(store: IndexStore, stream: ActiveStream, ms: number): Position {
  const { sid, epochs } = stream.record;
  for (const e of epochs) {
    const last = e.lastSeq === 0 ? null : store.matchAt(sid, e.epoch, e.lastSeq);
    if (!last || last.timestamp < ms) {
      // A backfill still being scanned numbers its matches in time order: what
      // it finds next is not before what it found, so the start is after those.
      if (e.kind === "backfill" && !e.complete) return { epoch: e.epoch, seq: e.lastSeq };
      continue;
    }
    let lo = 1;
    let hi = e.lastSeq;
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      const row = store.matchAt(sid, e.epoch, mid);
      if (row && row.timestamp >= ms) hi = mid;
      else lo = mid + 1;
    }
    return { epoch: e.epoch, seq: lo - 1 };
  }
  const head = headEpoch(stream.record);
  return { epoch: head.epoch, seq: head.lastSeq };
}

/** Decodes an event ID from a request field; a malformed one is the client's error. */
export function parseEventId(field: string, id: string): EventAddress {
  try {
    return decodeEventId(id);
  } catch (err) {
    if (err instanceof EventIdError) throw new RequestError("invalid_argument", `${field}: ${err.message}`, { cause: err });
    throw err;
  }
}

function afterEventId(store: IndexStore, stream: ActiveStream, id: string): Position {
  const a = parseEventId("after_event_id", id);
  const record = stream.record;
  if (a.streamId !== record.streamId) {
    throw new RequestError(
      "invalid_argument",
      `after_event_id: the event ID belongs to stream ${a.streamId}, but this filter's stream is ${record.streamId}; resume with the same filter the ID came from`,
    );
  }
  const epoch = record.epochs.find((e) => e.epoch === a.epoch);
  const evicted = store.evicted(a.streamId);
  if (!epoch && evicted && a.epoch < evicted.nextEpoch) {
    throw new RequestError(
      "not_found",
      `after_event_id: stream ${a.streamId} was evicted from the index on ${new Date(evicted.evictedAt).toISOString()} (nobody used it and the index was over its disk budget), so this ID can no longer be resolved; subscribe again from a timestamp (e.g. the time of the last event you have) or from earliest, and drop events you already hold`,
    );
  }
  if (!epoch) {
    throw new RequestError(
      "not_found",
      `after_event_id: epoch ${a.epoch} of stream ${a.streamId} is not in this server's index (evicted, or a different data directory); subscribe from a timestamp or from earliest instead`,
    );
  }
  if (a.seq > epoch.lastSeq) {
    throw new RequestError(
      "out_of_range",
      `after_event_id: event ${a.seq} of epoch ${a.epoch} does not exist yet (the stream has ${epoch.lastSeq}); was the ID taken from another server's data directory?`,
    );
  }
  return { epoch: a.epoch, seq: a.seq };
}
