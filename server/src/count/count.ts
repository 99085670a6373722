// Count: scans a time range of the source for one filter and reports
// progress (messages and bytes scanned, matched, per partition) and a result
// with a histogram of match sizes and counts per time bucket.
import type { Source } from "../source/types.js";
import type { CompiledFilter } from "../filter/index.js";
import { matchesParsed, parseRecord } from "../matcher/parsed-record.js";

export interface CountRange {
  /** [fromMs, toMs) in ms since the epoch; 0 = unbounded. */
  readonly fromMs: number;
  readonly toMs: number;
  /** Width of the time buckets; 0 = about 60 buckets over the range. */
  readonly bucketMs: number;
}

export interface PartitionCount {
  readonly topic: string;
  readonly partition: number;
  scanned: number;
  readonly total: number;
  matched: number;
}

export interface CountProgress {
  readonly kind: "progress";
  readonly messagesScanned: number;
  readonly bytesScanned: number;
  readonly matched: number;
  readonly messagesTotal: number;
  readonly fraction: number;
  readonly etaMs: number;
  readonly partitions: readonly PartitionCount[];
}

export interface CountResult {
  readonly kind: "result";
  readonly matched: number;
  readonly messagesScanned: number;
  readonly bytesScanned: number;
  readonly matchedBytes: number;
  readonly skippedNonJson: number;
  readonly skippedBadKey: number;
  /** Upper bounds in bytes; the last bucket (leBytes 0) has none. */
  readonly sizes: ReadonlyArray<{ leBytes: number; count: number }>;
  readonly times: ReadonlyArray<{ startMs: number; count: number }>;
  readonly partitions: readonly PartitionCount[];
  readonly elapsedMs: number;
}

const SIZE_BOUNDS = [64, 256, 1024, 4096, 16384, 65536, 262144, 1048576];
const TARGET_BUCKETS = 60;

export interface CountOptions {
  readonly batchSize?: number;
  readonly progressMs?: number;
  readonly signal?: AbortSignal;
}

export async function* countMatches(source: Source, filter: CompiledFilter, range: CountRange, o: CountOptions = {}): AsyncGenerator<CountProgress | CountResult> {
  const batchSize = o.batchSize ?? 1000;
  const progressMs = o.progressMs ?? 250;
  const started = Date.now();
  const parts: Array<PartitionCount & { from: number; to: number }> = [];
  let firstTs = Infinity;
  let lastTs = -Infinity;
  for (const t of await source.listTopics()) {
    if (!filter.matchesTopic(t.name)) continue;
    for (const p of t.partitions) {
      const from = range.fromMs > 0 ? await source.offsetForTimestamp(t.name, p.partition, range.fromMs) : p.start;
      const to = range.toMs > 0 ? await source.offsetForTimestamp(t.name, p.partition, range.toMs) : p.end;
      if (to <= from) continue;
      parts.push({ topic: t.name, partition: p.partition, scanned: 0, total: to - from, matched: 0, from, to });
      // The range's span sizes the time buckets before the scan, so memory stays fixed.
      const a = await source.readOne(t.name, p.partition, from);
      const b = await source.readOne(t.name, p.partition, to - 1);
      if (a) firstTs = Math.min(firstTs, a.timestamp);
      if (b) lastTs = Math.max(lastTs, b.timestamp);
    }
  }
  const spanFrom = range.fromMs > 0 ? range.fromMs : Number.isFinite(firstTs) ? firstTs : started;
  const spanTo = range.toMs > 0 ? range.toMs : Number.isFinite(lastTs) ? lastTs + 1 : started + 1;
  const bucketMs = range.bucketMs > 0 ? range.bucketMs : niceWidth(Math.max(1, spanTo - spanFrom) / TARGET_BUCKETS);
  const bucket0 = Math.floor(spanFrom / bucketMs) * bucketMs;
  const times = new Map<number, number>();
  const sizes = new Array<number>(SIZE_BOUNDS.length + 1).fill(0);
  const total = parts.reduce((n, p) => n + p.total, 0);
  let scanned = 0;
  let bytes = 0;
  let matched = 0;
  let matchedBytes = 0;
  let nonJson = 0;
  let badKey = 0;
  let lastReport = Date.now();
  const progress = (): CountProgress => {
    const fraction = total > 0 ? scanned / total : 1;
    const elapsed = Date.now() - started;
    return {
      kind: "progress",
      messagesScanned: scanned,
      bytesScanned: bytes,
      matched,
      messagesTotal: total,
      fraction,
      etaMs: fraction > 0 && fraction < 1 ? Math.round((elapsed / fraction) * (1 - fraction)) : 0,
      partitions: parts.map(({ topic, partition, scanned, total, matched }) => ({ topic, partition, scanned, total, matched })),
    };
  };
  yield progress();
  for (const p of parts) {
    let offset = p.from;
    while (offset < p.to) {
      o.signal?.throwIfAborted();
      const records = await source.read(p.topic, p.partition, offset, Math.min(batchSize, p.to - offset));
      const next = records.length === 0 ? p.to : Math.min(p.to, records[records.length - 1]!.offset + 1);
      for (const r of records) {
        if (r.offset >= p.to) break;
        const size = r.value?.byteLength ?? 0;
        bytes += size + (r.key?.byteLength ?? 0);
        if ((range.fromMs > 0 && r.timestamp < range.fromMs) || (range.toMs > 0 && r.timestamp >= range.toMs)) continue;
        const parsed = parseRecord(r);
        if (r.value !== null && !parsed.valueOk && filter.needsValue) nonJson++;
        if (r.key !== null && parsed.key === null && filter.needsKey) badKey++;
        if (!matchesParsed(filter, parsed)) continue;
        matched++;
        p.matched++;
        matchedBytes += size;
        let i = SIZE_BOUNDS.findIndex((b) => size <= b);
        if (i < 0) i = SIZE_BOUNDS.length;
        sizes[i]!++;
        const t = bucket0 + Math.floor((r.timestamp - bucket0) / bucketMs) * bucketMs;
        times.set(t, (times.get(t) ?? 0) + 1);
      }
      scanned += next - offset;
      p.scanned += next - offset;
      offset = next;
      if (Date.now() - lastReport >= progressMs) {
        lastReport = Date.now();
        yield progress();
      }
    }
  }
  yield progress();
  yield {
    kind: "result",
    matched,
    messagesScanned: scanned,
    bytesScanned: bytes,
    matchedBytes,
    skippedNonJson: nonJson,
    skippedBadKey: badKey,
    sizes: sizes.map((count, i) => ({ leBytes: SIZE_BOUNDS[i] ?? 0, count })),
    times: [...times].sort((a, b) => a[0] - b[0]).map(([startMs, count]) => ({ startMs, count })),
    partitions: parts.map(({ topic, partition, scanned, total, matched }) => ({ topic, partition, scanned, total, matched })),
    elapsedMs: Date.now() - started,
  };
}

/** Rounds a bucket width up to 1, 2 or 5 times a power of ten milliseconds. */
function niceWidth(ms: number): number {
  const pow = 10 ** Math.floor(Math.log10(ms));
  for (const m of [1, 2, 5, 10]) if (m * pow >= ms) return m * pow;
  return 10 * pow;
}
