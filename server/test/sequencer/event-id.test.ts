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
