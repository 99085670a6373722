// The index's data model (the grep_match_seq of the design): streams, their
// epochs, and the numbered matches of each epoch.

/** "topic:partition" (Kafka topic names cannot contain ':'). */
export type PartitionKey = string;
export const partitionKey = (topic: string, partition: number): PartitionKey => `${topic}:${partition}`;
export function splitPartitionKey(k: PartitionKey): { topic: string; partition: number } {
  const i = k.lastIndexOf(":");
  return { topic: k.slice(0, i), partition: Number(k.slice(i + 1)) };
}

/** Offsets per partition. A partition that is absent counts as offset 0. */
export type OffsetMap = Map<PartitionKey, number>;

export interface Epoch {
  readonly epoch: number;
  /**
   * Position order: epoch 0 has 0, each backfill before the oldest one less
   * than it; after a park, the backfill of the unwatched range the closed
   * head's + 1 and the new head + 2.
   */
  readonly ord: number;
  readonly kind: "head" | "backfill";
  /** Where the epoch begins in the source. */
  readonly start: OffsetMap;
  /** Where a backfill epoch ends (exclusive); null for the head epoch, which grows. */
  readonly end: OffsetMap | null;
  /** Number of matches so far: seqs 1..lastSeq exist. */
  lastSeq: number;
  /**
   * A backfill epoch is complete when its frontier reached its end
   * everywhere; a head epoch when its stream was parked: it ends at its frontier.
   */
  complete: boolean;
  /** The next offset to scan per partition (persisted with the matches). */
  readonly frontier: OffsetMap;
}

export interface StreamRecord {
  /** Internal integer key of the stream in the index. */
  readonly sid: number;
  /** 16 hex characters: the hash of the filter's canonical form. */
  readonly streamId: string;
  /** The normalised filter (without projection) as JSON, to recompile after a restart. */
  readonly specJson: string;
  readonly createdAt: number;
  lastUsedAt: number;
  /** Sorted by ord (oldest position first). */
  readonly epochs: Epoch[];
}

/** One match as the index holds it. */
export interface MatchRow {
  readonly epoch: number;
  readonly seq: number;
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly timestamp: number;
  /** Size of the value in bytes. */
  readonly size: number;
}

/**
 * The stream's head: its latest epoch of kind "head" (a parked and resumed
 * stream also has closed ones before it). Complete when the stream is parked.
 */
export const headEpoch = (s: StreamRecord): Epoch => {
  // Epochs are sorted by ord and the head's is the highest: it is the last one.
  const last = s.epochs[s.epochs.length - 1];
  if (last?.kind === "head") return last;
  const head = s.epochs.find((e) => e.kind === "head");
  if (!head) throw new Error(`stream ${s.streamId} has no head epoch`);
  return head;
};

export const startOf = (m: OffsetMap, k: PartitionKey): number => m.get(k) ?? 0;
