// What a KafkaSource is built from, and the defaults filled in.

import { log as defaultLog, type Logger } from "../../util/log.js";
import { SourceArgumentError } from "../types.js";
import { validatePartitionCount } from "../validation.js";

export interface KafkaTlsOptions {
  /** PEM text (not file names). */
  ca?: string;
  cert?: string;
  key?: string;
  rejectUnauthorized?: boolean;
}

export interface KafkaSaslOptions {
  mechanism: "PLAIN" | "SCRAM-SHA-256" | "SCRAM-SHA-512";
  username: string;
  password: string;
}

export interface KafkaSourceOptions {
  /** Bootstrap brokers, "host:port". */
  brokers: string[];
  /** Default "grep-streams". */
  clientId?: string;
  /** true: TLS with the system CAs; an object: passed to the client's tls option. */
  tls?: boolean | KafkaTlsOptions;
  sasl?: KafkaSaslOptions;
  /** Partitions of topics that produce() creates; default 4. */
  defaultPartitions?: number;
  /** How often watch() polls metadata and end offsets; default 250 ms. */
  pollIntervalMs?: number;
  log?: Logger;
  /**
   * How long one metadata, ListOffsets or Fetch call (or a topic listing) may go
   * unanswered before it is abandoned and tried again with fresh metadata;
   * default 15 s. For tests.
   */
  callTimeoutMs?: number;
}

export interface ResolvedOptions {
  readonly brokers: readonly string[];
  readonly clientId: string;
  readonly tls: boolean | KafkaTlsOptions;
  readonly sasl: KafkaSaslOptions | undefined;
  readonly defaultPartitions: number;
  readonly pollIntervalMs: number;
  readonly callTimeoutMs: number;
  readonly log: Logger;
}

const BROKER = /^(\[[0-9a-fA-F:.]+\]|[^\s:[\]]+):(\d{1,5})$/;

export function resolveOptions(options: KafkaSourceOptions): ResolvedOptions {
  const brokers = options.brokers.map((b) => b.trim()).filter((b) => b !== "");
  if (brokers.length === 0) throw new SourceArgumentError("no Kafka brokers given: use host:port, e.g. 127.0.0.1:9092");
  for (const b of brokers) {
    const m = BROKER.exec(b);
    if (m === null || Number(m[2]) < 1 || Number(m[2]) > 65535) {
      throw new SourceArgumentError(`invalid Kafka broker address ${JSON.stringify(b)}: use host:port, e.g. 127.0.0.1:9092`);
    }
  }
  const defaultPartitions = options.defaultPartitions ?? 4;
  validatePartitionCount(defaultPartitions);
  const pollIntervalMs = options.pollIntervalMs ?? 250;
  if (!Number.isFinite(pollIntervalMs) || pollIntervalMs < 10) {
    throw new SourceArgumentError(`invalid pollIntervalMs ${pollIntervalMs}: use at least 10 ms`);
  }
  // Below the client's own 30 s request timeout: the deadline is for calls the
  // client lost (clients.ts), which it would never answer; it also cuts short
  // the client's slow failure (~26 s of retries) against a silent broker.
  const callTimeoutMs = options.callTimeoutMs ?? 15_000;
  if (!Number.isFinite(callTimeoutMs) || callTimeoutMs < 100) {
    throw new SourceArgumentError(`invalid callTimeoutMs ${callTimeoutMs}: use at least 100 ms`);
  }
  return {
    brokers,
    clientId: options.clientId ?? "grep-streams",
    tls: options.tls ?? false,
    sasl: options.sasl,
    defaultPartitions,
    pollIntervalMs,
    callTimeoutMs,
    log: options.log ?? defaultLog.child({ source: "kafka" }),
  };
}
