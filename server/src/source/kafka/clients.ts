// The three clients of @platformatic/kafka a KafkaSource uses, sharing the
// connection settings (brokers, TLS, SASL, timeouts):
// - an Admin for listing and creating topics;
// - a Consumer that never joins a group: metadata, ListOffsets and the
//   low-level Fetch (group-less reads at explicit offsets);
// - an idempotent Producer with acks=all.
// Connections open lazily and reopen by themselves after a broker outage.
// The consumer is a ReaderConsumer: see there for the metadata-cache race of
// @platformatic/kafka 1.35 it works around, and for the deadline every call
// the source awaits gets.

import type { ConnectionOptions as TlsConnectionOptions } from "node:tls";
import { Admin, Consumer, FetchIsolationLevels, ProduceAcks, Producer, type BaseOptions, type ClusterMetadata, type ConsumerOptions } from "@platformatic/kafka";
import type { Fields, Logger } from "../../util/log.js";
import { isStaleMetadata, isUnknownTopic, KafkaCallTimeoutError } from "./errors.js";
import type { ResolvedOptions } from "./options.js";

export interface KafkaClients {
  readonly admin: Admin;
  readonly consumer: ReaderConsumer;
  readonly producer: Producer;
}

/**
 * The consumer the source reads with (metadata, ListOffsets, Fetch), hardened
 * against a race in @platformatic/kafka 1.35, the last 1.x (2.x needs Node 22;
 * platformatic/kafka#109 shows the same error): a metadata lookup of several
 * topics takes the fresh ones from the client's cache and asks the broker for
 * the others only. When the cache is cleared (clearMetadata(), which the
 * client calls itself after stale-metadata errors) before the answer comes,
 * the answer rebuilds the cache without the topics taken from it, and every
 * caller sharing the lookup gets no entry for them: listOffsets throws
 * "Cannot read properties of undefined (reading 'partitionsCount')" inside
 * the socket's data handler, an uncaughtException that ends the process, and
 * the callers after it in the shared lookup never get an answer (listTopics,
 * backfill planning and the watcher's poll hung forever).
 * - clearMetadata() expires the cache instead of dropping it, which removes
 *   the race (test/source/kafka-metadata-race.test.ts).
 * - bounded() puts a deadline on every call the source awaits, in case a call
 *   is lost all the same, and tries it once more with fresh metadata.
 */
export class ReaderConsumer extends Consumer {
  readonly callTimeoutMs: number;
  readonly #log: Logger;
  #lastWarn = 0;
  #unwarned = 0;

  constructor(options: ConsumerOptions<Buffer, Buffer, Buffer, Buffer>, callTimeoutMs: number, log: Logger) {
    super(options);
    this.callTimeoutMs = callTimeoutMs;
    this.#log = log;
  }

  /**
   * Marks every cached topic stale instead of dropping the cache: the next
   * lookup of any of them asks the broker again, as after a clear, while a
   * lookup in flight still finds the topics it took from the cache (the client
   * never removes topics from its cache otherwise). Also what the client's own
   * calls get, as they call this.clearMetadata().
   */
  override clearMetadata(): void {
    expireMetadata(this);
  }

  /** Looks these topics up afresh (a forced refresh: never joins a lookup in flight), within the deadline. */
  async refresh(topics: readonly string[]): Promise<void> {
    await withDeadline("a metadata request", this.callTimeoutMs, () => this.metadata({ topics: [...topics], forceUpdate: true }));
  }

  /**
   * `run` within the deadline. A call without an answer in time, or failing
   * on stale metadata, is tried once more (within the deadline too), after a
   * forced refresh of `topics` when given; a second timeout throws
   * KafkaCallTimeoutError. The client answers or fails every request within
   * its requestTimeout by itself, so what times out here is a call it lost,
   * or one to a silent broker that the client would fail later anyway.
   */
  async bounded<T>(call: string, topics: readonly string[] | undefined, run: () => Promise<T>): Promise<T> {
    try {
      return await withDeadline(call, this.callTimeoutMs, run);
    } catch (err) {
      const timedOut = err instanceof KafkaCallTimeoutError;
      if (!timedOut && !(topics !== undefined && isStaleMetadata(err))) throw err;
      if (timedOut) this.warnNoAnswer(err, { topics: topics?.slice(0, 10), topicCount: topics?.length });
      if (topics !== undefined) await this.refresh(topics);
      return withDeadline(call, this.callTimeoutMs, run);
    }
  }

  /**
   * The warning for a call abandoned at its deadline and tried again; at most
   * one per NO_ANSWER_WARN_EVERY_MS (with unreachable brokers, every read and poll times out).
   */
  warnNoAnswer(err: KafkaCallTimeoutError, fields: Fields): void {
    const now = Date.now();
    if (now - this.#lastWarn < NO_ANSWER_WARN_EVERY_MS) {
      this.#unwarned++;
      this.#log.debug("Kafka client call got no answer in time; retrying with fresh metadata", { err, ...fields });
      return;
    }
    this.#log.warn("Kafka client call got no answer in time; retrying with fresh metadata", { err, ...fields, timeoutsSinceLastWarning: this.#unwarned });
    this.#lastWarn = now;
    this.#unwarned = 0;
  }
}

/**
 * Marks the client's cached topic metadata stale (see ReaderConsumer.clearMetadata):
 * a safe stand-in for clearMetadata().
 */
export function expireMetadata(client: { readonly currentMetadata: ClusterMetadata | undefined }): void {
  const cached = client.currentMetadata;
  if (cached === undefined) return;
  for (const topic of cached.topics.values()) topic.lastUpdate = 0;
}

/** `run()`, or KafkaCallTimeoutError when it has not settled within `timeoutMs` (it is then abandoned). */
export async function withDeadline<T>(call: string, timeoutMs: number, run: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new KafkaCallTimeoutError(call, timeoutMs)), timeoutMs);
    timer.unref();
  });
  try {
    return await Promise.race([run(), expired]);
  } finally {
    clearTimeout(timer);
  }
}

/** At most one "no answer in time" warning per this long. */
const NO_ANSWER_WARN_EVERY_MS = 30_000;

/** Delay before retry 1, 2, ... of a failed request (about 1.6 s in all). */
const RETRY_DELAYS_MS = [50, 150, 400, 1_000];

/** How long close() waits for a client before giving up on it. */
const CLOSE_TIMEOUT_MS = 5_000;

export function baseOptions(o: ResolvedOptions): BaseOptions {
  const base: BaseOptions = {
    clientId: o.clientId,
    bootstrapBrokers: [...o.brokers],
    connectTimeout: 5_000,
    // Per-request bound, so nothing waits forever on a half-open connection.
    requestTimeout: 30_000,
    // Fail reasonably fast while the brokers are away (the watcher keeps polling),
    // but retry quickly first: a partition just created answers NOT_LEADER for a moment.
    retries: RETRY_DELAYS_MS.length,
    retryDelay: (_client, _operation, attempt, _retries, error) =>
      // A missing topic stays missing: asking again at once keeps describeTopic and
      // read of an unknown topic fast (the client retries UNKNOWN_TOPIC_OR_PARTITION).
      isUnknownTopic(error) ? 0 : (RETRY_DELAYS_MS[Math.min(attempt, RETRY_DELAYS_MS.length) - 1] ?? 1_000),
    metadataMaxAge: 5_000,
    // Metadata requests must never create topics (brokers may have auto.create.topics.enable).
    autocreateTopics: false,
  };
  const tls = tlsOptions(o.tls);
  if (tls !== undefined) base.tls = tls;
  if (o.sasl !== undefined) {
    base.sasl = { mechanism: o.sasl.mechanism, username: o.sasl.username, password: o.sasl.password };
  }
  return base;
}

function tlsOptions(tls: ResolvedOptions["tls"]): TlsConnectionOptions | undefined {
  if (tls === false) return undefined;
  if (tls === true) return {};
  const out: TlsConnectionOptions = {};
  if (tls.ca !== undefined) out.ca = tls.ca;
  if (tls.cert !== undefined) out.cert = tls.cert;
  if (tls.key !== undefined) out.key = tls.key;
  if (tls.rejectUnauthorized !== undefined) out.rejectUnauthorized = tls.rejectUnauthorized;
  return out;
}

export function createClients(o: ResolvedOptions): KafkaClients {
  const base = baseOptions(o);
  return {
    admin: new Admin({ ...base, clientId: `${o.clientId}-admin` }),
    consumer: new ReaderConsumer(
      {
        ...base,
        clientId: `${o.clientId}-reader`,
        // Required by the constructor; no group is ever joined (only fetch/listOffsets are used).
        groupId: `${o.clientId}-unused-group`,
        isolationLevel: FetchIsolationLevels.READ_COMMITTED,
      },
      o.callTimeoutMs,
      o.log,
    ),
    producer: new Producer({
      ...base,
      clientId: `${o.clientId}-producer`,
      idempotent: true,
      acks: ProduceAcks.ALL,
    }),
  };
}

/** Closes all clients; never waits more than CLOSE_TIMEOUT_MS, even with the brokers down. */
export async function closeClients(clients: KafkaClients): Promise<void> {
  await Promise.allSettled([
    // force: also ends producer streams / skips leaving a group (none are used).
    bounded(new Promise<void>((resolve) => clients.producer.close(true, () => resolve()))),
    bounded(new Promise<void>((resolve) => clients.consumer.close(true, () => resolve()))),
    bounded(new Promise<void>((resolve) => clients.admin.close(() => resolve()))),
  ]);
}

function bounded(p: Promise<void>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, CLOSE_TIMEOUT_MS);
    timer.unref();
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
