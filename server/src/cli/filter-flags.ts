// Filter flags shared by `grep` and `count`: the positional argument is the
// MongoDB query, as grep's pattern.
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { FilterSchema } from "@grep-streams/sdk/gen/grepstreams/v1/grep_pb.js";

export const FILTER_OPTIONS = {
  topic: { type: "string", short: "t", multiple: true },
  "topic-regex": { type: "string" },
  key: { type: "string", short: "k" },
  "key-regex": { type: "string" },
  projection: { type: "string", short: "p" },
  server: { type: "string", short: "s" },
  help: { type: "boolean", short: "h" },
} as const;

export const FILTER_HELP = `Filter:
  QUERY                  a MongoDB query on the JSON value, e.g. '{"amount":{"$gt":100}}' (default: everything)
  -t, --topic NAME       a topic (repeatable, or comma-separated)
  --topic-regex RE       topics matching an RE2 regex (new ones are picked up)
  -k, --key A,B,*        a key prefix; * matches any one element
  --key-regex RE         an RE2 regex over the key elements joined by "/"
  -p, --projection JSON  fields to keep or drop, e.g. '{"amount":1,"type":1}'
  -s, --server URL       the server [GREP_STREAMS_SERVER] (default http://127.0.0.1:8080)`;

export function filterOf(values: {
  topic?: string[];
  "topic-regex"?: string;
  key?: string;
  "key-regex"?: string;
  projection?: string;
}, query: string | undefined): MessageInitShape<typeof FilterSchema> {
  return {
    topics: (values.topic ?? []).flatMap((t) => t.split(",")).filter(Boolean),
    topicRegex: values["topic-regex"] ?? "",
    keyPrefix: values.key ? values.key.split(",") : [],
    keyRegex: values["key-regex"] ?? "",
    query: query ?? "",
    projection: values.projection ?? "",
  };
}

/** An RFC 3339 time (anything Date.parse reads) or milliseconds since the epoch, to milliseconds. */
export function timeOf(flag: string, text: string): number {
  const ms = /^\d+$/.test(text) ? Number(text) : Date.parse(text);
  if (Number.isNaN(ms)) throw new Error(`--${flag}: expected an RFC 3339 time such as 2026-11-21T10:00:00Z, got ${JSON.stringify(text)}`);
  return ms;
}
