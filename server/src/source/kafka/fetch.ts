// Group-less reads at explicit offsets with the low-level Fetch request
// (consumer.fetch with the partition's leader and the topic id from the
// metadata), read_committed, minBytes 1 and maxWaitTime 0: the broker answers
// at once, with data or without (callers wait for onAppend, not the broker).
// A Fetch without an answer within the deadline is abandoned and tried again
// with fresh metadata, as one failing on stale metadata is.

import { FetchIsolationLevels } from "@platformatic/kafka";
import type { SourceRecord } from "../types.js";
import { validatePartition } from "../validation.js";
import { withDeadline, type ReaderConsumer } from "./clients.js";
import { hasApiError, isStaleMetadata, KafkaCallTimeoutError } from "./errors.js";
import { partitionOffsets } from "./offsets.js";
import { decodePartition, type FetchedPartition } from "./records.js";
import { describeTopic, type TopicInfo } from "./topics.js";
import type { Prefetched } from "./prefetch.js";

/** Bytes asked for per Fetch by read(); the broker sends at least one whole batch anyway. */
const READ_MAX_BYTES = 1 << 20;
/** Bytes asked for by readOne(): one batch is enough. */
const ONE_MAX_BYTES = 64 << 10;
/** OFFSET_OUT_OF_RANGE answers tolerated in one read while retention keeps moving the start. */
const MAX_OUT_OF_RANGE = 5;

export type ReadMode = "range" | "exact";

/**
 * Up to `maxRecords` records from `offset` on, in offset order, skipping
 * aborted transactions and control records. In "range" mode an offset below
 * the log start reads from the log start; in "exact" mode (readOne) it reads
 * nothing, and the read stops as soon as `offset` has been passed.
 */
export async function readPartition(
  consumer: ReaderConsumer,
  topic: string,
  partition: number,
  offset: number,
  maxRecords: number,
  mode: ReadMode,
  prefetched?: Prefetched,
): Promise<SourceRecord[]> {
  let info = await describeTopic(consumer, topic);
  validatePartition(topic, partition, info.partitions);
  const maxBytes = mode === "exact" ? ONE_MAX_BYTES : READ_MAX_BYTES;
  const out: SourceRecord[] = [];
  let position = offset;
  let refreshed = false;
  let outOfRange = 0;

  while (out.length < maxRecords) {
    let p: FetchedPartition;
    try {
      // A long poll may have fetched this very range a moment ago (prefetch.ts).
      p = (mode === "range" ? prefetched?.take(topic, info.id, partition, position) : undefined) ?? (await fetchOnce(consumer, info, partition, position, maxBytes));
    } catch (err) {
      if (hasApiError(err, "OFFSET_OUT_OF_RANGE")) {
        // Below the log start (retention) or past the high watermark.
        const { start, end } = await partitionOffsets(consumer, topic, partition);
        if (position >= end) break;
        if (position < start) {
          if (mode === "exact") break;
          if (outOfRange++ < MAX_OUT_OF_RANGE) {
            position = start;
            continue;
          }
        } else if (outOfRange++ < MAX_OUT_OF_RANGE) {
          continue; // the range moved between the fetch and the lookup: try again
        }
        throw err;
      }
      const timedOut = err instanceof KafkaCallTimeoutError;
      if (!refreshed && (timedOut || isStaleMetadata(err) || err instanceof NoLeaderError)) {
        refreshed = true;
        if (timedOut) consumer.warnNoAnswer(err, { topic, partition, offset: position });
        // A forced lookup of this topic; not clearMetadata(), which dropped the
        // whole cache under lookups in flight (see ReaderConsumer).
        info = await describeTopic(consumer, topic, true);
        validatePartition(topic, partition, info.partitions);
        continue;
      }
      throw err;
    }
    const { records, next } = decodePartition(topic, p, position, maxRecords - out.length);
    for (const r of records) out.push(r);
    // Nothing (complete) at this position: at or past the last stable offset.
    if (next === undefined || next <= position) break;
    position = next;
    if (mode === "exact" && position > offset) break;
    // Everything readable has been read; batches of aborted transactions or
    // markers may have been all there was, so keep going until the LSO.
    if (position >= Number(p.lastStableOffset)) break;
  }
  return out;
}

class NoLeaderError extends Error {
  constructor(topic: string, partition: number) {
    super(`partition ${partition} of topic "${topic}" has no leader at the moment (a leader election is in progress or its brokers are down)`);
    this.name = "NoLeaderError";
  }
}

async function fetchOnce(consumer: ReaderConsumer, info: TopicInfo, partition: number, offset: number, maxBytes: number): Promise<FetchedPartition> {
  const leader = info.leaders[partition] ?? -1;
  if (leader < 0) {
    throw new NoLeaderError(info.name, partition);
  }
  const res = await withDeadline("a Fetch request", consumer.callTimeoutMs, () =>
    consumer.fetch({
      node: leader,
      minBytes: 1,
      maxWaitTime: 0,
      maxBytes,
      isolationLevel: FetchIsolationLevels.READ_COMMITTED,
      topics: [
        {
          topicId: info.id,
          partitions: [{ partition, fetchOffset: BigInt(offset), currentLeaderEpoch: -1, lastFetchedEpoch: -1, partitionMaxBytes: maxBytes }],
        },
      ],
    }),
  );
  const p = res.responses.find((t) => t.topicId === info.id)?.partitions.find((x) => x.partitionIndex === partition);
  if (p === undefined) throw new Error(`the Fetch response for topic "${info.name}" lacks partition ${partition}`);
  return p;
}
