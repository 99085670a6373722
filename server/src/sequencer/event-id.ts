// Event IDs: a short opaque string naming (stream, epoch, seq). Layout, then
// base64url: version byte (1) | 8 bytes of the stream id | varint epoch |
// varint seq. The stream id inside lets the server reject an ID that belongs
// to another filter instead of silently resuming at a wrong place.

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

function pushVarint(out: number[], n: number): void {
  // Numbers up to 2^53: use division, not bit operators (which are 32-bit).
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
}

export function encodeEventId(a: EventAddress): string {
  const out: number[] = [VERSION];
  for (let i = 0; i < 16; i += 2) out.push(parseInt(a.streamId.slice(i, i + 2), 16));
  pushVarint(out, a.epoch);
  pushVarint(out, a.seq);
  return Buffer.from(out).toString("base64url");
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
