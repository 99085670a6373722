// Index conditions: what a value MUST satisfy for a filter's query to match,
// in terms a percolator-style index (matcher/filter-index.ts) can test without
// running the query: "the value holds one of these scalars at this path" and
// "the value holds a number above / below this bound at this path", combined
// with and / or. The condition is derived from the validated, normalised query
// and is implied by it (query matches => condition holds), never the reverse:
// the index uses it to skip filters, and the predicate decides.
//
// Where an operator gives no sound term ($ne, $nin, $not, $nor, $exists,
// $type, $size, $mod, $elemMatch, null, embedded documents) it simply
// contributes nothing; a $regex contributes the literal every match contains
// (a "has" term, which the index only checks, never files under); a $or
// contributes only when every branch does (a value may match any one branch).
//
// Exactness: when nothing was left out or widened (every field condition is a
// scalar literal, $eq of one, $in of scalars or a finite numeric bound, under
// $and / $or only), the condition is also sufficient on values whose tested
// paths run through objects only, to a scalar or to nothing: there MongoDB's
// array rules do not apply, equality is ===, and a bound compares only
// numbers, exactly as the index's keys do. Such a filter is `exact`, and the
// index decides its match without running the predicate
// (matcher/filter-index.ts checks the paths; the evaluator's budget is only
// spent on arrays and containers, so it cannot make the predicate differ).

import { isJsonObject, type JsonObject, type JsonValue } from "./json.js";
import { requiredLiteral } from "./regex-literal.js";

/** A scalar an equality term can hold. null is left out: {f: null} also matches a missing f. */
export type IndexScalar = string | number | boolean;

/**
 * The value holds one of `values` at `path` (as MongoDB resolves dotted paths
 * through arrays, an array there holding it as an element counts). An empty
 * list never holds ({$in: []} matches nothing).
 */
export interface EqTerm {
  readonly kind: "eq";
  /** The field path, as written in the query (dotted). */
  readonly path: string;
  /** Distinct; 1, "1" and true are three values. */
  readonly values: readonly IndexScalar[];
}

/**
 * The value holds a number at `path` that is greater than (gt, gte) or less
 * than (lt, lte) `bound`. Only numbers: a comparison with a number never
 * matches a string, boolean or null (MongoDB's type brackets). One bound per
 * term: {$gt: 1, $lt: 5} is two terms, since an array [0, 9] satisfies each by
 * a different element.
 */
export interface RangeTerm {
  readonly kind: "gt" | "gte" | "lt" | "lte";
  readonly path: string;
  readonly bound: number;
}

export type IndexTerm = EqTerm | RangeTerm;

/**
 * The value holds a string at `path` that contains `text` (from a $regex:
 * every string it matches contains this literal; regex-literal.ts). Not
 * selective enough to file a filter under, but a cheap check before the
 * predicate runs the regex.
 */
export interface HasTerm {
  readonly kind: "has";
  readonly path: string;
  readonly text: string;
}

/** Every member holds. */
export interface IndexAnd {
  readonly kind: "and";
  readonly of: readonly IndexCondition[];
}

/** At least one member holds. */
export interface IndexOr {
  readonly kind: "or";
  readonly of: readonly IndexCondition[];
}

/** Plain data (no closures), so it can be inspected, tested and sent to a worker. */
export type IndexCondition = IndexTerm | HasTerm | IndexAnd | IndexOr;

/** A query's index condition, and whether it is exact (see the top of this file). */
export interface IndexDerivation {
  /** Implied by the query; null when the query implies nothing the index can test. */
  readonly condition: IndexCondition | null;
  /** The condition also implies the query on values whose tested paths hold no arrays. */
  readonly exact: boolean;
}

/** Set to false by the derivation whenever it leaves out or widens a part of the query. */
interface Exactness {
  exact: boolean;
}

const RANGE_OPS: Readonly<Record<string, RangeTerm["kind"]>> = { $gt: "gt", $gte: "gte", $lt: "lt", $lte: "lte" };

const isTermScalar = (v: JsonValue | undefined): v is IndexScalar =>
  typeof v === "string" || typeof v === "number" || typeof v === "boolean";

/** Distinct by type and value (a Set compares primitives that way; 0 and -0 are one value, as in MongoDB). */
function distinct(values: readonly IndexScalar[]): IndexScalar[] {
  return [...new Set(values)];
}

/**
 * Equality with an array literal: the value equals the array or holds it as
 * an element; either way its scalar elements are at the path (the index
 * flattens arrays completely).
 */
function arrayLiteralTerms(path: string, arr: readonly JsonValue[], out: IndexCondition[], x: Exactness): void {
  x.exact = false; // the scalars of the array, not the array
  const scalars = distinct(arr.filter(isTermScalar));
  for (const v of scalars) out.push({ kind: "eq", path, values: [v] });
}

/** The terms of one field condition (a literal, or an object of operators). */
function fieldTerms(path: string, cond: JsonValue, out: IndexCondition[], x: Exactness): void {
  if (isTermScalar(cond)) {
    out.push({ kind: "eq", path, values: [cond] });
    return;
  }
  if (Array.isArray(cond)) {
    arrayLiteralTerms(path, cond, out, x);
    return;
  }
  // null: also matches a missing field; an object without operators: an embedded-document literal.
  const keys = isJsonObject(cond) ? Object.keys(cond) : [];
  if (!isJsonObject(cond) || keys.length === 0 || !keys.every((k) => k.startsWith("$"))) {
    x.exact = false;
    return;
  }
  let exact = true;
  for (const op of keys.sort()) {
    const arg = cond[op] as JsonValue;
    switch (op) {
      case "$eq":
        if (isTermScalar(arg)) out.push({ kind: "eq", path, values: [arg] });
        else if (Array.isArray(arg)) arrayLiteralTerms(path, arg, out, x);
        else exact = false;
        break;
      case "$in":
        // Only all-scalar lists: [] inside would match an empty array, null a missing field.
        if (Array.isArray(arg) && arg.every(isTermScalar)) out.push({ kind: "eq", path, values: distinct(arg) });
        else exact = false;
        break;
      case "$all":
        // Every scalar listed must be there ({$all: []} matches nothing, but contributes nothing here).
        if (Array.isArray(arg)) for (const v of distinct(arg.filter(isTermScalar))) out.push({ kind: "eq", path, values: [v] });
        exact = false;
        break;
      case "$gt":
      case "$gte":
      case "$lt":
      case "$lte":
        if (typeof arg === "number" && Number.isFinite(arg)) out.push({ kind: RANGE_OPS[op]!, path, bound: arg });
        else exact = false;
        break;
      case "$regex": {
        const text = typeof arg === "string" ? requiredLiteral(arg, typeof cond.$options === "string" ? cond.$options : "") : null;
        if (text !== null) out.push({ kind: "has", path, text });
        exact = false;
        break;
      }
      default:
        // $ne, $nin, $not, $exists, $type, $size, $mod, $options,
        // $elemMatch: no equality or numeric bound the value must have.
        exact = false;
        break;
    }
  }
  if (!exact) x.exact = false;
}

function and(of: IndexCondition[]): IndexCondition | null {
  const flat: IndexCondition[] = [];
  for (const c of of) {
    if (c.kind === "and") flat.push(...c.of);
    else flat.push(c);
  }
  if (flat.length === 0) return null;
  return flat.length === 1 ? flat[0]! : { kind: "and", of: flat };
}

/** The condition of a query document: its field terms, $and members and $or's; null if none. */
function documentCondition(doc: JsonObject, x: Exactness): IndexCondition | null {
  const conds: IndexCondition[] = [];
  for (const key of Object.keys(doc).sort()) {
    const v = doc[key] as JsonValue;
    if (key === "$and") {
      for (const d of v as JsonValue[]) {
        // (A member without a condition is {} or left nothing out; any loss is recorded in x.)
        const c = isJsonObject(d) ? documentCondition(d, x) : null;
        if (c) conds.push(c);
      }
    } else if (key === "$or") {
      const branches: IndexCondition[] = [];
      let complete = true;
      for (const d of v as JsonValue[]) {
        const c = isJsonObject(d) ? documentCondition(d, x) : null;
        if (!c) {
          complete = false; // that branch may match without any term
          x.exact = false;
          break;
        }
        if (c.kind === "or") branches.push(...c.of);
        else branches.push(c);
      }
      if (complete && branches.length > 0) conds.push(branches.length === 1 ? branches[0]! : { kind: "or", of: branches });
    } else if (!key.startsWith("$")) {
      fieldTerms(key, v, conds, x);
    } else {
      // $nor: never a term (a value matches by NOT satisfying its branches).
      x.exact = false;
    }
  }
  return and(conds);
}

/**
 * The index condition of a validated, normalised query: implied by the query
 * (every value it matches satisfies the condition); null when the query
 * implies nothing the index can test. Recursion is bounded by the query's
 * nesting limit (MAX_QUERY_DEPTH).
 */
export function deriveIndexCondition(query: JsonObject): IndexDerivation {
  const x: Exactness = { exact: true };
  const condition = documentCondition(query, x);
  return { condition, exact: x.exact && condition !== null };
}
