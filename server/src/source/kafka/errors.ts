// Kafka errors in terms a person running grep-streams can act on: which
// brokers could not be reached and what to check, with the client's error
// attached as the cause. Also the tests on the client's error trees that the
// rest of the Kafka source needs (unknown topic, offset out of range, ...).

import { SourceUnavailableError } from "../types.js";

/** The brokers could not be reached (refused, timed out, TLS failed). */
export class KafkaUnavailableError extends SourceUnavailableError {
  readonly brokers: readonly string[];
  constructor(brokers: readonly string[], tls: boolean, cause: unknown) {
    super(
      `cannot reach Kafka at ${brokers.join(", ")}: check that the brokers run, that this host can reach ` +
        `them (address, port, firewall) and that TLS is ${tls ? "enabled on the brokers' listener" : "not required by the brokers' listener"}` +
        ` (cause: ${rootMessage(cause)})`,
      { cause },
    );
    this.name = "KafkaUnavailableError";
    this.brokers = brokers;
  }
}

/** The brokers refused the SASL credentials. */
export class KafkaAuthenticationError extends SourceUnavailableError {
  readonly brokers: readonly string[];
  constructor(brokers: readonly string[], cause: unknown) {
    super(
      `Kafka at ${brokers.join(", ")} rejected the SASL authentication: check the mechanism, username and password ` +
        `(cause: ${rootMessage(cause)})`,
      { cause },
    );
    this.name = "KafkaAuthenticationError";
    this.brokers = brokers;
  }
}

/** Raised by every method once close() was called. */
/** A call after close(): during a shutdown, clients see UNAVAILABLE (try another server, or later). */
export class KafkaSourceClosedError extends SourceUnavailableError {
  constructor() {
    super("the Kafka source is closed");
    this.name = "KafkaSourceClosedError";
  }
}

/**
 * A Kafka client call the source awaited got no answer within its deadline
 * (see ReaderConsumer.bounded in clients.ts). The brokers may be unreachable
 * or overloaded, or the client lost the call (its metadata-cache race).
 */
export class KafkaCallTimeoutError extends Error {
  readonly call: string;
  readonly timeoutMs: number;
  constructor(call: string, timeoutMs: number) {
    super(`no answer to ${call} within ${timeoutMs} ms`);
    this.name = "KafkaCallTimeoutError";
    this.call = call;
    this.timeoutMs = timeoutMs;
  }
}

const NETWORK_CODES = new Set(["PLT_KFK_NETWORK", "PLT_KFK_TIMEOUT"]);
const SOCKET_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "ENOTFOUND", "EAI_AGAIN", "EPIPE"]);

interface ErrorLike {
  message?: unknown;
  code?: unknown;
  apiId?: unknown;
  errors?: unknown;
  cause?: unknown;
}

/** Every error in the tree: the client nests MultipleErrors (retries, brokers) and causes. */
function* walk(err: unknown, depth = 0): Generator<ErrorLike> {
  if (depth > 8 || err === null || typeof err !== "object") return;
  const e = err as ErrorLike;
  yield e;
  if (Array.isArray(e.errors)) for (const inner of e.errors) yield* walk(inner, depth + 1);
  if (e.cause !== undefined) yield* walk(e.cause, depth + 1);
}

function some(err: unknown, test: (e: ErrorLike) => boolean): boolean {
  for (const e of walk(err)) if (test(e)) return true;
  return false;
}

/** Whether the tree holds a Kafka protocol error with this id (e.g. "OFFSET_OUT_OF_RANGE"). */
export function hasApiError(err: unknown, ...ids: string[]): boolean {
  return some(err, (e) => typeof e.apiId === "string" && ids.includes(e.apiId));
}

export function isUnknownTopic(err: unknown): boolean {
  return (
    hasApiError(err, "UNKNOWN_TOPIC_OR_PARTITION", "UNKNOWN_TOPIC_ID", "INVALID_TOPIC_EXCEPTION") ||
    // The client turns a metadata response for a missing topic into this UserError.
    some(err, (e) => typeof e.message === "string" && e.message.startsWith("Unknown topic "))
  );
}

/** Errors that a fresh metadata lookup (leader, topic id) may cure. */
export function isStaleMetadata(err: unknown): boolean {
  return (
    hasApiError(err, "NOT_LEADER_OR_FOLLOWER", "LEADER_NOT_AVAILABLE", "FENCED_LEADER_EPOCH", "UNKNOWN_LEADER_EPOCH", "UNKNOWN_TOPIC_ID", "UNKNOWN_TOPIC_OR_PARTITION") ||
    some(err, (e) => typeof e.message === "string" && e.message.startsWith("Cannot find broker with node id"))
  );
}

export function isNetworkError(err: unknown): boolean {
  return some(
    err,
    (e) =>
      e instanceof KafkaCallTimeoutError ||
      (typeof e.code === "string" && (NETWORK_CODES.has(e.code) || SOCKET_CODES.has(e.code))) ||
      (typeof e.message === "string" && (e.message.startsWith("Cannot connect to any broker") || e.message.startsWith("TLS handshake failed"))),
  );
}

export function isAuthenticationError(err: unknown): boolean {
  return (
    some(err, (e) => e.code === "PLT_KFK_AUTHENTICATION") ||
    hasApiError(err, "SASL_AUTHENTICATION_FAILED", "UNSUPPORTED_SASL_MECHANISM", "ILLEGAL_SASL_STATE")
  );
}

/** The deepest, most specific message in the tree, for one-line summaries. */
function rootMessage(err: unknown): string {
  let last = "";
  for (const e of walk(err)) {
    if (typeof e.message === "string" && e.message !== "") last = e.message;
  }
  return last || String(err);
}

/**
 * Turns a client error into one that says what to check; errors of our own
 * (UnknownTopicError, SourceArgumentError, ...) and Kafka errors that are not
 * about reaching the brokers are returned as they are.
 */
export function explain(err: unknown, brokers: readonly string[], tls: boolean): unknown {
  if (err instanceof KafkaUnavailableError || err instanceof KafkaAuthenticationError) return err;
  if (isAuthenticationError(err)) return new KafkaAuthenticationError(brokers, err);
  if (isNetworkError(err)) return new KafkaUnavailableError(brokers, tls, err);
  return err;
}
