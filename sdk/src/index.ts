// The grep-streams SDK: the generated service and messages, and a client.
export * from "./gen/grepstreams/v1/grep_pb.js";
