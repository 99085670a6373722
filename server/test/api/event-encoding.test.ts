// The shared-part encodings of events must be byte for byte what protobuf-es writes.
import { it } from "node:test";
import assert from "node:assert/strict";
import { create, fromBinary, toBinary, toJsonString } from "@bufbuild/protobuf";
import { SubscribeResponseSchema } from "@grep-streams/sdk/gen/grepstreams/v1/grep_pb.js";
import { jsonEvent, protoEvent } from "../../src/api/event-encoding.js";
import { payloadOf } from "../../src/api/payload.js";
import type { SourceRecord } from "../../src/source/types.js";

const utf8 = (s: string) => new TextEncoder().encode(s);
const records: SourceRecord[] = [
  { topic: "orders", partition: 3, offset: 12345, timestamp: 1_764_000_000_123, key: utf8('["tenant-1","u-2"]'), value: utf8('{"a":1,"b":[true,null]}'), headers: [["trace", utf8("abc")], ["trace", utf8("")]] },
  { topic: "t", partition: 0, offset: 0, timestamp: 0, key: null, value: null, headers: [] },
  { topic: "raw", partition: 1, offset: 2 ** 40, timestamp: 5, key: utf8("not json"), value: new Uint8Array([0xff, 0, 1]), headers: [] },
  { topic: "nl", partition: 7, offset: 9, timestamp: 9, key: utf8("[]"), value: utf8('{\n "x": "y"\n}'), headers: [] },
];

/** What the Connect-ES handler sent: responseOf's event message, encoded whole. */
function whole(id: string, epoch: number, seq: number, r: SourceRecord) {
  const p = payloadOf(r, null);
  return create(SubscribeResponseSchema, {
    kind: {
      case: "event",
      value: {
        id, epoch, seq: BigInt(seq), topic: r.topic, partition: r.partition, offset: BigInt(r.offset), timestampMs: BigInt(r.timestamp),
        key: p.key ?? [], rawKey: p.rawKey ?? new Uint8Array(0), valueJson: p.valueJson ?? "", rawValue: p.rawValue ?? new Uint8Array(0),
        headers: r.headers.map(([key, value]) => ({ key, value })),
      },
    },
  });
}

it("events encode exactly as protobuf-es encodes the whole message, in both codecs, for every stream of a record", () => {
  for (const r of records) {
    for (const [id, epoch, seq] of [["AQEjRWeJq83vAAE", 0, 1], ["AQEjRWeJq83vBYEB", 5, 129], ["x".repeat(30), 300, 2 ** 45]] as const) {
      const expected = whole(id, epoch, seq, r);
      assert.deepEqual(Buffer.from(protoEvent(id, epoch, seq, r)), Buffer.from(toBinary(SubscribeResponseSchema, expected)), `${r.topic} ${epoch} ${seq}`);
      assert.equal(jsonEvent(id, epoch, seq, r), toJsonString(SubscribeResponseSchema, expected), `${r.topic} ${epoch} ${seq}`);
      // And they decode to the same message.
      assert.deepEqual(fromBinary(SubscribeResponseSchema, protoEvent(id, epoch, seq, r)), expected);
    }
  }
});
