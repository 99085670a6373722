// Compiles a validated, normalised query (query-validate.ts, then canonical
// JSON) into a predicate made of closures: the query is read once, here, and
// evaluating it is calls of small functions over the message, with paths split
// and literals classified in advance. Semantics are MongoDB's; where they
// differ from mingo (the former evaluator, now query-reference.ts) is listed
// in docs/query-semantics.md.
//
// Untrusted input on both sides: validation bounds the query (limits.ts), and
// the evaluation recurses only along the query (paths, $elemMatch, literals),
// never along the value, and spends from a budget (budget.ts) on big values.

import { startEvaluation } from "./budget.js";
import { compileEquals, isPlainObject, type ValueTest } from "./compare.js";
import { isJsonObject, type JsonObject, type JsonValue } from "./json.js";
import { compilePath } from "./paths.js";
import {
  AllValues,
  compileIn,
  compileMod,
  compileRange,
  compileRegexTest,
  compileType,
  type RangeOperator,
} from "./query-operators.js";
import { regexKey } from "./query-validate.js";
import type { LinearRegex } from "./regex.js";

/** A predicate over a parsed JSON value; only JSON objects can match a non-empty query. */
export type ValuePredicate = (value: unknown) => boolean;

/** A predicate over a document: the message value, or an element $elemMatch's query document is applied to. */
type DocumentPredicate = (doc: object) => boolean;

/**
 * An operator compiled once, to be applied in one of two ways: over the
 * values of a path (a field condition), or to one value as it is, which is
 * how $elemMatch's operator form applies operators to each element.
 */
type Condition =
  /** Some value passes the test. */
  | { readonly kind: "some"; readonly test: ValueTest; readonly expandLeafArrays: boolean }
  /** Not all of `of` hold: $ne, $nin, $not and $exists: false are negations over all values, not per value. */
  | { readonly kind: "not"; readonly of: readonly Condition[] }
  /** $all: every plain value is among the values, and every $elemMatch holds. */
  | { readonly kind: "all"; readonly values: AllValues | null; readonly elemMatches: readonly Condition[] };

type Regexes = ReadonlyMap<string, LinearRegex>;

const NEVER: Condition = { kind: "some", test: () => false, expandLeafArrays: false };

function allOf<T>(predicates: ReadonlyArray<(x: T) => boolean>): (x: T) => boolean {
  const [a, b, c] = predicates;
  switch (predicates.length) {
    case 0:
      return () => true;
    case 1:
      return a as (x: T) => boolean;
    case 2:
      return (x) => (a as (x: T) => boolean)(x) && (b as (x: T) => boolean)(x);
    case 3:
      return (x) => (a as (x: T) => boolean)(x) && (b as (x: T) => boolean)(x) && (c as (x: T) => boolean)(x);
    default:
      return (x) => {
        for (const p of predicates) if (!p(x)) return false;
        return true;
      };
  }
}

function anyOf<T>(predicates: ReadonlyArray<(x: T) => boolean>): (x: T) => boolean {
  const [a, b] = predicates;
  switch (predicates.length) {
    case 1:
      return a as (x: T) => boolean;
    case 2:
      return (x) => (a as (x: T) => boolean)(x) || (b as (x: T) => boolean)(x);
    default:
      return (x) => {
        for (const p of predicates) if (p(x)) return true;
        return false;
      };
  }
}

function not<T>(p: (x: T) => boolean): (x: T) => boolean {
  return (x) => !p(x);
}

/** The condition over the values `path` names in a document. */
function onPath(c: Condition, path: string, rootMayBeArray: boolean): DocumentPredicate {
  switch (c.kind) {
    case "some":
      return compilePath(path, c.test, { expandLeafArrays: c.expandLeafArrays, rootMayBeArray });
    case "not":
      return not(allOf(c.of.map((x) => onPath(x, path, rootMayBeArray))));
    case "all": {
      const parts: DocumentPredicate[] = [];
      const values = c.values;
      if (values) {
        const walk = compilePath(path, values.see, { expandLeafArrays: true, rootMayBeArray });
        parts.push((doc) => {
          values.begin();
          return walk(doc);
        });
      }
      for (const m of c.elemMatches) parts.push(onPath(m, path, rootMayBeArray));
      return allOf(parts);
    }
  }
}

/** The condition on one value as it is (an array is one value here, not its elements). */
function onValue(c: Condition): ValueTest {
  switch (c.kind) {
    case "some":
      return c.test;
    case "not":
      return not(allOf(c.of.map(onValue)));
    case "all": {
      const parts = c.elemMatches.map(onValue);
      const values = c.values;
      if (values) {
        parts.unshift((v) => {
          values.begin();
          return values.see(v);
        });
      }
      return allOf(parts);
    }
  }
}

const some = (test: ValueTest, expandLeafArrays = true): Condition => ({ kind: "some", test, expandLeafArrays });
const negation = (...of: Condition[]): Condition => ({ kind: "not", of });

const LOGICAL = new Set(["$and", "$or", "$nor"]);

/**
 * $elemMatch: some element of an array value satisfies every operator
 * ({"$gt": 1, "$lt": 5}), or the query document ({"sku": "x"}), whose
 * elements must be objects or arrays (an array as a document whose members
 * are its positions). Validation chose the form with the same rule.
 */
function compileElemMatch(spec: JsonObject, regexes: Regexes): Condition {
  const keys = Object.keys(spec);
  let elementTest: ValueTest;
  if (keys.length > 0 && keys.every((k) => k.startsWith("$") && !LOGICAL.has(k))) {
    elementTest = allOf(compileOperators(spec, regexes).map(onValue));
  } else {
    const matches = compileDocument(spec, true, regexes);
    elementTest = (x) => typeof x === "object" && x !== null && matches(x);
  }
  return some((v) => {
    if (!Array.isArray(v)) return false;
    for (let i = 0; i < v.length; i++) if (elementTest(v[i])) return true;
    return false;
  }, false);
}

/** $all's members: values, and {"$elemMatch": ...} conditions. */
function compileAll(members: readonly JsonValue[], regexes: Regexes): Condition {
  const values: JsonValue[] = [];
  const elemMatches: Condition[] = [];
  for (const m of members) {
    if (isJsonObject(m) && "$elemMatch" in m) elemMatches.push(compileElemMatch(m["$elemMatch"] as JsonObject, regexes));
    else values.push(m);
  }
  if (values.length === 0 && elemMatches.length === 0) return NEVER; // {"$all": []} matches nothing
  return { kind: "all", values: values.length > 0 ? new AllValues(values) : null, elemMatches };
}

function compileRegexOperator(ops: JsonObject, regexes: Regexes): Condition {
  const pattern = ops["$regex"] as string;
  const options = typeof ops["$options"] === "string" ? ops["$options"] : "";
  const re = regexes.get(regexKey(pattern, options));
  if (!re) throw new Error(`regex ${JSON.stringify(pattern)} was not compiled during validation`);
  return some(compileRegexTest(re));
}

/** One operator of an operator object (`ops` for $regex's $options). */
function compileOperator(op: string, value: JsonValue, ops: JsonObject, regexes: Regexes): Condition | null {
  switch (op) {
    case "$eq":
      return some(compileEquals(value));
    case "$ne":
      return negation(some(compileEquals(value)));
    case "$gt":
    case "$gte":
    case "$lt":
    case "$lte":
      return some(compileRange(op as RangeOperator, value));
    case "$in":
      return some(compileIn(value as JsonValue[]));
    case "$nin":
      return negation(some(compileIn(value as JsonValue[])));
    case "$exists": {
      const exists = some((v) => v !== undefined, false);
      return value === true ? exists : negation(exists);
    }
    case "$type":
      return some(compileType(value));
    case "$size": {
      const n = value as number;
      return some((v) => Array.isArray(v) && v.length === n, false);
    }
    case "$mod": {
      const [divisor, remainder] = value as [number, number];
      return some(compileMod(divisor, remainder));
    }
    case "$regex":
      return compileRegexOperator(ops, regexes);
    case "$options":
      return null; // read with $regex
    case "$all":
      return compileAll(value as JsonValue[], regexes);
    case "$elemMatch":
      return compileElemMatch(value as JsonObject, regexes);
    case "$not":
      return negation(...compileOperators(value as JsonObject, regexes));
    default:
      throw new Error(`operator ${op} passed validation but has no compiled form`);
  }
}

function compileOperators(ops: JsonObject, regexes: Regexes): Condition[] {
  const out: Condition[] = [];
  for (const op of Object.keys(ops)) {
    const c = compileOperator(op, ops[op] as JsonValue, ops, regexes);
    if (c) out.push(c);
  }
  return out;
}

/** A field condition: an operator object, or a literal to compare for equality. */
function compileField(path: string, cond: JsonValue, rootMayBeArray: boolean, regexes: Regexes): DocumentPredicate {
  if (isJsonObject(cond)) {
    const keys = Object.keys(cond);
    if (keys.length > 0 && keys.every((k) => k.startsWith("$"))) {
      return allOf(compileOperators(cond, regexes).map((c) => onPath(c, path, rootMayBeArray)));
    }
  }
  return onPath(some(compileEquals(cond)), path, rootMayBeArray);
}

function compileDocument(doc: JsonObject, rootMayBeArray: boolean, regexes: Regexes): DocumentPredicate {
  const parts: DocumentPredicate[] = [];
  for (const key of Object.keys(doc)) {
    const value = doc[key] as JsonValue;
    const members = (): DocumentPredicate[] =>
      (value as JsonObject[]).map((d) => compileDocument(d, rootMayBeArray, regexes));
    if (key === "$and") parts.push(allOf(members()));
    else if (key === "$or") parts.push(anyOf(members()));
    else if (key === "$nor") parts.push(not(anyOf(members())));
    else parts.push(compileField(key, value, rootMayBeArray, regexes));
  }
  return allOf(parts);
}

/**
 * Compiles a query that passed validateQuery (and canonical normalisation).
 * Evaluation never throws: a value that runs out of budget, or that breaks an
 * assumption no known value breaks, does not match.
 */
export function compileQuery(query: JsonObject, regexes: ReadonlyMap<string, LinearRegex>): ValuePredicate {
  const matches = compileDocument(query, false, regexes);
  return (value: unknown): boolean => {
    if (!isPlainObject(value)) return false;
    startEvaluation();
    try {
      return matches(value);
    } catch {
      return false;
    }
  };
}
