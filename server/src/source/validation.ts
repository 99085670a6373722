// Argument checks that turn bad input into SourceArgumentError with a message
// that says what is allowed, before anything is written.

import { SourceArgumentError } from "./types.js";

// Kafka's rule (org.apache.kafka.common.internals.Topic), so that a topic
// name that works here works on a broker too.
const TOPIC_NAME = /^[a-zA-Z0-9._-]{1,249}$/;

/** Partitions are rows created up front, so a typo like 1e9 must not get that far. */
export const MAX_PARTITIONS = 10_000;

export function validateTopicName(name: string): void {
  if (!TOPIC_NAME.test(name) || name === "." || name === "..") {
    throw new SourceArgumentError(
      `invalid topic name ${JSON.stringify(name)}: use 1 to 249 characters from a-z, A-Z, 0-9, '.', '_' and '-', other than "." and ".."`,
    );
  }
}

export function validatePartitionCount(count: number): void {
  if (!Number.isInteger(count) || count < 1 || count > MAX_PARTITIONS) {
    throw new SourceArgumentError(`invalid partition count ${count}: use an integer from 1 to ${MAX_PARTITIONS}`);
  }
}

export function validatePartition(topic: string, partition: number, count: number): void {
  if (!Number.isInteger(partition) || partition < 0 || partition >= count) {
    throw new SourceArgumentError(
      `invalid partition ${partition} for topic "${topic}": it has ${count} partition${count === 1 ? "" : "s"}, numbered 0 to ${count - 1}`,
    );
  }
}

/** Offsets, counts and stored timestamps: whole, non-negative, exactly representable. */
export function validateNonNegative(what: string, n: number): void {
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new SourceArgumentError(`invalid ${what} ${n}: use a non-negative integer`);
  }
}

/** A timestamp to search for may be negative (it then means "from the start"). */
export function validateSearchTimestamp(n: number): void {
  if (!Number.isSafeInteger(n)) {
    throw new SourceArgumentError(`invalid timestamp ${n}: use an integer number of milliseconds since the epoch`);
  }
}
