import { it } from "node:test";
import assert from "node:assert/strict";
import { decodeEventId, encodeEventId, EventIdError } from "../../src/sequencer/event-id.js";

it("event IDs round-trip stream, epoch and seq, and are short", () => {
  for (const [epoch, seq] of [[0, 0], [0, 1], [3, 127], [200, 128], [1, 2 ** 40], [0, Number.MAX_SAFE_INTEGER]] as const) {
    const a = { streamId: "0123456789abcdef", epoch, seq };
    const id = encodeEventId(a);
    assert.match(id, /^[A-Za-z0-9_-]+$/);
    assert.ok(id.length <= 26, id);
    assert.deepEqual(decodeEventId(id), a);
  }
  assert.equal(encodeEventId({ streamId: "0123456789abcdef", epoch: 0, seq: 1 }).length, 15);
});

it("rejects malformed IDs with a reason", () => {
  const good = encodeEventId({ streamId: "0123456789abcdef", epoch: 2, seq: 300 });
  const cases: Array<[string, RegExp]> = [
    ["", /expected the opaque ID/],
    ["hello world!!!!", /expected the opaque ID/],
    [good.slice(0, -1), /truncated|canonical|trailing/],
    [good + "AA", /trailing|canonical/],
    ["B" + good.slice(1), /unknown version/],
  ];
  for (const [id, re] of cases) {
    assert.throws(() => decodeEventId(id), (err: unknown) => err instanceof EventIdError && re.test(err.message), id);
  }
});

/** The byte layout, spelled out the slow way: what encodeEventId must produce, byte for byte. */
function reference(streamId: string, epoch: number, seq: number): string {
  const out: number[] = [1];
  for (let i = 0; i < 16; i += 2) out.push(parseInt(streamId.slice(i, i + 2), 16));
  for (let n of [epoch, seq]) {
    while (n >= 0x80) {
      out.push((n % 0x80) | 0x80);
      n = Math.floor(n / 0x80);
    }
    out.push(n);
  }
  return Buffer.from(out).toString("base64url");
}

it("encodes exactly the documented layout, whatever the lengths of the varints", () => {
  const ids = ["0123456789abcdef", "ffffffffffffffff", "0000000000000000", "00ff00ff00ff00ff"];
  const numbers = [0, 1, 127, 128, 255, 16_383, 16_384, 2 ** 21 - 1, 2 ** 21, 2 ** 28, 2 ** 35 + 7, 2 ** 49 - 1, Number.MAX_SAFE_INTEGER];
  for (const streamId of ids) {
    for (const epoch of numbers) {
      for (const seq of numbers) {
        const id = encodeEventId({ streamId, epoch, seq });
        assert.equal(id, reference(streamId, epoch, seq), `${streamId} ${epoch} ${seq}`);
        assert.deepEqual(decodeEventId(id), { streamId, epoch, seq });
      }
    }
  }
});

it("the stream's prefix is cached, yet every stream keeps its own", () => {
  const a = encodeEventId({ streamId: "aaaaaaaaaaaaaaaa", epoch: 0, seq: 1 });
  const b = encodeEventId({ streamId: "bbbbbbbbbbbbbbbb", epoch: 0, seq: 1 });
  assert.notEqual(a.slice(0, 12), b.slice(0, 12));
  assert.equal(encodeEventId({ streamId: "aaaaaaaaaaaaaaaa", epoch: 5, seq: 9 }).slice(0, 12), a.slice(0, 12));
  // More stream ids than the cache holds: still right.
  for (let i = 0; i < 70_000; i++) {
    const streamId = i.toString(16).padStart(16, "0");
    if (i % 9_999 === 0) assert.equal(encodeEventId({ streamId, epoch: 1, seq: i }), reference(streamId, 1, i));
    else encodeEventId({ streamId, epoch: 1, seq: i });
  }
  assert.equal(encodeEventId({ streamId: "aaaaaaaaaaaaaaaa", epoch: 0, seq: 1 }), a);
});

it("still rejects non-canonical IDs: an overlong varint names a valid address but is not its ID", () => {
  // seq 1 written as two bytes (0x81 0x00) instead of one (0x01).
  const bytes = Buffer.from(reference("0123456789abcdef", 0, 0), "base64url");
  const overlong = Buffer.concat([bytes.subarray(0, bytes.length - 1), Buffer.of(0x81, 0x00)]).toString("base64url");
  assert.throws(() => decodeEventId(overlong), /not in canonical form/);
  // Base64 with spare bits set in the last character decodes to the same bytes.
  const id = encodeEventId({ streamId: "0123456789abcdef", epoch: 0, seq: 1 });
  const last = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  const spare = id.slice(0, -1) + last[last.indexOf(id.at(-1)!) + 1];
  assert.deepEqual(Buffer.from(spare, "base64url"), Buffer.from(id, "base64url"));
  assert.throws(() => decodeEventId(spare), /not in canonical form/);
});

it("refuses to encode for something that is not a stream id", () => {
  assert.throws(() => encodeEventId({ streamId: "0123", epoch: 0, seq: 1 }), /16 lowercase hex digits/);
  assert.throws(() => encodeEventId({ streamId: "0123456789ABCDEF", epoch: 0, seq: 1 }), /16 lowercase hex digits/);
});
