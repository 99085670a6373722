import assert from "node:assert/strict";
import { test } from "node:test";
import { decodeHeaders, encodeHeaders } from "../../src/source/embedded/headers.js";

const bytes = (...b: number[]) => new Uint8Array(b);

test("no headers encode to null and decode to an empty list", () => {
  assert.equal(encodeHeaders(undefined), null);
  assert.equal(encodeHeaders([]), null);
  assert.deepEqual(decodeHeaders(null), []);
});

test("headers encode as length-prefixed name and value, in order", () => {
  const blob = encodeHeaders([
    ["a", bytes(1, 2)],
    ["é", bytes()],
  ]);
  assert.deepEqual(blob, bytes(1, 0x61, 2, 1, 2, 2, 0xc3, 0xa9, 0));
});

test("lengths of 128 and more take a second varint byte", () => {
  const value = new Uint8Array(300).fill(7);
  const blob = encodeHeaders([["v", value]])!;
  // 300 = 0b10_0101100 -> 0xac 0x02
  assert.deepEqual(blob.subarray(0, 5), bytes(1, 0x76, 0xac, 0x02, 7));
  assert.equal(blob.length, 1 + 1 + 2 + 300);
  const [[name, decoded]] = decodeHeaders(blob) as [[string, Uint8Array]];
  assert.equal(name, "v");
  assert.deepEqual(Array.from(decoded), Array.from(value));
});

test("round trip keeps duplicates, order, empty names and binary values", () => {
  const headers: [string, Uint8Array][] = [
    ["trace", bytes(0, 255, 128)],
    ["", bytes(9)],
    ["trace", bytes()],
    ["ключ", new TextEncoder().encode("значение")],
  ];
  const decoded = decodeHeaders(encodeHeaders(headers));
  assert.deepEqual(
    decoded.map(([n, v]) => [n, Array.from(v)]),
    headers.map(([n, v]) => [n, Array.from(v)]),
  );
});

test("a truncated blob is reported, not misread", () => {
  const blob = encodeHeaders([["name", bytes(1, 2, 3)]])!;
  assert.throws(() => decodeHeaders(blob.subarray(0, blob.length - 1)), /corrupt headers/);
});
