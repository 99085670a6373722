// compileFilter: checks a FilterSpec field by field and builds the matching
// functions, the canonical form and the stream id.

import { canonicalForm, streamIdOf } from "./canonical.js";
import { deriveIndexCondition, type IndexCondition } from "./index-term.js";
import { canonicalJson, parseJsonText, type JsonObject } from "./json.js";
import { valueLiterals, type ValueLiterals } from "./literal-prefilter.js";
import { matchesKeyPrefix, matchesKeyRegex } from "./key.js";
import { MAX_QUERY_BYTES, MAX_QUERY_DEPTH } from "./limits.js";
import { compileProjection } from "./projection.js";
import { compileQuery } from "./query-compile.js";
import { validateQuery } from "./query-validate.js";
import { compileRegex } from "./regex.js";
import { checkKeyPrefix, normaliseTopics, readSpec, type FilterSpec } from "./spec.js";

export interface CompiledFilter {
  /** First 16 hex characters of sha256(canonical). */
  readonly streamId: string;
  /** The canonical form (JSON), without the projection. */
  readonly canonical: string;
  /**
   * The normalised spec: topics sorted and deduplicated, query and projection
   * as canonical JSON text ("" when empty). Compiling it again gives the same
   * filter and stream id.
   */
  readonly spec: FilterSpec;
  matchesTopic(topic: string): boolean;
  /** Has a key condition (key_prefix and/or key_regex). */
  readonly needsKey: boolean;
  /** Has a non-empty query. */
  readonly needsValue: boolean;
  /** Has a projection (project() is not the identity). */
  readonly hasProjection: boolean;
  /** Both key conditions (when given) must hold. */
  matchesKey(key: readonly string[]): boolean;
  /** `value` is the JSON.parse'd value; only JSON objects match a non-empty query. */
  matchesValue(value: unknown): boolean;
  /** The projected value (a new object; the input is not modified); identity without a projection. */
  project(value: unknown): unknown;
  /**
   * For the filter index: what a value MUST satisfy to match the query
   * (equalities, numeric bounds, and / or of them; see index-term.ts). null
   * when the query implies nothing the index can test (or is empty): the
   * filter is then a candidate for every value.
   */
  readonly indexCondition: IndexCondition | null;
  /**
   * The query says no more than indexCondition on values whose tested paths
   * run through objects only (no arrays): there the index can decide the
   * match from the keys it extracted, without matchesValue (index-term.ts).
   */
  readonly indexExact: boolean;
  /**
   * For scans of history: tests whether a value's text can be JSON the
   * query matches (it holds a literal every match contains), so that the
   * others need not be parsed; null when the query requires no literal
   * (literal-prefilter.ts).
   */
  readonly valueLiterals: ValueLiterals | null;
}

const isEmptyQueryText = (s: string): boolean => s.trim() === "";

/** Compiles a filter; throws FilterError saying what is wrong and where. */
export function compileFilter(input: FilterSpec): CompiledFilter {
  const spec = readSpec(input);

  // Topics.
  const topics = normaliseTopics(spec);
  let matchesTopic: (topic: string) => boolean;
  if (spec.topicRegex !== "") {
    const re = compileRegex(spec.topicRegex, "", "topic_regex", "topic_regex");
    matchesTopic = (t) => re.test(t);
  } else {
    const set = new Set(topics);
    matchesTopic = (t) => set.has(t);
  }

  // Key.
  checkKeyPrefix(spec.keyPrefix);
  const keyPrefix = [...spec.keyPrefix];
  const keyRe = spec.keyRegex !== "" ? compileRegex(spec.keyRegex, "", "key_regex", "key_regex") : null;
  const hasPrefix = keyPrefix.length > 0;
  const needsKey = hasPrefix || keyRe !== null;
  const matchesKey = (key: readonly string[]): boolean =>
    (!hasPrefix || matchesKeyPrefix(keyPrefix, key)) && (keyRe === null || matchesKeyRegex(keyRe, key));

  // Query.
  let query: JsonObject = {};
  let matchesValue: (v: unknown) => boolean = () => true;
  let indexCondition: IndexCondition | null = null;
  let indexExact = false;
  if (!isEmptyQueryText(spec.query)) {
    const validated = validateQuery(parseJsonText(spec.query, "query", MAX_QUERY_BYTES, MAX_QUERY_DEPTH));
    query = validated.query;
    if (Object.keys(query).length > 0) {
      // Evaluate exactly what the canonical form says, so that every filter
      // with this stream id behaves the same.
      const normalised = JSON.parse(canonicalJson(query)) as JsonObject;
      matchesValue = compileQuery(normalised, validated.regexes);
      ({ condition: indexCondition, exact: indexExact } = deriveIndexCondition(normalised));
    }
  }
  const needsValue = Object.keys(query).length > 0;

  // Projection.
  const projection = compileProjection(spec.projection);

  const canonical = canonicalForm({ topics, topicRegex: spec.topicRegex, keyPrefix, keyRegex: spec.keyRegex, query });
  const normalisedSpec: FilterSpec = {
    topics,
    topicRegex: spec.topicRegex,
    keyPrefix,
    keyRegex: spec.keyRegex,
    query: needsValue ? canonicalJson(query) : "",
    projection: projection.text,
  };
  return {
    streamId: streamIdOf(canonical),
    canonical,
    spec: normalisedSpec,
    matchesTopic,
    needsKey,
    needsValue,
    hasProjection: projection.text !== "",
    matchesKey,
    matchesValue,
    project: projection.project,
    indexCondition,
    indexExact,
    valueLiterals: valueLiterals(indexCondition),
  };
}
