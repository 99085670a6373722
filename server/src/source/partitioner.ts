// Partition choice as Kafka's Java producer makes it, so data moved between
// the embedded log and Kafka keeps its per-key ordering.

import { murmur2, toPositive } from "./murmur2.js";
import { validatePartition } from "./validation.js";

/** Kafka's default partition for a keyed record. */
export function partitionForKey(keyBytes: Uint8Array, numPartitions: number): number {
  return toPositive(murmur2(keyBytes)) % numPartitions;
}

/**
 * Spreads null-key records over partitions in turn, one counter per topic,
 * like Kafka's RoundRobinPartitioner (the first record goes to partition 0).
 * The counters live in memory: after a restart the rotation begins again.
 */
export class RoundRobinPartitioner {
  readonly #counters = new Map<string, number>();

  next(topic: string, numPartitions: number): number {
    const n = this.#counters.get(topic) ?? 0;
    // Wrap like Java's int counter so toPositive keeps the same sequence.
    this.#counters.set(topic, (n + 1) | 0);
    return toPositive(n) % numPartitions;
  }
}

/**
 * The partition of one produced message, the same on every source: the
 * explicit one (validated), else the key's, else round-robin per topic.
 */
export class Partitioner {
  readonly #roundRobin = new RoundRobinPartitioner();

  choose(topic: string, numPartitions: number, m: { readonly partition?: number | undefined; readonly key: Uint8Array | null }): number {
    if (m.partition !== undefined) {
      validatePartition(topic, m.partition, numPartitions);
      return m.partition;
    }
    return m.key !== null ? partitionForKey(m.key, numPartitions) : this.#roundRobin.next(topic, numPartitions);
  }
}
