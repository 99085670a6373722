// Subscribe responses as bytes, for the lean streaming handler
// (subscribe-stream.ts), with what every subscriber shares encoded once.
//
// An event is the same record for every subscriber that gets it (every
// subscriber of every stream it matched), except for its ID, epoch and seq.
// Those are Event's fields 1-3; the record's (topic .. raw_value) are fields
// 4-12. Protobuf encodes a message as its fields one after another, so the
// Event is [fields 1-3 of this stream] + [fields 4-12, encoded once per
// record], byte for byte what toBinary writes for the whole message (it
// writes fields in number order). JSON the same way: the record's members
// are written once and the per-stream members put in front. Everything else
// (started, gap, progress, heartbeat, projected or payload-less events) is
// encoded whole by protobuf-es.

import { create, toBinary, toJsonString } from "@bufbuild/protobuf";
import { EventSchema, SubscribeResponseSchema } from "@grep-streams/sdk/gen/grepstreams/v1/grep_pb.js";
import type { CompiledFilter } from "../filter/index.js";
import type { SourceRecord } from "../source/types.js";
import type { CursorItem } from "../cursor/cursor.js";
import type { Engine } from "../pipeline/engine.js";
import type { ActiveStream } from "../pipeline/streams.js";
import { responseOf, type SubscribeOut } from "./grep-service.js";
import { payloadOf } from "./payload.js";
import { RecentRecords } from "./recent-records.js";
import { varintSize, writeVarint } from "../util/varint.js";

export type Codec = "proto" | "json";

const utf8 = new TextEncoder();

/** Fields 4-12 of a record's Event, per codec; built on first use, for all subscribers without a projection. */
interface RecordParts {
  proto?: Uint8Array;
  json?: string;
}
const parts = new RecentRecords<RecordParts>();

function recordEvent(record: SourceRecord) {
  const p = payloadOf(record, null);
  return create(EventSchema, {
    topic: record.topic,
    partition: record.partition,
    offset: BigInt(record.offset),
    timestampMs: BigInt(record.timestamp),
    key: p.key ?? [],
    rawKey: p.rawKey ?? new Uint8Array(0),
    valueJson: p.valueJson ?? "",
    rawValue: p.rawValue ?? new Uint8Array(0),
    headers: record.headers.map(([key, value]) => ({ key, value })),
  });
}

function partsOf(record: SourceRecord): RecordParts {
  let p = parts.get(record);
  if (p === undefined) parts.set(record, (p = {}));
  return p;
}

/** The SubscribeResponse of a cursor item, encoded (not enveloped). */
export function encodeItem(codec: Codec, engine: Engine, stream: ActiveStream, item: CursorItem, omitPayload: boolean, projection: CompiledFilter | null): Uint8Array {
  if (item.kind === "event" && !omitPayload && projection === null) {
    const id = engine.eventId(stream, item.row);
    return codec === "proto" ? protoEvent(id, item.row.epoch, item.row.seq, item.record) : utf8.encode(jsonEvent(id, item.row.epoch, item.row.seq, item.record));
  }
  const message = create(SubscribeResponseSchema, responseOf(engine, stream, item, omitPayload, projection));
  return codec === "proto" ? toBinary(SubscribeResponseSchema, message) : utf8.encode(toJsonString(SubscribeResponseSchema, message));
}

/** A whole message (the started one), encoded. */
export function encodeMessage(codec: Codec, init: SubscribeOut): Uint8Array {
  const message = create(SubscribeResponseSchema, init);
  return codec === "proto" ? toBinary(SubscribeResponseSchema, message) : utf8.encode(toJsonString(SubscribeResponseSchema, message));
}

// ---- protobuf ----

/** SubscribeResponse field 2 (event), length-delimited. */
const TAG_EVENT = (2 << 3) | 2;
/** Event field 1 (id) length-delimited, 2 (epoch) and 3 (seq) varints. */
const TAG_ID = (1 << 3) | 2;
const TAG_EPOCH = 2 << 3;
const TAG_SEQ = 3 << 3;


export function protoEvent(id: string, epoch: number, seq: number, record: SourceRecord): Uint8Array {
  const p = partsOf(record);
  const tail = (p.proto ??= toBinary(EventSchema, recordEvent(record)));
  // Event IDs are base64url: one byte per character.
  const head = 1 + varintSize(id.length) + id.length + (epoch === 0 ? 0 : 1 + varintSize(epoch)) + (seq === 0 ? 0 : 1 + varintSize(seq));
  const eventLength = head + tail.length;
  const out = new Uint8Array(1 + varintSize(eventLength) + eventLength);
  let at = 0;
  out[at++] = TAG_EVENT;
  at = writeVarint(out, at, eventLength);
  out[at++] = TAG_ID;
  at = writeVarint(out, at, id.length);
  for (let i = 0; i < id.length; i++) out[at++] = id.charCodeAt(i);
  // proto3 leaves out fields that hold their default (0), as toBinary does.
  if (epoch !== 0) {
    out[at++] = TAG_EPOCH;
    at = writeVarint(out, at, epoch);
  }
  if (seq !== 0) {
    out[at++] = TAG_SEQ;
    at = writeVarint(out, at, seq);
  }
  out.set(tail, at);
  return out;
}

// ---- JSON ----

export function jsonEvent(id: string, epoch: number, seq: number, record: SourceRecord): string {
  const p = partsOf(record);
  // `{"topic":...}` without its braces (the topic is never empty, so there is at least one member).
  const members = (p.json ??= toJsonString(EventSchema, recordEvent(record)).slice(1, -1));
  // As toJsonString writes them: defaults left out, 64-bit integers as strings.
  return `{"event":{"id":"${id}"${epoch !== 0 ? `,"epoch":${epoch}` : ""}${seq !== 0 ? `,"seq":"${seq}"` : ""}${members ? "," + members : ""}}}`;
}
