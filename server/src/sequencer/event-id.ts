// Event IDs: a short opaque string naming (stream, epoch, seq). Layout, then
// base64url: version byte (1) | 8 bytes of the stream id | varint epoch |
// varint seq. The stream id inside lets the server reject an ID that belongs
// to another filter instead of silently resuming at a wrong place.

import { writeVarint } from "../util/varint.js";

const VERSION = 1;

export interface EventAddress {
  /** 16 hex characters. */
  readonly streamId: string;
  readonly epoch: number;
  /** 1-based within the epoch; 0 names the start of the epoch (before its first event). */
  readonly seq: number;
}

export class EventIdError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "EventIdError";
  }
}

const B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/**
 * The version byte and the 8 stream-id bytes are 9 bytes, a whole number of
 * base64 groups: their text is the first 12 characters of every ID of the
 * stream, whatever follows. Computed once per stream id (an ID is encoded
 * per event per subscriber); bounded, since stream ids come and go.
 */
const prefixes = new Map<string, string>();
const MAX_PREFIXES = 65_536;

function prefixOf(streamId: string): string {
  let p = prefixes.get(streamId);
  if (p === undefined) {
    if (!/^[0-9a-f]{16}$/.test(streamId)) throw new Error(`a stream id is 16 lowercase hex digits, got ${JSON.stringify(streamId)}`);
    p = Buffer.concat([Buffer.of(VERSION), Buffer.from(streamId, "hex")]).toString("base64url");
    if (prefixes.size >= MAX_PREFIXES) prefixes.clear();
    prefixes.set(streamId, p);
  }
  return p;
}

/** Scratch for the varints: at most 8 bytes each (2^53). */
const scratch = new Uint8Array(16);


/** base64url without padding of scratch[0, len). */
function tail64(len: number): string {
  let out = "";
  let i = 0;
  for (; i + 3 <= len; i += 3) {
    const v = (scratch[i]! << 16) | (scratch[i + 1]! << 8) | scratch[i + 2]!;
    out += B64URL[v >> 18]! + B64URL[(v >> 12) & 63]! + B64URL[(v >> 6) & 63]! + B64URL[v & 63]!;
  }
  if (len - i === 1) {
    const v = scratch[i]!;
    out += B64URL[v >> 2]! + B64URL[(v & 3) << 4]!;
  } else if (len - i === 2) {
    const v = (scratch[i]! << 8) | scratch[i + 1]!;
    out += B64URL[v >> 10]! + B64URL[(v >> 4) & 63]! + B64URL[(v & 15) << 2]!;
  }
  return out;
}

export function encodeEventId(a: EventAddress): string {
  return prefixOf(a.streamId) + tail64(writeVarint(scratch, writeVarint(scratch, 0, a.epoch), a.seq));
}

export function decodeEventId(id: string): EventAddress {
  const what = `malformed event ID "${id.length > 64 ? id.slice(0, 64) + "..." : id}"`;
  if (id.length < 14 || id.length > 40 || !/^[A-Za-z0-9_-]+$/.test(id)) {
    throw new EventIdError(`${what}: expected the opaque ID of an event, as sent in an event's "id"`);
  }
  const b = Buffer.from(id, "base64url");
  if (b[0] !== VERSION) throw new EventIdError(`${what}: unknown version ${b[0]}`);
  if (b.length < 11) throw new EventIdError(`${what}: too short`);
  const streamId = b.subarray(1, 9).toString("hex");
  let pos = 9;
  const readVarint = (): number => {
    let n = 0;
    let mul = 1;
    for (let i = 0; i < 8; i++) {
      const byte = b[pos++];
      if (byte === undefined) throw new EventIdError(`${what}: truncated`);
      n += (byte & 0x7f) * mul;
      if (byte < 0x80) return n;
      mul *= 0x80;
    }
    throw new EventIdError(`${what}: number too long`);
  };
  const epoch = readVarint();
  const seq = readVarint();
  if (pos !== b.length) throw new EventIdError(`${what}: trailing bytes`);
  // Re-encoding must give the same text: rejects non-canonical varints and padding tricks.
  const address = { streamId, epoch, seq };
  if (encodeEventId(address) !== id) throw new EventIdError(`${what}: not in canonical form`);
  return address;
}
