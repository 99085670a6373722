// Topic metadata: which topics exist, their ids, partition counts and
// leaders, and creating topics. Metadata comes from the consumer client's
// cache (refreshed after 5 s, or at once with `fresh`). Every lookup is
// bounded (ReaderConsumer.bounded).

import type { Admin } from "@platformatic/kafka";
import type { KafkaClients, ReaderConsumer } from "./clients.js";
import { UnknownTopicError } from "../types.js";
import { validateTopicName } from "../validation.js";
import { hasApiError, isUnknownTopic } from "./errors.js";

export interface TopicInfo {
  readonly name: string;
  /** Kafka's topic id (a UUID): fetches address topics by id. */
  readonly id: string;
  readonly partitions: number;
  /** Leader broker id per partition (-1 while a leader is being elected). */
  readonly leaders: readonly number[];
}

/** Names starting with "__" are Kafka's own (__consumer_offsets, __transaction_state, ...). */
export function isInternalTopic(name: string): boolean {
  return name.startsWith("__");
}

/** Whether a name can be a user topic here; one that cannot is unknown without asking the broker. */
export function isVisibleTopicName(name: string): boolean {
  if (isInternalTopic(name)) return false;
  try {
    validateTopicName(name);
    return true;
  } catch {
    return false;
  }
}

/** All non-internal topics, sorted. */
export async function listTopicNames({ admin, consumer }: KafkaClients): Promise<string[]> {
  // The admin's calls get the reader's deadline too (a retry, no metadata to refresh).
  const names = await consumer.bounded("listing the topics", undefined, () => admin.listTopics({ includeInternals: false }));
  return names.filter((n) => !isInternalTopic(n)).sort();
}

/** Metadata of some topics; throws UnknownTopicError for the first that does not exist. */
export async function describeTopics(consumer: ReaderConsumer, names: readonly string[], fresh = false): Promise<Map<string, TopicInfo>> {
  const out = new Map<string, TopicInfo>();
  if (names.length === 0) return out;
  for (const name of names) if (!isVisibleTopicName(name)) throw new UnknownTopicError(name);
  let metadata;
  try {
    metadata = await consumer.bounded("a metadata request", names, () => consumer.metadata({ topics: [...names], forceUpdate: fresh }));
  } catch (err) {
    if (isUnknownTopic(err)) throw new UnknownTopicError(unknownName(err, names));
    throw err;
  }
  // A lookup that lost topics taken from the cache (the race ReaderConsumer
  // works around) must not say they do not exist: only a forced lookup, which
  // asks the broker for every topic, may.
  if (!fresh && names.some((name) => metadata.topics.get(name) === undefined)) return describeTopics(consumer, names, true);
  for (const name of names) {
    const t = metadata.topics.get(name);
    if (t === undefined) throw new UnknownTopicError(name);
    const leaders: number[] = [];
    for (let p = 0; p < t.partitionsCount; p++) leaders.push(t.partitions[p]?.leader ?? -1);
    out.set(name, { name, id: t.id, partitions: t.partitionsCount, leaders });
  }
  return out;
}

export async function describeTopic(consumer: ReaderConsumer, name: string, fresh = false): Promise<TopicInfo> {
  return (await describeTopics(consumer, [name], fresh)).get(name)!;
}

/** The topic's metadata, or undefined when it does not exist. */
export async function findTopic(consumer: ReaderConsumer, name: string, fresh = false): Promise<TopicInfo | undefined> {
  try {
    return await describeTopic(consumer, name, fresh);
  } catch (err) {
    if (err instanceof UnknownTopicError) return undefined;
    throw err;
  }
}

/** Creates a topic; false when it already existed (someone else created it first). */
export async function createTopic(admin: Admin, name: string, partitions: number): Promise<boolean> {
  try {
    // Replicas left to the broker's default.replication.factor.
    await admin.createTopics({ topics: [name], partitions });
    return true;
  } catch (err) {
    if (hasApiError(err, "TOPIC_ALREADY_EXISTS")) return false;
    throw err;
  }
}

/**
 * Waits until the metadata shows the topic with a leader for every partition
 * (just after CreateTopics it may not yet).
 */
export async function waitForTopic(consumer: ReaderConsumer, name: string, timeoutMs = 15_000): Promise<TopicInfo> {
  const deadline = Date.now() + timeoutMs;
  for (let delay = 20; ; delay = Math.min(delay * 2, 250)) {
    let info: TopicInfo | undefined;
    let lastError: unknown;
    try {
      info = await findTopic(consumer, name, true);
    } catch (err) {
      lastError = err;
    }
    if (info !== undefined && info.partitions > 0 && info.leaders.every((l) => l >= 0)) return info;
    if (Date.now() >= deadline) {
      throw new Error(`topic "${name}" was created but its partitions got no leader within ${timeoutMs} ms`, { cause: lastError });
    }
    await new Promise((r) => setTimeout(r, delay));
  }
}

function unknownName(err: unknown, names: readonly string[]): string {
  const m = /Unknown topic (.+)\.$/.exec(err instanceof Error ? err.message : "");
  if (m !== null && names.includes(m[1]!)) return m[1]!;
  return names.length === 1 ? names[0]! : names.join(",");
}
