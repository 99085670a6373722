// Start and end offsets through ListOffsets.
// - start: the log start offset (EARLIEST), which retention and DeleteRecords move.
// - end: the last stable offset (LATEST under READ_COMMITTED). Reads are
//   read_committed, so nothing at or past the LSO can be read yet (an open
//   transaction holds it back); announcing the high watermark instead would
//   send readers after records they cannot get. Without open transactions
//   the LSO equals the high watermark.
// Every ListOffsets is bounded (ReaderConsumer.bounded): the client's
// listOffsets looks the topics up in its metadata cache first, where it could
// lose the call (see ReaderConsumer).

import { FetchIsolationLevels, ListOffsetTimestamps } from "@platformatic/kafka";
import type { PartitionOffsets, TopicMeta } from "../types.js";
import type { ReaderConsumer } from "./clients.js";

export type OffsetsByTopic = Map<string, readonly (number | undefined)[]>;

async function list(consumer: ReaderConsumer, topics: readonly string[], timestamp: bigint, partitions?: Record<string, number[]>): Promise<OffsetsByTopic> {
  const out: OffsetsByTopic = new Map();
  if (topics.length === 0) return out; // an empty list would mean "the topics the consumer follows"
  const res = await consumer.bounded("a ListOffsets request", topics, () =>
    consumer.listOffsets({
      topics: [...topics],
      timestamp,
      isolationLevel: FetchIsolationLevels.READ_COMMITTED,
      ...(partitions !== undefined ? { partitions } : {}),
    }),
  );
  for (const [topic, offsets] of res) {
    out.set(topic, Array.from(offsets, (o) => (o === undefined ? undefined : Number(o))));
  }
  return out;
}

/** Log start offsets, by topic then partition. */
export function startOffsets(consumer: ReaderConsumer, topics: readonly string[]): Promise<OffsetsByTopic> {
  return list(consumer, topics, ListOffsetTimestamps.EARLIEST);
}

/** Last stable offsets (read_committed ends), by topic then partition. */
export function endOffsets(consumer: ReaderConsumer, topics: readonly string[]): Promise<OffsetsByTopic> {
  return list(consumer, topics, ListOffsetTimestamps.LATEST);
}

/** Start and end of every partition of these topics, in the Source's shape. */
export async function topicMetas(consumer: ReaderConsumer, topics: readonly string[]): Promise<TopicMeta[]> {
  const [starts, ends] = await Promise.all([startOffsets(consumer, topics), endOffsets(consumer, topics)]);
  return topics.map((name) => {
    const s = starts.get(name) ?? [];
    const e = ends.get(name) ?? [];
    const n = Math.max(s.length, e.length);
    const partitions: PartitionOffsets[] = [];
    for (let partition = 0; partition < n; partition++) {
      const end = e[partition] ?? 0;
      // The start can never be past the end (an empty partition has start = end).
      const start = Math.min(s[partition] ?? 0, end);
      partitions.push({ partition, start, end });
    }
    return { name, partitions };
  });
}

/** Start and end of one partition. */
export async function partitionOffsets(consumer: ReaderConsumer, topic: string, partition: number): Promise<{ start: number; end: number }> {
  const only = { [topic]: [partition] };
  const [s, e] = await Promise.all([
    list(consumer, [topic], ListOffsetTimestamps.EARLIEST, only),
    list(consumer, [topic], ListOffsetTimestamps.LATEST, only),
  ]);
  const end = e.get(topic)?.[partition] ?? 0;
  const start = Math.min(s.get(topic)?.[partition] ?? 0, end);
  return { start, end };
}

/**
 * The first offset whose timestamp is >= `timestamp`, or the end offset when
 * there is none (Kafka answers -1 then). Negative timestamps mean "from the
 * start": Kafka reserves -1, -2, ... for LATEST, EARLIEST and friends, so they
 * are searched as 0.
 */
export async function offsetForTimestamp(consumer: ReaderConsumer, topic: string, partition: number, timestamp: number): Promise<number> {
  const res = await consumer.bounded("a ListOffsets request", [topic], () =>
    consumer.listOffsetsWithTimestamps({
      topics: [topic],
      partitions: { [topic]: [partition] },
      timestamp: BigInt(Math.max(0, timestamp)),
      isolationLevel: FetchIsolationLevels.READ_COMMITTED,
    }),
  );
  const found = res.get(topic)?.get(partition)?.offset;
  if (found !== undefined && found >= 0n) return Number(found);
  return (await list(consumer, [topic], ListOffsetTimestamps.LATEST, { [topic]: [partition] })).get(topic)?.[partition] ?? 0;
}
