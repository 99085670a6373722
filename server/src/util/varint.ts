// Unsigned LEB128 varints (protobuf's and the embedded log's header lengths,
// event IDs): 7 bits a byte, low first, high bit set on all but the last.
// Division, not bit operators, so numbers up to 2^53 work (bit operators are
// 32-bit).

/** Bytes the varint of `n` takes. */
export function varintSize(n: number): number {
  let size = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 0x80);
    size++;
  }
  return size;
}

/** Writes the varint of `n` at `pos`; returns the position after it. */
export function writeVarint(out: Uint8Array, pos: number, n: number): number {
  while (n >= 0x80) {
    out[pos++] = (n % 0x80) | 0x80;
    n = Math.floor(n / 0x80);
  }
  out[pos++] = n;
  return pos;
}
