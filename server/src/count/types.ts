// What Count reports: progress while it works, then one result.

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
  readonly answeredFrom: "scan" | "index" | "cache";
}

export type CountOutput = CountProgress | CountResult;
