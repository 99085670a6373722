// Adds up matches: totals, a histogram of value sizes, counts per time bucket
// and per partition. Memory is fixed by the plan's buckets.
import { etaMs } from "../util/eta.js";
import type { CountPlan } from "./plan.js";
import type { CountProgress, CountResult, PartitionCount } from "./types.js";

const SIZE_BOUNDS = [64, 256, 1024, 4096, 16384, 65536, 262144, 1048576];

export class Tally {
  scanned = 0;
  bytes = 0;
  matched = 0;
  matchedBytes = 0;
  nonJson = 0;
  badKey = 0;
  readonly total: number;
  readonly partitions: PartitionCount[];
  private readonly byKey = new Map<string, PartitionCount>();
  private readonly sizes = new Array<number>(SIZE_BOUNDS.length + 1).fill(0);
  private readonly times = new Map<number, number>();
  private readonly started = Date.now();

  constructor(private readonly plan: CountPlan) {
    this.partitions = plan.parts.map((p) => ({ topic: p.topic, partition: p.partition, scanned: 0, total: p.to - p.from, matched: 0 }));
    this.partitions.forEach((p) => this.byKey.set(`${p.topic}:${p.partition}`, p));
    this.total = this.partitions.reduce((n, p) => n + p.total, 0);
  }

  partition(topic: string, partition: number): PartitionCount {
    return this.byKey.get(`${topic}:${partition}`)!;
  }

  /** Whether a record of this time is inside the range (offsets are resolved from times, timestamps need not be monotonic). */
  inRange(timestamp: number): boolean {
    const { fromMs, toMs } = this.plan.range;
    return !((fromMs > 0 && timestamp < fromMs) || (toMs > 0 && timestamp >= toMs));
  }

  match(p: PartitionCount, size: number, timestamp: number): void {
    this.matched++;
    p.matched++;
    this.matchedBytes += size;
    let i = SIZE_BOUNDS.findIndex((b) => size <= b);
    if (i < 0) i = SIZE_BOUNDS.length;
    this.sizes[i]!++;
    const { bucket0, bucketMs } = this.plan;
    const t = bucket0 + Math.floor((timestamp - bucket0) / bucketMs) * bucketMs;
    this.times.set(t, (this.times.get(t) ?? 0) + 1);
  }

  progress(): CountProgress {
    const fraction = this.total > 0 ? this.scanned / this.total : 1;
    const elapsed = Date.now() - this.started;
    return {
      kind: "progress",
      messagesScanned: this.scanned,
      bytesScanned: this.bytes,
      matched: this.matched,
      messagesTotal: this.total,
      fraction,
      etaMs: etaMs(elapsed, fraction),
      partitions: this.partitions.map((p) => ({ ...p })),
    };
  }

  result(answeredFrom: CountResult["answeredFrom"]): CountResult {
    return {
      kind: "result",
      matched: this.matched,
      messagesScanned: this.scanned,
      bytesScanned: this.bytes,
      matchedBytes: this.matchedBytes,
      skippedNonJson: this.nonJson,
      skippedBadKey: this.badKey,
      sizes: this.sizes.map((count, i) => ({ leBytes: SIZE_BOUNDS[i] ?? 0, count })),
      times: [...this.times].sort((a, b) => a[0] - b[0]).map(([startMs, count]) => ({ startMs, count })),
      partitions: this.partitions.map((p) => ({ ...p })),
      elapsedMs: Date.now() - this.started,
      answeredFrom,
    };
  }
}
