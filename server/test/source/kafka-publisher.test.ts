// The Publisher's queue without a broker: fake clients that record each send.
import { it } from "node:test";
import assert from "node:assert/strict";
import type { MessageToProduce } from "@platformatic/kafka";
import { Publisher } from "../../src/source/kafka/produce.js";
import type { KafkaClients } from "../../src/source/kafka/clients.js";
import { SourceArgumentError } from "../../src/source/types.js";

function fakeClients() {
  const sends: MessageToProduce[][] = [];
  const ends = new Map<number, number>();
  let release: (() => void) | null = null;
  let hold = false;
  const topics = new Map([["t", { id: "id-t", partitionsCount: 4, partitions: [0, 1, 2, 3].map(() => ({ leader: 1 })) }]]);
  const clients = {
    consumer: {
      bounded: (_call: string, _topics: unknown, run: () => Promise<unknown>) => run(),
      metadata: async () => ({ topics }),
    },
    admin: {},
    producer: {
      async send({ messages }: { messages: MessageToProduce[] }) {
        sends.push(messages);
        if (hold) await new Promise<void>((r) => (release = r));
        const offsets: Array<{ topic: string; partition: number; offset: bigint }> = [];
        for (const m of messages) {
          if (!offsets.some((o) => o.partition === m.partition)) offsets.push({ topic: m.topic, partition: m.partition!, offset: BigInt(ends.get(m.partition!) ?? 0) });
          ends.set(m.partition!, (ends.get(m.partition!) ?? 0) + 1);
        }
        return { offsets };
      },
    },
  } as unknown as KafkaClients;
  return {
    clients,
    sends,
    holdSends: () => (hold = true),
    releaseSend: () => {
      hold = false;
      release?.();
    },
  };
}

const msg = (partition: number, v: string) => ({ key: null, value: Buffer.from(v), partition });

it("calls that wait while a send is in flight go out together in the next send, each with its own offsets", async () => {
  const f = fakeClients();
  const p = new Publisher(f.clients, 4);
  f.holdSends();
  const first = p.produce("t", [msg(0, "a")]);
  // Let the first call reach its send.
  while (f.sends.length === 0) await new Promise((r) => setImmediate(r));
  const waiting = [p.produce("t", [msg(0, "b"), msg(1, "c")]), p.produce("t", [msg(0, "d")]), p.produce("t", [msg(2, "e")])];
  f.releaseSend();
  const [r1, r2, r3, r4] = await Promise.all([first, ...waiting]);
  assert.deepEqual(f.sends.map((s) => s.length), [1, 4], "one send for the three waiting calls");
  assert.deepEqual(r1!.records.map((r) => [r.partition, r.offset]), [[0, 0]]);
  assert.deepEqual(r2!.records.map((r) => [r.partition, r.offset]), [[0, 1], [1, 0]]);
  assert.deepEqual(r3!.records.map((r) => [r.partition, r.offset]), [[0, 2]]);
  assert.deepEqual(r4!.records.map((r) => [r.partition, r.offset]), [[2, 0]]);
  assert.deepEqual(r2!.ends, [[0, 2], [1, 1]]);
  assert.deepEqual(r3!.ends, [[0, 3]]);
  assert.deepEqual(r4!.ends, [[2, 1]]);
});

it("a call with a bad message fails alone; the calls grouped with it are sent", async () => {
  const f = fakeClients();
  const p = new Publisher(f.clients, 4);
  f.holdSends();
  const first = p.produce("t", [msg(0, "a")]);
  while (f.sends.length === 0) await new Promise((r) => setImmediate(r));
  const good = p.produce("t", [msg(1, "b")]);
  const bad = p.produce("t", [msg(1, "c"), msg(9, "no such partition")]);
  const alsoGood = p.produce("t", [msg(1, "d")]);
  f.releaseSend();
  await first;
  await assert.rejects(bad, SourceArgumentError);
  assert.deepEqual((await good).records.map((r) => r.offset), [0]);
  assert.deepEqual((await alsoGood).records.map((r) => r.offset), [1]);
  assert.deepEqual(f.sends.map((s) => s.map((m) => m.value!.toString())), [["a"], ["b", "d"]]);
});
