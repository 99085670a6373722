// watch(): Kafka has no push notification for "a topic appeared", "it got
// more partitions" or "a partition grew", so a background poll (every pollIntervalMs while anyone
// listens) lists the topics and their end offsets (last stable offsets) and
// tells listeners what changed. The first poll only takes stock: what exists
// then is not news. Produces made through this source are reported at once
// (noteTopic / noteAppend); appends by other clients as they happen, by the
// long polls of an AppendPoller over the partitions the poll found (the poll
// itself reports them too, later, should a long poll fail). A poll that fails
// (brokers away) is logged, rate-limited, and the next one tries again; the
// clients reconnect by themselves.

import type { Logger } from "../../util/log.js";
import { UnknownTopicError, type SourceListener } from "../types.js";
import { Listeners } from "../listeners.js";
import type { KafkaClients } from "./clients.js";
import { isUnknownTopic } from "./errors.js";
import { endOffsets } from "./offsets.js";
import { describeTopics, listTopicNames } from "./topics.js";
import { AppendPoller, type PollTarget } from "./append-poller.js";
import type { ConnectionPool } from "@platformatic/kafka";
import type { Prefetched } from "./prefetch.js";

/** At most one warning per this long while polls keep failing. */
const WARN_EVERY_MS = 30_000;

interface Known {
  /** Kafka's topic id; a new id under a known name means the topic was deleted and created again. */
  id: string | undefined;
  /** Highest end offset reported, by partition. */
  ends: number[];
  /** Partitions seen (undefined until a poll has seen the topic). */
  partitions: number | undefined;
}

interface Snapshot {
  readonly id: string;
  readonly partitions: number;
  readonly leaders: readonly number[];
  readonly ends: readonly (number | undefined)[];
}

export class Watcher {
  readonly #clients: KafkaClients;
  readonly #intervalMs: number;
  readonly #log: Logger;
  readonly #explain: (err: unknown) => unknown;
  readonly #listeners: Listeners;
  /** Present while polling (empty until the first poll has taken stock: see #baselined). */
  #known: Map<string, Known> | undefined;
  #baselined = false;
  #timer: NodeJS.Timeout | undefined;
  /** Bumped on stop, so a poll in flight from an earlier run changes nothing. */
  #generation = 0;
  #closed = false;
  #failingSince: number | undefined;
  #failures = 0;
  #lastWarn = 0;
  /** Long polls for appends of other clients (while polling). */
  #poller: AppendPoller | undefined;
  /** Creates the long polls' own connection pool; absent: no long polls (the poll reports appends). */
  readonly #longPollPool: (() => ConnectionPool) | undefined;

  readonly #prefetched: Prefetched | undefined;

  constructor(
    clients: KafkaClients,
    intervalMs: number,
    log: Logger,
    explain: (err: unknown) => unknown,
    longPollPool?: () => ConnectionPool,
    /** Where the long polls keep what they fetched, for the reads that follow (prefetch.ts). */
    prefetched?: Prefetched,
  ) {
    this.#clients = clients;
    this.#intervalMs = intervalMs;
    this.#log = log;
    this.#explain = explain;
    this.#listeners = new Listeners(log, "Kafka source");
    this.#longPollPool = longPollPool;
    this.#prefetched = prefetched;
  }

  add(listener: SourceListener): () => void {
    const remove = this.#listeners.add(listener);
    if (this.#listeners.size === 1 && !this.#closed) this.#start();
    return () => {
      if (remove() && this.#listeners.size === 0) this.#stop();
    };
  }

  close(): void {
    this.#closed = true;
    this.#listeners.clear();
    this.#stop();
  }

  /** A topic this source just created. */
  noteTopic(topic: string): void {
    const known = this.#known;
    if (known === undefined || known.has(topic)) return;
    known.set(topic, { id: undefined, ends: [], partitions: undefined });
    this.#listeners.topic(topic);
  }

  /** This source just appended: `end` is the partition's end after the write. */
  noteAppend(topic: string, partition: number, end: number): void {
    // Unknown topics are left to the poll, which announces them with onTopic first.
    const k = this.#known?.get(topic);
    if (k === undefined) return;
    this.#poller?.advance(k.id, partition, end);
    this.#announce(topic, k, partition, end);
  }

  /** Tells listeners of a new end, once per end. */
  #announce(topic: string, k: Known, partition: number, end: number): void {
    if (end > (k.ends[partition] ?? 0)) {
      k.ends[partition] = end;
      this.#listeners.append(topic, partition, end);
    }
  }

  /** An end a long poll saw: news only for a topic the poll has taken stock of. */
  #longPolled(topic: string, partition: number, end: number): void {
    const k = this.#known?.get(topic);
    if (k === undefined || !this.#baselined) return;
    this.#announce(topic, k, partition, end);
  }

  #start(): void {
    this.#known = new Map();
    this.#baselined = false;
    if (this.#longPollPool !== undefined) {
      this.#poller = new AppendPoller(this.#clients.consumer, this.#longPollPool(), (t, p, end) => this.#longPolled(t, p, end), this.#log, this.#prefetched);
    }
    this.#schedule(0);
  }

  #stop(): void {
    this.#generation++;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#known = undefined;
    void this.#poller?.close();
    this.#poller = undefined;
  }

  #schedule(delayMs: number): void {
    const generation = this.#generation;
    this.#timer = setTimeout(() => void this.#tick(generation), delayMs);
    // Listeners do not keep the process alive by themselves.
    this.#timer.unref();
  }

  async #tick(generation: number): Promise<void> {
    try {
      const snapshot = await this.#snapshot();
      if (generation !== this.#generation) return;
      this.#apply(snapshot);
      this.#recovered();
    } catch (err) {
      if (generation !== this.#generation) return;
      this.#failed(err);
    } finally {
      if (generation === this.#generation && !this.#closed) this.#schedule(this.#intervalMs);
    }
  }

  async #snapshot(): Promise<Map<string, Snapshot>> {
    const { consumer } = this.#clients;
    const names = await listTopicNames(this.#clients);
    const out = new Map<string, Snapshot>();
    if (names.length === 0) return out;
    const [infos, ends] = await Promise.all([describeTopics(consumer, names), endOffsets(consumer, names)]);
    for (const name of names) {
      const info = infos.get(name);
      if (info !== undefined) out.set(name, { id: info.id, partitions: info.partitions, leaders: info.leaders, ends: ends.get(name) ?? [] });
    }
    return out;
  }

  #apply(snapshot: Map<string, Snapshot>): void {
    const known = this.#known!;
    const announce = this.#baselined;
    this.#baselined = true;
    for (const name of [...known.keys()]) {
      // Gone (deleted): forget it, so that a new topic of that name is news. Topics
      // created by this source a moment ago may not be listed yet: keep those.
      if (!snapshot.has(name) && known.get(name)!.id !== undefined) known.delete(name);
    }
    for (const [name, snap] of snapshot) {
      let k = known.get(name);
      if (k === undefined || (k.id !== undefined && k.id !== snap.id)) {
        k = { id: snap.id, ends: [], partitions: snap.partitions };
        known.set(name, k);
        if (announce) this.#listeners.topic(name);
      } else {
        k.id = snap.id;
        // Partitions added to a known topic (Kafka only adds): offered again, so readers start on them.
        const grew = k.partitions !== undefined && snap.partitions > k.partitions;
        k.partitions = snap.partitions;
        if (grew && announce) this.#listeners.topic(name);
      }
      snap.ends.forEach((end, partition) => {
        if (end === undefined) return;
        const before = k.ends[partition];
        if (before !== undefined && end <= before) return;
        k.ends[partition] = end;
        // Taking stock is silent, except for what this source reported (known before).
        if ((announce || before !== undefined) && end > (before ?? 0)) this.#listeners.append(name, partition, end);
      });
    }
    // The long polls wait from the ends known now.
    const targets: PollTarget[] = [];
    for (const [name, snap] of snapshot) {
      const k = known.get(name)!;
      targets.push({ name, id: snap.id, leaders: snap.leaders, ends: snap.leaders.map((_, p) => k.ends[p] ?? snap.ends[p]) });
    }
    this.#poller?.set(targets);
  }

  #failed(err: unknown): void {
    const now = Date.now();
    this.#failures++;
    if (this.#failingSince === undefined) this.#failingSince = now;
    // A topic deleted between listing and describing fails one poll: not worth a warning.
    const race = err instanceof UnknownTopicError || isUnknownTopic(err);
    if (race && this.#failures < 3) {
      this.#log.debug("Kafka poll raced with a topic deletion; retrying", { err });
      return;
    }
    if (now - this.#lastWarn >= WARN_EVERY_MS) {
      this.#lastWarn = now;
      this.#log.warn("Kafka poll for new topics and messages failed; retrying", {
        err: this.#explain(err),
        failures: this.#failures,
        failingForMs: now - this.#failingSince,
      });
    }
  }

  #recovered(): void {
    if (this.#failingSince === undefined) return;
    this.#log.info("Kafka poll works again", { failures: this.#failures, failedForMs: Date.now() - this.#failingSince });
    this.#failingSince = undefined;
    this.#failures = 0;
    this.#lastWarn = 0;
  }
}
