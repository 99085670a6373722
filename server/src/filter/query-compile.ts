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

import { spendSteps, startEvaluation } from "./budget.js";
import { compileEquals, type ValueTest } from "./compare.js";
import { isJsonObject, type JsonObject, type JsonValue } from "./json.js";
import { compilePath, type NumberRange } from "./paths.js";
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
type Condition = (
  /** Some value passes the test; `scalar` is the literal when the test is equality with a string, number or boolean. */
  | {
      readonly kind: "some";
      readonly test: ValueTest;
      readonly expandLeafArrays: boolean;
      /** Shortcuts for the path walk (PathOptions): the test is equality with this scalar, or this order comparison. */
      readonly scalar?: Scalar;
      readonly numberRange?: NumberRange;
    }
  /** Not all of `of` hold: $ne, $nin, $not and $exists: false are negations over all values, not per value. */
  | { readonly kind: "not"; readonly of: readonly Condition[] }
  /** $all: every plain value is among the values, and every $elemMatch holds. */
  | { readonly kind: "all"; readonly values: AllValues | null; readonly elemMatches: readonly Condition[] }
) & {
  /**
   * Evaluation order within an $and (lower first): cheap and selective
   * conditions (equality) before costly or permissive ones (regexes,
   * negations), so that most evaluations stop early. The order cannot change
   * a result: an $and is false if any member is, whatever ran first.
   */
  readonly rank: number;
};

type Scalar = string | number | boolean;

/** A predicate with its rank (see Condition). */
interface Ranked {
  readonly matches: DocumentPredicate;
  readonly rank: number;
}

const RANK = { equality: 1, in: 2, order: 3, container: 3, element: 4, negation: 5, elemMatch: 6, regex: 8 } as const;

/** The predicates sorted by rank (stable, so equal ranks keep the canonical order). */
const byRank = (parts: Ranked[]): DocumentPredicate[] =>
  [...parts].sort((a, b) => a.rank - b.rank).map((p) => p.matches);

type Regexes = ReadonlyMap<string, LinearRegex>;

const NEVER: Condition = { kind: "some", test: () => false, expandLeafArrays: false, rank: 0 };

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
      return compilePath(path, c.test, {
        expandLeafArrays: c.expandLeafArrays,
        rootMayBeArray,
        equals: c.scalar,
        numberRange: c.numberRange,
      });
    case "not":
      return not(allOf(sortByRank(c.of).map((x) => onPath(x, path, rootMayBeArray))));
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
      return not(allOf(sortByRank(c.of).map(onValue)));
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

const some = (test: ValueTest, rank: number, expandLeafArrays = true): Condition => ({
  kind: "some",
  test,
  expandLeafArrays,
  rank,
});
const negation = (...of: Condition[]): Condition => ({ kind: "not", of, rank: RANK.negation });

const sortByRank = (cs: readonly Condition[]): Condition[] => [...cs].sort((a, b) => a.rank - b.rank);

/** $gt, $gte, $lt, $lte, with a number kept for the path walk's shortcut. */
function range(op: RangeOperator, lit: JsonValue): Condition {
  const test = compileRange(op, lit);
  if (typeof lit !== "number") return some(test, RANK.order);
  return { kind: "some", test, expandLeafArrays: true, numberRange: { op, bound: lit }, rank: RANK.order };
}

/** {$eq: literal}, with the literal kept for the path walk's shortcut when it is a scalar. */
function equality(lit: JsonValue): Condition {
  const test = compileEquals(lit);
  if (lit !== null && typeof lit !== "object") {
    return { kind: "some", test, expandLeafArrays: true, scalar: lit, rank: RANK.equality };
  }
  return some(test, lit === null ? RANK.equality : RANK.container);
}

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
    elementTest = allOf(sortByRank(compileOperators(spec, regexes)).map(onValue));
  } else {
    const matches = compileDocument(spec, true, regexes);
    elementTest = (x) => typeof x === "object" && x !== null && matches(x);
  }
  return some(
    (v) => {
      if (!Array.isArray(v)) return false;
      spendSteps(v.length);
      for (let i = 0; i < v.length; i++) if (elementTest(v[i])) return true;
      return false;
    },
    RANK.elemMatch,
    false,
  );
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
  return {
    kind: "all",
    values: values.length > 0 ? new AllValues(values) : null,
    elemMatches,
    rank: elemMatches.length > 0 ? RANK.elemMatch : RANK.element,
  };
}

function compileRegexOperator(ops: JsonObject, regexes: Regexes): Condition {
  const pattern = ops["$regex"] as string;
  const options = typeof ops["$options"] === "string" ? ops["$options"] : "";
  const re = regexes.get(regexKey(pattern, options));
  if (!re) throw new Error(`regex ${JSON.stringify(pattern)} was not compiled during validation`);
  return some(compileRegexTest(re), RANK.regex);
}

/** One operator of an operator object (`ops` for $regex's $options). */
function compileOperator(op: string, value: JsonValue, ops: JsonObject, regexes: Regexes): Condition | null {
  switch (op) {
    case "$eq":
      return equality(value);
    case "$ne":
      return negation(equality(value));
    case "$gt":
    case "$gte":
    case "$lt":
    case "$lte":
      return range(op as RangeOperator, value);
    case "$in":
      return some(compileIn(value as JsonValue[]), RANK.in);
    case "$nin":
      return negation(some(compileIn(value as JsonValue[]), RANK.in));
    case "$exists": {
      const exists = some((v) => v !== undefined, RANK.element, false);
      return value === true ? exists : negation(exists);
    }
    case "$type":
      return some(compileType(value), RANK.element);
    case "$size": {
      const n = value as number;
      return some((v) => Array.isArray(v) && v.length === n, RANK.element, false);
    }
    case "$mod": {
      const [divisor, remainder] = value as [number, number];
      return some(compileMod(divisor, remainder), RANK.element);
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
function compileField(path: string, cond: JsonValue, rootMayBeArray: boolean, regexes: Regexes): Ranked {
  let conditions: Condition[];
  const keys = isJsonObject(cond) ? Object.keys(cond) : [];
  if (keys.length > 0 && keys.every((k) => k.startsWith("$"))) {
    conditions = sortByRank(compileOperators(cond as JsonObject, regexes));
  } else {
    conditions = [equality(cond)];
  }
  // Longer paths cost a little more to walk.
  const rank = Math.min(...conditions.map((c) => c.rank)) + 0.1 * (path.split(".").length - 1);
  const walks = allOf(conditions.map((c) => onPath(c, path, rootMayBeArray)));
  if (conditions.length < 2 || rootMayBeArray || path.includes(".") || path in Object.prototype) {
    return { matches: walks, rank };
  }
  // Several operators on a top-level field ({"amount": {"$gte": 10, "$lt": 20}}):
  // unless the value is an array, each walk would see just that one value, so
  // read it once and apply the operators to it.
  const onOne = allOf(conditions.map(onValue));
  return {
    matches: (doc) => {
      const v = (doc as Record<string, unknown>)[path];
      return Array.isArray(v) ? walks(doc) : onOne(v);
    },
    rank,
  };
}

/** The members of a query document, each a predicate with its rank. */
function documentParts(doc: JsonObject, rootMayBeArray: boolean, regexes: Regexes): Ranked[] {
  const parts: Ranked[] = [];
  for (const key of Object.keys(doc)) {
    const value = doc[key] as JsonValue;
    if (key === "$and" || key === "$or" || key === "$nor") {
      const members = (value as JsonObject[]).map((d) => compileDocumentRanked(d, rootMayBeArray, regexes));
      if (key === "$and") {
        parts.push({ matches: allOf(byRank(members)), rank: Math.min(...members.map((m) => m.rank)) });
      } else {
        // A disjunction only fails when every member does: as costly as its costliest member.
        const any = anyOf(byRank(members));
        parts.push({ matches: key === "$or" ? any : not(any), rank: Math.max(...members.map((m) => m.rank)) + 1 });
      }
    } else {
      parts.push(compileField(key, value, rootMayBeArray, regexes));
    }
  }
  return parts;
}

function compileDocumentRanked(doc: JsonObject, rootMayBeArray: boolean, regexes: Regexes): Ranked {
  const parts = documentParts(doc, rootMayBeArray, regexes);
  return { matches: allOf(byRank(parts)), rank: parts.length === 0 ? 0 : Math.min(...parts.map((p) => p.rank)) };
}

function compileDocument(doc: JsonObject, rootMayBeArray: boolean, regexes: Regexes): DocumentPredicate {
  return compileDocumentRanked(doc, rootMayBeArray, regexes).matches;
}

/**
 * Compiles a query that passed validateQuery (and canonical normalisation).
 * Evaluation never throws: a value that runs out of budget, or that breaks an
 * assumption no known value breaks, does not match.
 */
export function compileQuery(query: JsonObject, regexes: ReadonlyMap<string, LinearRegex>): ValuePredicate {
  const parts = byRank(documentParts(query, false, regexes));
  if (parts.length === 2) {
    // Most filters have two conditions: one call less per evaluation.
    const [a, b] = parts as [DocumentPredicate, DocumentPredicate];
    return (value: unknown): boolean => {
      if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
      startEvaluation();
      try {
        return a(value) && b(value);
      } catch {
        return false;
      }
    };
  }
  const matches = allOf(parts);
  return (value: unknown): boolean => {
    if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
    startEvaluation();
    try {
      return matches(value);
    } catch {
      return false;
    }
  };
}
