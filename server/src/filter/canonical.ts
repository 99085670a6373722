// The canonical form of a filter: deterministic JSON of its normalised parts,
// without the projection. Equal filters (modulo member order, whitespace,
// topic order and duplicates) have the same canonical form, and so the same
// stream id. Stream ids are stored: changing this format changes every id.

import { createHash } from "node:crypto";
import { canonicalJson, type JsonObject } from "./json.js";

export interface CanonicalParts {
  /** Sorted and deduplicated. */
  readonly topics: readonly string[];
  readonly topicRegex: string;
  readonly keyPrefix: readonly string[];
  readonly keyRegex: string;
  /** Normalised query; {} matches everything. */
  readonly query: JsonObject;
}

/**
 * `{"keyPrefix":[...],"keyRegex":"...","query":{...},"topicRegex":"...","topics":[...]}`:
 * every member always present (empty when not given), members sorted by name
 * at every level, arrays in order, no whitespace.
 */
export function canonicalForm(parts: CanonicalParts): string {
  return canonicalJson({
    topics: parts.topics,
    topicRegex: parts.topicRegex,
    keyPrefix: parts.keyPrefix,
    keyRegex: parts.keyRegex,
    query: parts.query,
  });
}

/** The first 16 hex characters of the SHA-256 of the canonical form. */
export function streamIdOf(canonical: string): string {
  return createHash("sha256").update(canonical, "utf8").digest("hex").slice(0, 16);
}
