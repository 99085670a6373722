// Resolves a Count's time range to offsets per partition and fixes the time
// buckets before anything is counted, so every way of answering (scan,
// index, cache) counts exactly the same records into the same buckets.
import type { Source } from "../source/types.js";
import type { CompiledFilter } from "../filter/index.js";
import type { CountRange } from "./types.js";

export interface PartitionRange {
  readonly topic: string;
  readonly partition: number;
  /** [from, to) offsets. */
  readonly from: number;
  readonly to: number;
}

export interface CountPlan {
  readonly range: CountRange;
  readonly parts: readonly PartitionRange[];
  readonly bucketMs: number;
  readonly bucket0: number;
  /** Same key, same records: the offsets pin the data (retention moves `from`). */
  readonly cacheKey: string;
}

const TARGET_BUCKETS = 60;

export async function planCount(source: Source, filter: CompiledFilter, range: CountRange): Promise<CountPlan> {
  const parts: PartitionRange[] = [];
  let firstTs = Infinity;
  let lastTs = -Infinity;
  for (const t of await source.listTopics()) {
    if (!filter.matchesTopic(t.name)) continue;
    for (const p of t.partitions) {
      const from = range.fromMs > 0 ? await source.offsetForTimestamp(t.name, p.partition, range.fromMs) : p.start;
      const to = range.toMs > 0 ? await source.offsetForTimestamp(t.name, p.partition, range.toMs) : p.end;
      if (to <= from) continue;
      parts.push({ topic: t.name, partition: p.partition, from, to });
      // The range's span places and sizes the time buckets before counting, so
      // memory stays fixed: without a start, the first record's time places
      // them; without an end and a width, the last record's time sizes them.
      const needFirst = range.fromMs <= 0;
      const needLast = range.toMs <= 0 && range.bucketMs <= 0;
      if (!needFirst && !needLast) continue;
      const offsets = needFirst && needLast && to - 1 > from ? [from, to - 1] : [needFirst ? from : to - 1];
      const records = await source.readAt(t.name, p.partition, offsets);
      if (needFirst && records[0]) firstTs = Math.min(firstTs, records[0].timestamp);
      const last = needLast ? (records.at(-1) ?? records[0]) : null;
      if (last) lastTs = Math.max(lastTs, last.timestamp);
    }
  }
  const now = Date.now();
  const spanFrom = range.fromMs > 0 ? range.fromMs : Number.isFinite(firstTs) ? firstTs : now;
  const spanTo = range.toMs > 0 ? range.toMs : Number.isFinite(lastTs) ? lastTs + 1 : now + 1;
  const bucketMs = range.bucketMs > 0 ? range.bucketMs : niceWidth(Math.max(1, spanTo - spanFrom) / TARGET_BUCKETS);
  const bucket0 = Math.floor(spanFrom / bucketMs) * bucketMs;
  const cacheKey = JSON.stringify([filter.canonical, range.fromMs, range.toMs, bucketMs, parts.map((p) => [p.topic, p.partition, p.from, p.to])]);
  return { range, parts, bucketMs, bucket0, cacheKey };
}

/** Rounds a bucket width up to 1, 2 or 5 times a power of ten milliseconds. */
function niceWidth(ms: number): number {
  const pow = 10 ** Math.floor(Math.log10(ms));
  for (const m of [1, 2, 5, 10]) if (m * pow >= ms) return m * pow;
  return 10 * pow;
}
