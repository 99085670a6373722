// Produce and ListTopics: thin adapters from the API messages to the source.
import type { ProduceRequest } from "@grep-streams/sdk/gen/grepstreams/v1/grep_pb.js";
import type { Engine } from "../pipeline/engine.js";
import type { ProduceInput } from "../source/types.js";
import { RequestError } from "../util/request-error.js";

const encoder = new TextEncoder();
export const MAX_PRODUCE_BATCH = 10_000;

export async function produce(engine: Engine, req: ProduceRequest) {
  if (!req.topic) throw new RequestError("invalid_argument", "topic: required");
  if (req.messages.length === 0) throw new RequestError("invalid_argument", "messages: at least one message is required");
  if (req.messages.length > MAX_PRODUCE_BATCH) {
    throw new RequestError("invalid_argument", `messages: at most ${MAX_PRODUCE_BATCH} messages a request (got ${req.messages.length}); split the batch`);
  }
  const inputs: ProduceInput[] = req.messages.map((m, i) => {
    if (!req.allowNonJson) {
      try {
        JSON.parse(m.valueJson);
      } catch (err) {
        throw new RequestError("invalid_argument", `messages[${i}].value_json: not valid JSON (${(err as Error).message}); set allow_non_json to store it anyway`);
      }
    }
    const key = m.rawKey !== undefined ? m.rawKey : m.key.length > 0 ? encoder.encode(JSON.stringify(m.key)) : null;
    return {
      key,
      value: encoder.encode(m.valueJson),
      headers: m.headers.map((h) => [h.key, h.value] as const),
      ...(m.timestampMs > 0n ? { timestamp: Number(m.timestampMs) } : {}),
      ...(m.partition !== undefined ? { partition: m.partition } : {}),
    };
  });
  const records = await engine.source.produce(req.topic, inputs);
  return { records: records.map((r) => ({ partition: r.partition, offset: BigInt(r.offset), timestampMs: BigInt(r.timestamp) })) };
}

export async function listTopics(engine: Engine) {
  const topics = await engine.source.listTopics();
  const h = engine.holdings();
  return {
    source: engine.source.kind,
    server: {
      subscriptions: h.subscriptions,
      streamsActive: h.streamsActive,
      streamsParked: h.streamsParked,
      tailBytes: BigInt(h.tailBytes),
      tailBudgetBytes: BigInt(h.tailBudgetBytes),
      rssBytes: BigInt(h.rssBytes),
    },
    topics: topics.map((t) => {
      const skips = engine.matcher.skips(t.name);
      return {
        name: t.name,
        partitions: t.partitions.map((p) => ({ partition: p.partition, startOffset: BigInt(p.start), endOffset: BigInt(p.end) })),
        nonJsonValues: BigInt(skips.nonJson),
        badKeys: BigInt(skips.badKey),
      };
    }),
  };
}
