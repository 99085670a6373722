// produce(): partitions chosen exactly as the embedded log chooses them
// (explicit, else murmur2 of the key, else round-robin per topic), passed to
// the client explicitly; topics created on first use; one idempotent
// producer with acks=all.
//
// Offsets: the client sends one record batch per partition per request, in
// input order, and reports each partition's base offset; a message's offset
// is its partition's base plus the number of earlier messages of the request
// for that partition. Calls are serialised: the client advances its
// idempotence sequence numbers only when a send completes, so two sends in
// flight to one partition would reuse a sequence number and the broker would
// drop the second batch as a duplicate while acknowledging it
// (platformatic/kafka#326).
//
// Serialised, but not one send per call: calls that arrive while a send is
// in flight wait in a queue, and the next send takes every waiting call for
// the same topic at once (group commit). Under load a send round trip
// (acks=all) would otherwise bound the calls per second, and the queue, with
// every message's latency, would grow without end; grouped, the sends grow
// instead. Each call is planned (validated) on its own, so a bad message
// fails only its own call.

import { ProduceAcks, type MessageToProduce, type ProduceResult as ClientProduceResult } from "@platformatic/kafka";
import { Partitioner } from "../partitioner.js";
import { SourceArgumentError, type ProducedRecord, type ProduceInput, type ProduceResult } from "../types.js";
import { validateNonNegative, validateTopicName } from "../validation.js";
import { expireMetadata, type KafkaClients } from "./clients.js";
import { isUnknownTopic } from "./errors.js";
import { createTopic, findTopic, isInternalTopic, waitForTopic } from "./topics.js";

/** Bytes (estimated) per produce request, well under the brokers' default message.max.bytes (1 MB) per batch. */
const CHUNK_BYTES = 512 * 1024;
/** Per-record overhead estimate (varints, attributes, offset and timestamp deltas). */
const RECORD_OVERHEAD = 24;

interface Planned {
  readonly partition: number;
  readonly timestamp: number;
  readonly message: MessageToProduce;
  readonly bytes: number;
}

/** A produce() call waiting for its turn. */
interface Call {
  readonly topic: string;
  readonly messages: readonly ProduceInput[];
  readonly resolve: (r: ProduceResult) => void;
  readonly reject: (err: unknown) => void;
}

/** Messages one send takes from the queue at most (more calls wait for the next). */
const GROUP_MESSAGES = 20_000;

export class Publisher {
  readonly #clients: KafkaClients;
  readonly #defaultPartitions: number;
  readonly #partitioner = new Partitioner();
  readonly #waiting: Call[] = [];
  #sending = false;
  /** A send failed: its batches may or may not have been written. */
  #uncertain = false;

  constructor(clients: KafkaClients, defaultPartitions: number) {
    this.#clients = clients;
    this.#defaultPartitions = defaultPartitions;
  }

  /** An empty batch returns at once and, as in the embedded log, does not create the topic. */
  async produce(topic: string, messages: readonly ProduceInput[]): Promise<ProduceResult> {
    validateTopicName(topic);
    if (isInternalTopic(topic)) {
      throw new SourceArgumentError(`invalid topic name "${topic}": names starting with "__" are reserved for Kafka's internal topics`);
    }
    if (messages.length === 0) return { records: [], created: false, ends: [] };
    return new Promise<ProduceResult>((resolve, reject) => {
      this.#waiting.push({ topic, messages, resolve, reject });
      if (!this.#sending) void this.#drain();
    });
  }

  /** Sends the waiting calls, one group (same topic, in arrival order) at a time. */
  async #drain(): Promise<void> {
    this.#sending = true;
    try {
      while (this.#waiting.length > 0) {
        const topic = this.#waiting[0]!.topic;
        let n = 0;
        let count = 0;
        while (n < this.#waiting.length && this.#waiting[n]!.topic === topic && (n === 0 || count + this.#waiting[n]!.messages.length <= GROUP_MESSAGES)) {
          count += this.#waiting[n]!.messages.length;
          n++;
        }
        const group = this.#waiting.splice(0, n);
        try {
          await this.#produce(topic, group);
        } catch (err) {
          for (const c of group) c.reject(err);
        }
      }
    } finally {
      this.#sending = false;
    }
  }

  /** Plans every call of the group; a call with a bad message is rejected alone and left out. */
  #planAll(topic: string, partitions: number, group: readonly Call[], now: number): { calls: Call[]; plans: Planned[][] } {
    const calls: Call[] = [];
    const plans: Planned[][] = [];
    for (const c of group) {
      try {
        plans.push(c.messages.map((m) => this.#plan(topic, partitions, m, now)));
        calls.push(c);
      } catch (err) {
        c.reject(err);
      }
    }
    return { calls, plans };
  }

  /** Produces a group of calls to one topic; settles each call. */
  async #produce(topic: string, group: readonly Call[], retried = false): Promise<void> {
    const { consumer, admin, producer } = this.#clients;
    const now = Date.now();
    // On the retry below, the topic is looked up afresh.
    let info = await findTopic(consumer, topic, retried);
    // Everything is checked before the topic is created, so a bad message leaves no trace.
    let partitions = info?.partitions ?? this.#defaultPartitions;
    let { calls, plans } = this.#planAll(topic, partitions, group, now);
    if (calls.length === 0) return;
    let created = false;
    if (info === undefined) {
      created = await createTopic(admin, topic, partitions);
      info = await waitForTopic(consumer, topic);
      if (info.partitions !== partitions) {
        // Someone else created it first, with another partition count.
        partitions = info.partitions;
        ({ calls, plans } = this.#planAll(topic, partitions, calls, now));
        if (calls.length === 0) return;
      }
    }
    const plan = plans.flat();

    const records: ProducedRecord[] = new Array(plan.length);
    for (const [first, chunk] of chunks(plan)) {
      let result: ClientProduceResult;
      try {
        result = await this.#send(chunk.map((p) => p.message));
      } catch (err) {
        // The cached metadata still had a topic deleted since: nothing was
        // written yet, so start again (creating the topic anew), once.
        if (first === 0 && !retried && isUnknownTopic(err)) {
          // Not clearMetadata(): it drops the whole cache under lookups in flight
          // (see ReaderConsumer). The consumer looks the topic up afresh on the retry;
          // the producer's next send looks it up again once its entry is stale.
          expireMetadata(producer);
          return this.#produce(topic, calls, true);
        }
        throw err;
      }
      const bases = new Map<number, number>();
      for (const o of result.offsets ?? []) if (o.topic === topic) bases.set(o.partition, Number(o.offset));
      const seen = new Map<number, number>();
      chunk.forEach((p, i) => {
        const base = bases.get(p.partition);
        if (base === undefined) throw new Error(`the produce response for topic "${topic}" lacks partition ${p.partition}`);
        const index = seen.get(p.partition) ?? 0;
        seen.set(p.partition, index + 1);
        const offset = base + index;
        records[first + i] = { partition: p.partition, offset, timestamp: p.timestamp };
      });
    }
    // Each call gets its own records and the ends they reach; the call that found the topic missing was the one that created it.
    let at = 0;
    calls.forEach((c, k) => {
      const mine = records.slice(at, at + c.messages.length);
      at += c.messages.length;
      const ends = new Map<number, number>();
      for (const r of mine) ends.set(r.partition, Math.max(ends.get(r.partition) ?? 0, r.offset + 1));
      c.resolve({ records: mine, created: created && k === 0, ends: [...ends].sort((a, b) => a[0] - b[0]) });
    });
  }

  async #send(messages: MessageToProduce[]): Promise<ClientProduceResult> {
    const { producer } = this.#clients;
    if (this.#uncertain) {
      // After a failed send the client has not advanced its sequence numbers, so
      // the next batch would reuse those of a batch that may have been written,
      // and the broker would take it for a duplicate and drop it. A new producer
      // id starts the sequences afresh.
      await producer.initIdempotentProducer({});
      this.#uncertain = false;
    }
    try {
      return await producer.send({ messages, acks: ProduceAcks.ALL });
    } catch (err) {
      this.#uncertain = true;
      throw err;
    }
  }

  #plan(topic: string, partitions: number, m: ProduceInput, now: number): Planned {
    const partition = this.#partitioner.choose(topic, partitions, m);
    const timestamp = m.timestamp ?? now;
    validateNonNegative("timestamp", timestamp);
    let bytes = RECORD_OVERHEAD + (m.key?.length ?? 0) + (m.value?.length ?? 0);
    const message: MessageToProduce = { topic, partition, timestamp: BigInt(timestamp) };
    if (m.key !== null) message.key = toBuffer(m.key);
    if (m.value !== null) message.value = toBuffer(m.value);
    if (m.headers !== undefined && m.headers.length > 0) {
      // Distinct Buffer objects as Map keys keep repeated header names.
      const headers = new Map<Buffer, Buffer>();
      for (const [k, v] of m.headers) {
        const kb = Buffer.from(k, "utf8");
        headers.set(kb, toBuffer(v));
        bytes += kb.length + v.length + 4;
      }
      message.headers = headers;
    }
    return { partition, timestamp, message, bytes };
  }
}

/**
 * The largest timestamp difference within one record batch that the client
 * encodes correctly. Records store their timestamp as a varlong delta from the
 * batch's first timestamp, and @platformatic/dynamic-buffer 0.3.1 zigzag-encodes
 * 64-bit varints with a 32-bit shift (`value >> 31n`) and mask, which corrupts
 * deltas outside the 32-bit range (~24.8 days): the broker then stores wrong
 * timestamps. Messages further apart go into separate requests.
 */
const MAX_TIMESTAMP_DELTA = 2 ** 31 - 1;

/**
 * Consecutive runs of the plan (at least one message each), with their first
 * index: at most CHUNK_BYTES, and no partition's timestamps further apart
 * than MAX_TIMESTAMP_DELTA from its first in the run.
 */
function* chunks(plan: readonly Planned[]): Generator<[number, Planned[]]> {
  let first = 0;
  let current: Planned[] = [];
  let bytes = 0;
  let firstTimestamps = new Map<number, number>();
  for (let i = 0; i < plan.length; i++) {
    const p = plan[i]!;
    const base = firstTimestamps.get(p.partition);
    const tooFar = base !== undefined && Math.abs(p.timestamp - base) > MAX_TIMESTAMP_DELTA;
    if (current.length > 0 && (bytes + p.bytes > CHUNK_BYTES || tooFar)) {
      yield [first, current];
      first = i;
      current = [];
      bytes = 0;
      firstTimestamps = new Map();
    }
    current.push(p);
    bytes += p.bytes;
    if (!firstTimestamps.has(p.partition)) firstTimestamps.set(p.partition, p.timestamp);
  }
  if (current.length > 0) yield [first, current];
}

function toBuffer(u: Uint8Array): Buffer {
  return Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}
