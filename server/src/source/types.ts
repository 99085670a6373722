// The source interface: everything above it (matcher, sequencer, cursor, API)
// talks to this and never learns whether an embedded log or Kafka is behind it.
// Offsets are JavaScript numbers: exact up to 2^53, far beyond any partition.

/** One message as the source holds it. Keys and values are raw bytes. */
export interface SourceRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  /** Milliseconds since the Unix epoch. */
  readonly timestamp: number;
  readonly key: Uint8Array | null;
  readonly value: Uint8Array | null;
  readonly headers: ReadonlyArray<readonly [string, Uint8Array]>;
}

export interface PartitionOffsets {
  readonly partition: number;
  /** The first offset the source still holds (retention moves it forward). */
  readonly start: number;
  /** The offset the next appended message will get (the high watermark). */
  readonly end: number;
}

export interface TopicMeta {
  readonly name: string;
  /** Ordered by partition number, 0..n-1. */
  readonly partitions: readonly PartitionOffsets[];
}

export interface ProduceInput {
  readonly key: Uint8Array | null;
  readonly value: Uint8Array | null;
  readonly headers?: ReadonlyArray<readonly [string, Uint8Array]>;
  /** Milliseconds since the epoch; default now. */
  readonly timestamp?: number;
  /** Explicit partition; default: murmur2 of the key bytes, round-robin for null keys. */
  readonly partition?: number;
}

export interface ProducedRecord {
  readonly partition: number;
  readonly offset: number;
  readonly timestamp: number;
}

/** What a source's append step reports, so it can notify its watchers after the write. */
export interface ProduceResult {
  readonly records: ProducedRecord[];
  /** The topic did not exist before this batch. */
  readonly created: boolean;
  /** Each partition the batch touched and its new end offset, by partition number. */
  readonly ends: ReadonlyArray<readonly [partition: number, end: number]>;
}

/** What a source tells its watchers. Both calls are hints: readers re-read. */
export interface SourceListener {
  /** Messages were appended: `end` is the partition's new end offset. */
  onAppend?(topic: string, partition: number, end: number): void;
  /** A topic appeared (created by a produce, or noticed on the broker), or it has more partitions than before. */
  onTopic?(topic: string): void;
}

export interface Source {
  readonly kind: "embedded" | "kafka";
  /** All topics, sorted by name. */
  listTopics(): Promise<TopicMeta[]>;
  /** One topic; throws UnknownTopicError. */
  describeTopic(topic: string): Promise<TopicMeta>;
  /**
   * Up to `maxRecords` records of one partition from `offset` on, in offset
   * order. Records before the partition's start offset no longer exist, so
   * the first record returned may have an offset above `offset` (the caller
   * sees the hole). Returns [] when `offset` >= end.
   */
  read(topic: string, partition: number, offset: number, maxRecords: number): Promise<SourceRecord[]>;
  /** The record at exactly this address, or null when retention deleted it. */
  readOne(topic: string, partition: number, offset: number): Promise<SourceRecord | null>;
  /**
   * The records at exactly these offsets of one partition (ascending), null
   * where there is none: what a cursor replaying the index needs. Each source
   * reads them its cheapest way (point lookups, or a few range reads).
   */
  readAt(topic: string, partition: number, offsets: readonly number[]): Promise<Array<SourceRecord | null>>;
  /** The first offset whose timestamp is >= `timestamp`, or the end offset. */
  offsetForTimestamp(topic: string, partition: number, timestamp: number): Promise<number>;
  /** Appends to a topic (created with the default partition count if new). */
  produce(topic: string, messages: readonly ProduceInput[]): Promise<ProducedRecord[]>;
  /** Registers a listener; returns the function that removes it. */
  watch(listener: SourceListener): () => void;
  close(): Promise<void>;
}

export class UnknownTopicError extends Error {
  readonly topic: string;
  constructor(topic: string) {
    super(`unknown topic "${topic}"`);
    this.name = "UnknownTopicError";
    this.topic = topic;
  }
}

/**
 * The source cannot answer now (brokers unreachable, credentials or TLS
 * refused): the message says what to check. Not the client's fault, and a
 * later try may work.
 */
export class SourceUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "SourceUnavailableError";
  }
}

export class SourceArgumentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SourceArgumentError";
  }
}
