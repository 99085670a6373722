// The grep-streams SDK: the generated service and messages, and a client.
export * from "./gen/grepstreams/v1/grep_pb.js";
export { createGrepClient } from "./client.js";
export type { GrepClient, GrepClientOptions, CountOptions, ProduceInput, GrepProducedRecord, GrepTopic, GrepServerStats, GrepFilterValidation, GrepFilterProblem } from "./client.js";
export type { Subscription, SubscribeOptions, Start } from "./subscription.js";
export type {
  GrepFilter,
  GrepEvent,
  EventHeader,
  SubscriptionItem,
  EventItem,
  GapItem,
  ProgressItem,
  StartedItem,
  HeartbeatItem,
  GrepCountProgress,
  GrepCountResult,
  GrepPartitionProgress,
} from "./convert.js";
export { GrepStreamsError } from "./errors.js";
export { defaultBackoff, backoffDelay, type BackoffOptions } from "./backoff.js";
export { Code } from "@connectrpc/connect";
