// Appends made by other clients, as they happen. Kafka pushes nothing, but a
// Fetch waits on the broker (maxWaitTime, minBytes 1) until a partition has
// data past the offset asked for: one such long poll per leader broker, over
// every watched partition at its known end, returns as soon as any of them
// grows, with the new last stable offset of each (read_committed: an open
// transaction holds it back, so waiting cannot spin on data nobody may read
// yet). The watcher's metadata poll (every pollIntervalMs) still finds new
// topics and partitions and gives this poller its targets; without the long
// poll an append by another client waited for that poll (250 ms by default).
//
// The long polls use a connection pool of their own: a broker answers the
// requests of one connection in order, so a waiting Fetch on the reader's
// connection would hold up every read, metadata and ListOffsets call behind
// it for up to maxWaitTime. The records a long poll returns are kept for the
// read its news causes (prefetch.ts): the reader that is told reads from the
// same offset right away and gets them without a second Fetch.

import { ConnectionPool, FetchIsolationLevels } from "@platformatic/kafka";
import type { Logger } from "../../util/log.js";
import { withDeadline, type ReaderConsumer } from "./clients.js";
import type { Prefetched } from "./prefetch.js";

/** How long the broker holds a long poll without news (it answers at once when there is some). */
const WAIT_MS = 1_000;
/** Backoff after a failed long poll (brokers away, leader moved): the metadata poll goes on meanwhile. */
const RETRY_MS = 500;
/** Partitions one long poll watches at most; more are left to the metadata poll (bounded request size). */
const MAX_PARTITIONS = 2_000;
/** Bytes a long poll asks for, in all and per partition: as much as a read asks for (fetch.ts). */
const MAX_BYTES = 1 << 20;

export interface PollTarget {
  readonly name: string;
  /** Kafka's topic id (fetches address topics by id). */
  readonly id: string;
  /** Leader broker per partition (-1: none at the moment). */
  readonly leaders: readonly number[];
  /** The end offset known per partition (undefined: not known yet, not watched). */
  readonly ends: readonly (number | undefined)[];
}

interface Watched {
  readonly name: string;
  readonly id: string;
  readonly partition: number;
  offset: number;
}

export class AppendPoller {
  readonly #consumer: ReaderConsumer;
  readonly #pool: ConnectionPool;
  readonly #onEnd: (topic: string, partition: number, end: number) => void;
  readonly #log: Logger;
  readonly #prefetched: Prefetched | undefined;
  /** By leader node: "topicId:partition" -> what is watched there. */
  #byNode = new Map<number, Map<string, Watched>>();
  readonly #loops = new Map<number, Promise<void>>();
  #closed = false;
  #sleepers = new Set<() => void>();

  /** @param prefetched where responses with records are kept for the reads they cause (none: not kept). */
  constructor(consumer: ReaderConsumer, pool: ConnectionPool, onEnd: (topic: string, partition: number, end: number) => void, log: Logger, prefetched?: Prefetched) {
    this.#consumer = consumer;
    this.#pool = pool;
    this.#onEnd = onEnd;
    this.#log = log;
    this.#prefetched = prefetched;
  }

  /** Replaces what is watched (after each metadata poll); offsets already past the given ends are kept. */
  set(targets: readonly PollTarget[]): void {
    if (this.#closed) return;
    const byNode = new Map<number, Map<string, Watched>>();
    let count = 0;
    for (const t of targets) {
      for (let partition = 0; partition < t.leaders.length && count < MAX_PARTITIONS; partition++) {
        const leader = t.leaders[partition]!;
        const end = t.ends[partition];
        if (leader < 0 || end === undefined) continue;
        const key = `${t.id}:${partition}`;
        // The same object when it was watched before: a long poll in flight updates it.
        const before = this.#byNode.get(leader)?.get(key);
        const w = before ?? { name: t.name, id: t.id, partition, offset: end };
        if (end > w.offset) w.offset = end;
        let m = byNode.get(leader);
        if (m === undefined) byNode.set(leader, (m = new Map()));
        m.set(key, w);
        count++;
      }
    }
    this.#byNode = byNode;
    for (const node of byNode.keys()) if (!this.#loops.has(node)) this.#start(node);
  }

  /** An end learnt elsewhere (this source's own produce): the next long poll waits past it. */
  advance(topicId: string | undefined, partition: number, end: number): void {
    if (topicId === undefined) return;
    for (const m of this.#byNode.values()) {
      const w = m.get(`${topicId}:${partition}`);
      if (w !== undefined && end > w.offset) w.offset = end;
    }
  }

  close(): Promise<void> {
    this.#closed = true;
    this.#byNode = new Map();
    this.#prefetched?.clear();
    for (const wake of this.#sleepers) wake();
    return new Promise<void>((resolve) => this.#pool.close(() => resolve()));
  }

  #start(node: number): void {
    const loop = this.#run(node).finally(() => this.#loops.delete(node));
    this.#loops.set(node, loop);
  }

  async #run(node: number): Promise<void> {
    while (!this.#closed) {
      const watched = this.#byNode.get(node);
      if (watched === undefined || watched.size === 0) return;
      const byTopic = new Map<string, Watched[]>();
      for (const w of watched.values()) {
        let list = byTopic.get(w.id);
        if (list === undefined) byTopic.set(w.id, (list = []));
        list.push(w);
      }
      let res;
      try {
        res = await withDeadline("a long poll (Fetch)", WAIT_MS + this.#consumer.callTimeoutMs, () => this.#consumer.fetch({
          node,
          connectionPool: this.#pool,
          minBytes: 1,
          maxWaitTime: WAIT_MS,
          maxBytes: MAX_BYTES,
          isolationLevel: FetchIsolationLevels.READ_COMMITTED,
          topics: [...byTopic].map(([topicId, list]) => ({
            topicId,
            partitions: list.map((w) => ({ partition: w.partition, fetchOffset: BigInt(w.offset), currentLeaderEpoch: -1, lastFetchedEpoch: -1, partitionMaxBytes: MAX_BYTES })),
          })),
        }));
      } catch (err) {
        if (this.#closed) return;
        this.#log.debug("Kafka long poll for appends failed; the metadata poll reports them meanwhile", { node, err });
        await this.#sleep(RETRY_MS);
        continue;
      }
      this.#prefetched?.prune();
      for (const t of res.responses) {
        for (const p of t.partitions) {
          const w = watched.get(`${t.topicId}:${p.partitionIndex}`);
          if (w === undefined) continue;
          if (p.errorCode !== 0) {
            // Out of range (the topic was recreated, the known end is stale), not the
            // leader any more: left to the next metadata poll, which sets it again.
            watched.delete(`${t.topicId}:${p.partitionIndex}`);
            continue;
          }
          const end = Number(p.lastStableOffset);
          if (end > w.offset) {
            // Kept before the news goes out: the listener reads at once.
            if ((p.records?.length ?? 0) > 0) this.#prefetched?.put(w.name, w.id, w.partition, w.offset, p);
            w.offset = end;
            this.#onEnd(w.name, w.partition, end);
          }
        }
      }
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#sleepers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#sleepers.add(done);
    });
  }
}
