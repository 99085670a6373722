// Index terms: equality conditions a value MUST satisfy for a filter to match,
// so that a percolator-style index (matcher/filter-index.ts) can skip filters
// whose term the value does not have. Terms are only derived where that is
// sound: a field condition that is a top-level member of the query (or of a
// top-level $and, recursively), never under $or, $nor, $not or $elemMatch.

import { resolve } from "mingo/util";
import { isJsonObject, type JsonObject, type JsonValue } from "./json.js";

export type IndexScalar = string | number | boolean | null;

export interface IndexTerm {
  /** The field path, as written in the query (dotted). */
  readonly path: string;
  /** The value at `path` must equal one of these (MongoDB array semantics apply). */
  readonly values: ReadonlyArray<IndexScalar>;
}

/**
 * The equality key of a scalar: type and JSON text, so 1, "1" and true are
 * three different keys.
 */
export function indexKey(v: IndexScalar): string {
  return `${typeof v}:${JSON.stringify(v)}`;
}

/**
 * Scalars that make a sound term. null is left out on purpose: {f: null}
 * also matches values where f is missing (and array elements without f),
 * which an equality lookup cannot see.
 */
function isTermScalar(v: JsonValue | undefined): v is string | number | boolean {
  return typeof v === "string" || typeof v === "number" || typeof v === "boolean";
}

function dedupe(values: ReadonlyArray<string | number | boolean>): Array<string | number | boolean> {
  const seen = new Set<string>();
  const out: Array<string | number | boolean> = [];
  for (const v of values) {
    const k = indexKey(v);
    if (!seen.has(k)) {
      seen.add(k);
      out.push(v);
    }
  }
  return out;
}

/** The term of one field condition (literal, $eq or $in of scalars), or null. */
function fieldTerm(path: string, cond: JsonValue): IndexTerm | null {
  if (isTermScalar(cond)) return { path, values: [cond] };
  if (!isJsonObject(cond)) return null;
  const keys = Object.keys(cond);
  if (keys.length === 0 || !keys.every((k) => k.startsWith("$"))) return null; // an embedded-document literal
  let best: IndexTerm | null = null;
  const eq = cond["$eq"];
  if (isTermScalar(eq)) best = { path, values: [eq] };
  const inValues = cond["$in"];
  if (Array.isArray(inValues) && inValues.every(isTermScalar)) {
    const values = dedupe(inValues as Array<string | number | boolean>);
    if (!best || values.length < best.values.length) best = { path, values };
  }
  return best;
}

function collectTerms(doc: JsonObject, out: IndexTerm[]): void {
  for (const key of Object.keys(doc).sort()) {
    const v = doc[key] as JsonValue;
    if (key === "$and") {
      for (const d of v as JsonValue[]) if (isJsonObject(d)) collectTerms(d, out);
    } else if (!key.startsWith("$")) {
      const t = fieldTerm(key, v);
      if (t) out.push(t);
    }
    // $or and $nor: not sound (a value may match without satisfying a branch).
  }
}

/**
 * Every sound term of a validated, normalised query, most selective first
 * (fewest values; ties in a fixed order).
 */
export function deriveIndexTerms(query: JsonObject): IndexTerm[] {
  const terms: IndexTerm[] = [];
  collectTerms(query, terms);
  // Stable sort keeps the (sorted) path order among equals.
  return terms.sort((a, b) => a.values.length - b.values.length);
}

/**
 * Calls `emit` with the index key of every scalar that a term on `path` could
 * compare equal to in `value`: everything the query evaluator (mingo) looks at
 * for {path: x}, and possibly more. It resolves the path exactly as the
 * evaluator does and then flattens arrays completely, so the keys are a
 * superset of what $eq / $in can match. Values that are not JSON objects
 * never match a non-empty query, so they have no keys.
 */
export function forEachIndexKey(value: unknown, path: string, emit: (key: string) => void): void {
  if (!isJsonObject(value)) return;
  const lhs = resolve(value, path, { unwrapArray: true });
  if (!Array.isArray(lhs)) {
    if (isTermScalar(lhs as JsonValue)) emit(indexKey(lhs as IndexScalar));
    return;
  }
  // Iterative: a hostile value may nest arrays deeper than the stack allows.
  const stack: unknown[] = [lhs];
  while (stack.length > 0) {
    const x = stack.pop();
    if (Array.isArray(x)) {
      for (const e of x) stack.push(e);
    } else if (isTermScalar(x as JsonValue)) {
      emit(indexKey(x as IndexScalar));
    }
  }
}
