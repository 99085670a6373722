// Fetch responses the append poller already has, for the read that follows.
// A long poll returns as soon as a partition grows, with the new records; the
// listener it tells (a matcher's reader) reads that partition from the very
// offset the poll asked for, at once. Served from here, that read costs no
// second Fetch and no round trip: each append costs one request, not two.
// A response is used once, for a read at exactly its offset and soon after it
// arrived; anything else fetches as before.

import type { FetchedPartition } from "./records.js";

/** A response older than this is not used (the reader was busy; a fresh fetch knows more). */
const MAX_AGE_MS = 1_000;

interface Entry {
  /** Kafka's topic id: a topic deleted and created again under the same name is another topic. */
  readonly topicId: string;
  readonly offset: number;
  readonly partition: FetchedPartition;
  readonly at: number;
}

export class Prefetched {
  readonly #entries = new Map<string, Entry>();
  /** Reads served from here (for tests and metrics). */
  hits = 0;

  constructor(private readonly now: () => number = Date.now) {}

  get size(): number {
    return this.#entries.size;
  }

  /** Keeps the response for `offset` of a partition (replacing an older one). */
  put(topic: string, topicId: string, partition: number, offset: number, p: FetchedPartition): void {
    this.#entries.set(`${topic}:${partition}`, { topicId, offset, partition: p, at: this.now() });
  }

  /** The response fetched at exactly `offset`, once, if it is fresh. */
  take(topic: string, topicId: string, partition: number, offset: number): FetchedPartition | undefined {
    const key = `${topic}:${partition}`;
    const e = this.#entries.get(key);
    if (e === undefined) return undefined;
    this.#entries.delete(key);
    if (e.topicId !== topicId || e.offset !== offset || this.now() - e.at > MAX_AGE_MS) return undefined;
    this.hits++;
    return e.partition;
  }

  /** Drops responses nobody took in time (each holds its part of a Fetch response). */
  prune(): void {
    const now = this.now();
    for (const [k, e] of this.#entries) if (now - e.at > MAX_AGE_MS) this.#entries.delete(k);
  }

  clear(): void {
    this.#entries.clear();
  }
}
