// The embedded log: a Source kept in one SQLite file, for running without a
// Kafka cluster. One process owns the file: watchers hear only of appends
// made through this object. Calls are synchronous underneath (better-sqlite3)
// and return settled promises to fit the Source interface.

import { log } from "../../util/log.js";
import {
  SourceArgumentError,
  type PartitionOffsets,
  type ProducedRecord,
  type ProduceInput,
  type Source,
  type SourceListener,
  type SourceRecord,
  type TopicMeta,
} from "../types.js";
import { Appender } from "./append.js";
import { decodeHeaders } from "./headers.js";
import { Listeners } from "../listeners.js";
import { AppendNotices } from "./append-notices.js";
import { Retention } from "./retention.js";
import { openDatabase, type Db } from "./schema.js";
import { prepareStatements, type MessageRow, type Statements, type TopicRow } from "./statements.js";
import { TopicDirectory } from "./topics.js";
import {
  validateNonNegative,
  validatePartition,
  validatePartitionCount,
  validateSearchTimestamp,
  validateTopicName,
} from "../validation.js";

export interface EmbeddedLogOptions {
  /** The SQLite file, created if missing, or ':memory:'. */
  readonly path: string;
  /** Partitions of a topic created by its first produce; default 4. */
  readonly defaultPartitions?: number;
  /** Delete messages older than this; default 7 days; 0 keeps them forever. */
  readonly retentionMs?: number;
  /** Per partition; default 1 GiB; 0 means unlimited. */
  readonly retentionBytes?: number;
  /** The clock, in ms since the epoch; tests inject one. */
  readonly now?: () => number;
}

const DAY_MS = 24 * 60 * 60 * 1000;
const RETENTION_INTERVAL_MS = 30_000;
/** Messages one retention step deletes per partition at most, between turns of the event loop. */
const RETENTION_STEP = 2_000;

export class EmbeddedLog implements Source {
  readonly kind = "embedded";
  readonly #db: Db;
  readonly #s: Statements;
  readonly #topics: TopicDirectory;
  readonly #appender: Appender;
  readonly #retention: Retention;
  readonly #listeners = new Listeners(log, "embedded log");
  readonly #appends = new AppendNotices((topic, partition, end) => this.#listeners.append(topic, partition, end));
  readonly #defaultPartitions: number;
  readonly #now: () => number;
  #timer: NodeJS.Timeout | undefined;
  /** A retention run in steps (see retention.ts), while one is under way. */
  #retaining: NodeJS.Immediate | undefined;

  constructor(options: EmbeddedLogOptions) {
    this.#defaultPartitions = options.defaultPartitions ?? 4;
    validatePartitionCount(this.#defaultPartitions);
    const retentionMs = options.retentionMs ?? 7 * DAY_MS;
    const retentionBytes = options.retentionBytes ?? 1024 ** 3;
    validateNonNegative("retentionMs", retentionMs);
    validateNonNegative("retentionBytes", retentionBytes);
    this.#now = options.now ?? Date.now;

    this.#db = openDatabase(options.path);
    this.#s = prepareStatements(this.#db);
    this.#topics = new TopicDirectory(this.#s);
    this.#appender = new Appender(this.#db, this.#s, this.#topics);
    this.#retention = new Retention(this.#db, this.#s, { retentionMs, retentionBytes });
  }

  /**
   * Starts applying retention every 30 s, in bounded steps with the event
   * loop running between them; the timer does not keep the process alive.
   */
  start(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setInterval(() => {
      if (this.#retaining === undefined) this.#retentionStep();
    }, RETENTION_INTERVAL_MS);
    this.#timer.unref();
  }

  #retentionStep(): void {
    this.#retaining = undefined;
    try {
      if (this.#retention.step(this.#now(), RETENTION_STEP).more) this.#retaining = setImmediate(() => this.#retentionStep());
    } catch (err) {
      log.error("embedded log retention failed", { err });
    }
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    clearImmediate(this.#retaining);
    this.#retaining = undefined;
    this.#appends.cancel();
    if (this.#db.open) this.#db.close();
  }

  /** Applies retention now, all of it (tests, tools); the server's timer does it in steps. */
  applyRetention(): { deletedMessages: number } {
    return { deletedMessages: this.#retention.apply(this.#now()) };
  }

  /** One bounded step of retention (what the timer runs, turn by turn). */
  retentionStep(maxMessages = RETENTION_STEP): { deleted: number; more: boolean } {
    return this.#retention.step(this.#now(), maxMessages);
  }

  /**
   * Creates a topic with `partitions` partitions. Creating one that already
   * exists with the same count does nothing, so a setup step can run on
   * every start; with another count it throws SourceArgumentError.
   */
  createTopic(name: string, partitions: number): TopicMeta {
    validateTopicName(name);
    validatePartitionCount(partitions);
    const existing = this.#topics.find(name);
    if (existing !== undefined) {
      if (existing.partitions !== partitions) {
        throw new SourceArgumentError(
          `topic "${name}" already exists with ${existing.partitions} partitions, not ${partitions}`,
        );
      }
      return this.#describe(existing);
    }
    const row = this.#db.transaction(() => this.#topics.insert(name, partitions, this.#now())).immediate();
    this.#topics.remember(row);
    this.#listeners.topic(name);
    return this.#describe(row);
  }

  async listTopics(): Promise<TopicMeta[]> {
    const topics: { name: string; partitions: PartitionOffsets[] }[] = [];
    for (const { name, partition, start, end } of this.#s.allPartitionOffsets.all()) {
      if (topics.at(-1)?.name !== name) topics.push({ name, partitions: [] });
      topics.at(-1)!.partitions.push({ partition, start, end });
    }
    return topics;
  }

  async describeTopic(topic: string): Promise<TopicMeta> {
    return this.#describe(this.#topics.get(topic));
  }

  async read(topic: string, partition: number, offset: number, maxRecords: number): Promise<SourceRecord[]> {
    const row = this.#partitionOf(topic, partition);
    validateNonNegative("offset", offset);
    validateNonNegative("maxRecords", maxRecords);
    if (maxRecords === 0) return [];
    return this.#s.readFrom.all(row.id, partition, offset, maxRecords).map((m) => toRecord(topic, partition, m));
  }

  async readOne(topic: string, partition: number, offset: number): Promise<SourceRecord | null> {
    const row = this.#partitionOf(topic, partition);
    validateNonNegative("offset", offset);
    const m = this.#s.readOne.get(row.id, partition, offset);
    return m === undefined ? null : toRecord(topic, partition, m);
  }

  async readAt(topic: string, partition: number, offsets: readonly number[]): Promise<Array<SourceRecord | null>> {
    const row = this.#partitionOf(topic, partition);
    // Point lookups by primary key are cheaper here than decoding the records between them.
    return offsets.map((offset) => {
      const m = this.#s.readOne.get(row.id, partition, offset);
      return m === undefined ? null : toRecord(topic, partition, m);
    });
  }

  async offsetForTimestamp(topic: string, partition: number, timestamp: number): Promise<number> {
    const row = this.#partitionOf(topic, partition);
    validateSearchTimestamp(timestamp);
    return this.#s.offsetForTimestamp.get({ topic: row.id, partition, timestamp })!;
  }

  /** An empty batch returns [] and, unlike a non-empty one, does not create the topic. */
  async produce(topic: string, messages: readonly ProduceInput[]): Promise<ProducedRecord[]> {
    validateTopicName(topic);
    if (messages.length === 0) return [];
    const { records, created, ends } = this.#appender.append(topic, messages, this.#defaultPartitions, this.#now());
    if (created) this.#listeners.topic(topic);
    this.#appends.add(topic, ends);
    return records;
  }

  watch(listener: SourceListener): () => void {
    const remove = this.#listeners.add(listener);
    return () => void remove();
  }

  #describe(row: TopicRow): TopicMeta {
    return { name: row.name, partitions: this.#s.partitionOffsets.all(row.id) };
  }

  #partitionOf(topic: string, partition: number): TopicRow {
    const row = this.#topics.get(topic);
    validatePartition(topic, partition, row.partitions);
    return row;
  }
}

function toRecord(topic: string, partition: number, m: MessageRow): SourceRecord {
  return {
    topic,
    partition,
    offset: m.offset,
    timestamp: m.timestamp,
    key: m.key,
    value: m.value,
    headers: decodeHeaders(m.headers),
  };
}
