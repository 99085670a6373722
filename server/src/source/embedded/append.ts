// produce(): choose a partition for each message, then append the whole batch
// in one transaction with dense offsets per partition.

import { Partitioner } from "../partitioner.js";
import type { ProducedRecord, ProduceInput, ProduceResult } from "../types.js";
import { encodeHeaders } from "./headers.js";
import type { Db } from "./schema.js";
import type { Statements, TopicRow } from "./statements.js";
import type { TopicDirectory } from "./topics.js";
import { validateNonNegative } from "../validation.js";

/** A message ready to insert: validated, placed and with its headers encoded. */
interface Planned {
  readonly partition: number;
  readonly timestamp: number;
  readonly key: Uint8Array | null;
  readonly value: Uint8Array | null;
  readonly headers: Uint8Array | null;
}

/** Where the topic stands: `id` is undefined when this batch creates it. */
interface Target {
  readonly id: number | undefined;
  readonly name: string;
  readonly partitions: number;
}

interface Tail {
  next: number;
  bytes: number;
  maxTimestamp: number;
}

export class Appender {
  readonly #s: Statements;
  readonly #topics: TopicDirectory;
  readonly #partitioner = new Partitioner();
  readonly #write: (target: Target, batch: readonly Planned[], now: number) => { topic: TopicRow; result: ProduceResult };

  constructor(db: Db, statements: Statements, topics: TopicDirectory) {
    this.#s = statements;
    this.#topics = topics;
    // IMMEDIATE takes the write lock up front instead of upgrading mid-transaction.
    const tx = db.transaction(this.#insert.bind(this));
    this.#write = (...args) => tx.immediate(...args);
  }

  /** Appends `messages` to `topic`, creating it with `defaultPartitions` partitions if new. */
  append(topic: string, messages: readonly ProduceInput[], defaultPartitions: number, now: number): ProduceResult {
    const existing = this.#topics.find(topic);
    const target: Target = existing ?? { id: undefined, name: topic, partitions: defaultPartitions };
    // Everything is checked before the transaction, so a bad message leaves no trace, not even a new topic.
    const batch = messages.map((m) => this.#plan(target, m, now));
    const { topic: row, result } = this.#write(target, batch, now);
    // Cached only now that the transaction has committed.
    if (result.created) this.#topics.remember(row);
    return result;
  }

  #plan(topic: Target, m: ProduceInput, now: number): Planned {
    const partition = this.#partitioner.choose(topic.name, topic.partitions, m);
    const timestamp = m.timestamp ?? now;
    validateNonNegative("timestamp", timestamp);
    return { partition, timestamp, key: m.key, value: m.value, headers: encodeHeaders(m.headers) };
  }

  #insert(target: Target, batch: readonly Planned[], now: number): { topic: TopicRow; result: ProduceResult } {
    const topic: TopicRow =
      target.id === undefined
        ? this.#topics.insert(target.name, target.partitions, now)
        : { id: target.id, name: target.name, partitions: target.partitions };
    const tails = new Map<number, Tail>();
    const records = batch.map((m): ProducedRecord => {
      let tail = tails.get(m.partition);
      if (tail === undefined) {
        const row = this.#s.partitionTail.get(topic.id, m.partition)!;
        tail = { next: row.next_offset, bytes: row.bytes, maxTimestamp: row.max_timestamp ?? m.timestamp };
        tails.set(m.partition, tail);
      }
      const offset = tail.next++;
      tail.maxTimestamp = Math.max(tail.maxTimestamp, m.timestamp);
      // Must agree with MESSAGE_SIZE in statements.ts, which retention subtracts.
      tail.bytes += (m.key?.length ?? 0) + (m.value?.length ?? 0) + (m.headers?.length ?? 0);
      this.#s.insertMessage.run(topic.id, m.partition, offset, m.timestamp, tail.maxTimestamp, m.key, m.value, m.headers);
      return { partition: m.partition, offset, timestamp: m.timestamp };
    });
    const ends: [number, number][] = [];
    for (const [partition, tail] of tails) {
      this.#s.updateTail.run(tail.next, tail.bytes, topic.id, partition);
      ends.push([partition, tail.next]);
    }
    ends.sort((a, b) => a[0] - b[0]);
    return { topic, result: { records, created: target.id === undefined, ends } };
  }
}
