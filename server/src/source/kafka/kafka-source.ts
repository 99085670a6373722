// The Source over an Apache Kafka cluster, with @platformatic/kafka.
// Reads are group-less Fetch requests at explicit offsets (read_committed),
// ends are last stable offsets, produce() places records as the embedded log
// does, watch() polls metadata and long-polls for appends. See the files next
// to this one for each part.

import type { Logger } from "../../util/log.js";
import {
  UnknownTopicError,
  type ProducedRecord,
  type ProduceInput,
  type Source,
  type SourceListener,
  type SourceRecord,
  type TopicMeta,
} from "../types.js";
import { validateNonNegative, validatePartition, validateSearchTimestamp } from "../validation.js";
import { ConnectionPool } from "@platformatic/kafka";
import { baseOptions, closeClients, createClients, type KafkaClients } from "./clients.js";
import { explain, isUnknownTopic, KafkaSourceClosedError } from "./errors.js";
import { readPartition } from "./fetch.js";
import { offsetForTimestamp, topicMetas } from "./offsets.js";
import { resolveOptions, type KafkaSourceOptions, type ResolvedOptions } from "./options.js";
import { Publisher } from "./produce.js";
import { describeTopic, listTopicNames } from "./topics.js";
import { Watcher } from "./watcher.js";
import { Prefetched } from "./prefetch.js";

/** readAt reads a range when it holds at most this many records per wanted one (plus slack). */
const RANGE_DENSITY = 32;
const RANGE_SLACK = 256;

export class KafkaSource implements Source {
  readonly kind = "kafka";
  readonly #options: ResolvedOptions;
  readonly #log: Logger;
  readonly #clients: KafkaClients;
  readonly #publisher: Publisher;
  readonly #watcher: Watcher;
  /** What the long polls fetched, for the reads their news causes. */
  readonly #prefetched = new Prefetched();
  #closing: Promise<void> | undefined;

  constructor(options: KafkaSourceOptions) {
    this.#options = resolveOptions(options);
    this.#log = this.#options.log;
    this.#clients = createClients(this.#options);
    this.#publisher = new Publisher(this.#clients, this.#options.defaultPartitions);
    this.#watcher = new Watcher(
      this.#clients,
      this.#options.pollIntervalMs,
      this.#log,
      (err) => this.#explain(err),
      // The long polls for appends get connections of their own (see AppendPoller).
      () => new ConnectionPool(`${this.#options.clientId}-appends`, baseOptions(this.#options)),
      this.#prefetched,
    );
  }

  /** Reads served by what a long poll had fetched (no Fetch of their own). */
  get readsFromLongPolls(): number {
    return this.#prefetched.hits;
  }

  /** The bootstrap brokers, as given. */
  get brokers(): readonly string[] {
    return this.#options.brokers;
  }

  async listTopics(): Promise<TopicMeta[]> {
    return this.#call(async () => {
      // A topic deleted between the listing and the offsets lookup: list again, once,
      // and look the topics listed then up afresh (a forced refresh of those topics;
      // not clearMetadata(), which dropped the whole cache under lookups in flight:
      // see ReaderConsumer).
      for (let attempt = 0; ; attempt++) {
        const names = await listTopicNames(this.#clients);
        try {
          if (attempt > 0) await this.#clients.consumer.refresh(names);
          return await topicMetas(this.#clients.consumer, names);
        } catch (err) {
          if (attempt > 0 || !(err instanceof UnknownTopicError || isUnknownTopic(err))) throw err;
        }
      }
    });
  }

  async describeTopic(topic: string): Promise<TopicMeta> {
    return this.#call(async () => {
      await describeTopic(this.#clients.consumer, topic);
      try {
        return (await topicMetas(this.#clients.consumer, [topic]))[0]!;
      } catch (err) {
        if (isUnknownTopic(err)) throw new UnknownTopicError(topic);
        throw err;
      }
    });
  }

  async read(topic: string, partition: number, offset: number, maxRecords: number): Promise<SourceRecord[]> {
    validateNonNegative("offset", offset);
    validateNonNegative("maxRecords", maxRecords);
    return this.#call(async () => {
      if (maxRecords === 0) {
        const info = await describeTopic(this.#clients.consumer, topic);
        validatePartition(topic, partition, info.partitions);
        return [];
      }
      return readPartition(this.#clients.consumer, topic, partition, offset, maxRecords, "range", this.#prefetched);
    });
  }

  async readOne(topic: string, partition: number, offset: number): Promise<SourceRecord | null> {
    validateNonNegative("offset", offset);
    return this.#call(async () => {
      const [first] = await readPartition(this.#clients.consumer, topic, partition, offset, 1, "exact");
      return first !== undefined && first.offset === offset ? first : null;
    });
  }

  /**
   * Offsets close together are read as one range (a fetch returns whole
   * batches anyway); only sparse ones cost a fetch each.
   */
  async readAt(topic: string, partition: number, offsets: readonly number[]): Promise<Array<SourceRecord | null>> {
    const out = new Array<SourceRecord | null>(offsets.length).fill(null);
    let i = 0;
    while (i < offsets.length) {
      // Extend the range while the offsets stay dense enough to be worth one read.
      let j = i + 1;
      while (j < offsets.length && offsets[j]! - offsets[i]! + 1 <= RANGE_DENSITY * (j - i + 1) + RANGE_SLACK) j++;
      const from = offsets[i]!;
      const to = offsets[j - 1]!;
      if (j - i === 1) {
        out[i] = await this.readOne(topic, partition, from);
      } else {
        const byOffset = new Map<number, SourceRecord>();
        let next = from;
        while (next <= to) {
          const batch = await this.read(topic, partition, next, to + 1 - next);
          if (batch.length === 0) break;
          for (const r of batch) if (r.offset <= to) byOffset.set(r.offset, r);
          next = batch[batch.length - 1]!.offset + 1;
        }
        for (let k = i; k < j; k++) out[k] = byOffset.get(offsets[k]!) ?? null;
      }
      i = j;
    }
    return out;
  }

  async offsetForTimestamp(topic: string, partition: number, timestamp: number): Promise<number> {
    validateSearchTimestamp(timestamp);
    return this.#call(async () => {
      const info = await describeTopic(this.#clients.consumer, topic);
      validatePartition(topic, partition, info.partitions);
      return offsetForTimestamp(this.#clients.consumer, topic, partition, timestamp);
    });
  }

  /** An empty batch returns [] and, unlike a non-empty one, does not create the topic. */
  async produce(topic: string, messages: readonly ProduceInput[]): Promise<ProducedRecord[]> {
    return this.#call(async () => {
      const { records, created, ends } = await this.#publisher.produce(topic, messages);
      if (created) {
        this.#log.info("created topic", { topic, partitions: this.#options.defaultPartitions });
        this.#watcher.noteTopic(topic);
      }
      for (const [partition, end] of ends) this.#watcher.noteAppend(topic, partition, end);
      return records;
    });
  }

  watch(listener: SourceListener): () => void {
    if (this.#closing !== undefined) return () => {};
    return this.#watcher.add(listener);
  }

  /** Stops polling and closes the clients; bounded even with the brokers down. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#watcher.close();
      await closeClients(this.#clients);
    })();
    return this.#closing;
  }

  async #call<T>(operation: () => Promise<T>): Promise<T> {
    if (this.#closing !== undefined) throw new KafkaSourceClosedError();
    try {
      return await operation();
    } catch (err) {
      if (this.#closing !== undefined) throw new KafkaSourceClosedError();
      throw this.#explain(err);
    }
  }

  #explain(err: unknown): unknown {
    return explain(err, this.#options.brokers, this.#options.tls !== false);
  }
}
