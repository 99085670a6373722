import assert from "node:assert/strict";
import { test } from "node:test";
import { murmur2, toPositive } from "../../src/source/murmur2.js";

const utf8 = (s: string) => new TextEncoder().encode(s);

test("murmur2 matches Kafka's UtilsTest.testMurmur2 vectors", () => {
  assert.equal(murmur2(utf8("21")), -973932308);
  assert.equal(murmur2(utf8("foobar")), -790332482);
  assert.equal(murmur2(utf8("a-little-bit-long-string")), -985981536);
  assert.equal(murmur2(utf8("a-little-bit-longer-string")), -1486304829);
  assert.equal(murmur2(utf8("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8")), -58897971);
  assert.equal(murmur2(new Uint8Array([97, 98, 99])), 479470107);
});

test("murmur2 matches values from the Java client for every tail length and raw bytes", () => {
  // Lengths 1..5 cover the 1-, 2- and 3-byte tails and a full block plus a tail.
  assert.equal(murmur2(utf8("1")), -1993445489);
  assert.equal(murmur2(utf8("12")), 126087238);
  assert.equal(murmur2(utf8("123")), -267702483);
  assert.equal(murmur2(utf8("1234")), -1614185708);
  assert.equal(murmur2(utf8("12345")), -1188365604);
  // Bytes above 0x7f must be treated as unsigned, as Java's `& 0xff` does.
  assert.equal(murmur2(new Uint8Array([12, 42, 56, 24, 109, 111])), 274204207);
  assert.equal(murmur2(utf8("foobar").subarray(0, 3)), murmur2(utf8("foo")));
});

test("toPositive clears the sign bit like Kafka's Utils.toPositive", () => {
  assert.equal(toPositive(-973932308), 1173551340);
  assert.equal(toPositive(-58897971), 2088585677);
  assert.equal(toPositive(479470107), 479470107);
  assert.equal(toPositive(-2147483648), 0);
  assert.equal(toPositive(-1), 2147483647);
});
