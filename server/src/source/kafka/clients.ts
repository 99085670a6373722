// The three clients of @platformatic/kafka a KafkaSource uses, sharing the
// connection settings (brokers, TLS, SASL, timeouts):
// - an Admin for listing and creating topics;
// - a Consumer that never joins a group: metadata, ListOffsets and the
//   low-level Fetch (group-less reads at explicit offsets);
// - an idempotent Producer with acks=all.
// Connections open lazily and reopen by themselves after a broker outage.

import type { ConnectionOptions as TlsConnectionOptions } from "node:tls";
import { Admin, Consumer, FetchIsolationLevels, ProduceAcks, Producer, type BaseOptions } from "@platformatic/kafka";
import { isUnknownTopic } from "./errors.js";
import type { ResolvedOptions } from "./options.js";

export interface KafkaClients {
  readonly admin: Admin;
  readonly consumer: Consumer;
  readonly producer: Producer;
}

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
    consumer: new Consumer({
      ...base,
      clientId: `${o.clientId}-reader`,
      // Required by the constructor; no group is ever joined (only fetch/listOffsets are used).
      groupId: `${o.clientId}-unused-group`,
      isolationLevel: FetchIsolationLevels.READ_COMMITTED,
    }),
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
