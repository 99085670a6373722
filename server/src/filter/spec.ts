// The filter as clients send it (mirrors grepstreams.v1.Filter), and the
// checks and normalisation of its topic and key parts.

import { FilterError } from "./errors.js";
import { compareStrings, element } from "./json.js";
import { MAX_KEY_PREFIX, MAX_TOPICS } from "./limits.js";

export interface FilterSpec {
  /** Topic names; exactly one of `topics` and `topicRegex` must be given. */
  topics: string[];
  /** RE2 regex over topic names (unanchored: use ^ and $ to anchor). */
  topicRegex: string;
  /** A prefix of the key array; an element "*" matches any one element. */
  keyPrefix: string[];
  /** RE2 regex over the key's elements joined by "/" (unanchored). */
  keyRegex: string;
  /** MongoDB query document as JSON text; "" matches everything. */
  query: string;
  /** MongoDB inclusion or exclusion projection as JSON text; "" for none. */
  projection: string;
}

// Kafka's rule for topic names (as the embedded source enforces it): a name
// outside it can never exist, so a filter naming one is a mistake.
const TOPIC_NAME = /^[a-zA-Z0-9._-]{1,249}$/;

function stringField(input: Record<string, unknown>, name: keyof FilterSpec, field: FilterError["field"]): string {
  const v = input[name];
  if (v === undefined || v === null) return "";
  if (typeof v !== "string") throw new FilterError(field, field, `must be a string, not ${describe(v)}`);
  return v;
}

function stringList(input: Record<string, unknown>, name: keyof FilterSpec, field: FilterError["field"]): string[] {
  const v = input[name];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new FilterError(field, field, `must be a list of strings, not ${describe(v)}`);
  v.forEach((s, i) => {
    if (typeof s !== "string") throw new FilterError(field, element(field, i), `must be a string, not ${describe(s)}`);
  });
  return v as string[];
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  return `a ${typeof v}`;
}

/**
 * Reads a FilterSpec-shaped object (missing fields count as empty) and checks
 * the shape of every field. Content checks come later, field by field.
 */
export function readSpec(input: unknown): FilterSpec {
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    throw new FilterError("topics", "topics", "the filter must be an object with topics, topicRegex, keyPrefix, keyRegex, query and projection");
  }
  const o = input as Record<string, unknown>;
  return {
    topics: stringList(o, "topics", "topics"),
    topicRegex: stringField(o, "topicRegex", "topic_regex"),
    keyPrefix: stringList(o, "keyPrefix", "key_prefix"),
    keyRegex: stringField(o, "keyRegex", "key_regex"),
    query: stringField(o, "query", "query"),
    projection: stringField(o, "projection", "projection"),
  };
}

/** Exactly one of topics / topicRegex; topics checked, sorted and deduplicated. */
export function normaliseTopics(spec: FilterSpec): string[] {
  const hasTopics = spec.topics.length > 0;
  const hasRegex = spec.topicRegex !== "";
  if (hasTopics === hasRegex) {
    throw new FilterError(
      "topics",
      "topics",
      `give exactly one of topics and topic_regex (got ${hasTopics ? "both" : "neither"})`,
    );
  }
  if (spec.topics.length > MAX_TOPICS) {
    throw new FilterError("topics", "topics", `too many topics: ${spec.topics.length} (limit ${MAX_TOPICS}); use topic_regex`);
  }
  spec.topics.forEach((t, i) => {
    if (!TOPIC_NAME.test(t) || t === "." || t === "..") {
      throw new FilterError(
        "topics",
        element("topics", i),
        `invalid topic name ${JSON.stringify(t)}: topic names have 1 to 249 characters from a-z, A-Z, 0-9, '.', '_' and '-', other than "." and ".."`,
      );
    }
  });
  return [...new Set(spec.topics)].sort(compareStrings);
}

export function checkKeyPrefix(prefix: readonly string[]): void {
  if (prefix.length > MAX_KEY_PREFIX) {
    throw new FilterError("key_prefix", "key_prefix", `too many elements: ${prefix.length} (limit ${MAX_KEY_PREFIX})`);
  }
}
