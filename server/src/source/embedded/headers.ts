// Message headers in one BLOB column: for each header in order, the UTF-8
// name's length, the name, the value's length, the value, lengths as unsigned
// LEB128 varints (one byte below 128). No headers is stored as NULL.

import { varintSize, writeVarint } from "../../util/varint.js";

export type Headers = ReadonlyArray<readonly [string, Uint8Array]>;

const NO_HEADERS: Headers = Object.freeze([]);
const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder("utf-8", { fatal: true });


export function encodeHeaders(headers: Headers | undefined): Uint8Array | null {
  if (headers === undefined || headers.length === 0) return null;
  const names = headers.map(([name]) => utf8.encode(name));
  let size = 0;
  headers.forEach(([, value], i) => {
    const name = names[i]!;
    size += varintSize(name.length) + name.length + varintSize(value.length) + value.length;
  });
  const out = new Uint8Array(size);
  let pos = 0;
  headers.forEach(([, value], i) => {
    const name = names[i]!;
    pos = writeVarint(out, pos, name.length);
    out.set(name, pos);
    pos = writeVarint(out, pos + name.length, value.length);
    out.set(value, pos);
    pos += value.length;
  });
  return out;
}

/** Values are views into `blob`, which each read gets fresh from SQLite. */
export function decodeHeaders(blob: Uint8Array | null): Headers {
  if (blob === null) return NO_HEADERS;
  const out: (readonly [string, Uint8Array])[] = [];
  let pos = 0;
  const readVarint = (): number => {
    let n = 0;
    for (let scale = 1; ; scale *= 0x80) {
      if (pos >= blob.length) throw new Error("corrupt headers: truncated length");
      const b = blob[pos++]!;
      n += (b & 0x7f) * scale;
      if (b < 0x80) return n;
    }
  };
  const readBytes = (): Uint8Array => {
    const len = readVarint();
    if (pos + len > blob.length) throw new Error("corrupt headers: truncated field");
    const bytes = blob.subarray(pos, pos + len);
    pos += len;
    return bytes;
  };
  while (pos < blob.length) {
    const name = fromUtf8.decode(readBytes());
    out.push([name, readBytes()]);
  }
  return out;
}
