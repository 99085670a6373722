// The expectation the differential test holds the compiled evaluator to:
// mingo (the reference, query-reference.ts) wherever it follows MongoDB, and
// MongoDB's rules, written out here, where it does not.
//
// mingo's engine still parses the query and combines the operators ($and,
// $or, $nor, $not, several operators on one field). Only its leaf operators
// are replaced, by ones that
//  1. list the values of the path the way MongoDB's matcher enumerates them
//     (src/mongo/db/matcher/path.cpp), materialised into an array (the
//     compiled evaluator walks without one), and
//  2. judge each value on its own with mingo's original operator applied to
//     {x: value}, except for arrays taken as one value and the documented
//     deviations, which have explicit rules below.
// Each replaced leaf also evaluates mingo's original operator on the original
// value. When the two disagree, the disagreement is attributed to one of the
// DEVIATIONS (docs/query-semantics.md), or to "unexplained", which the
// differential test refuses: the compiled evaluator may only differ from
// mingo in documented ways.

import { Context } from "mingo/core";
import { $and, $nor, $not, $or } from "mingo/operators/query";
import { Query } from "mingo/query";
import type { AnyObject, Options, QueryOperator } from "mingo/types";
import { isEqual } from "mingo/util";
import type { JsonObject, JsonValue } from "../../src/filter/json.js";
import { LINEAR_REGEX_OP, prepareReferenceQuery } from "../../src/filter/query-reference.js";
import type { LinearRegex } from "../../src/filter/regex.js";

/** Where the compiled evaluator deliberately differs from mingo; each has a section in docs/query-semantics.md. */
export const DEVIATIONS = {
  "paths-through-arrays": "a path through arrays gives MongoDB's values, not mingo's merged list",
  "final-array-values": "a final array gives its elements and itself, each judged as one value",
  "null-order": "$gte and $lte null match a missing value",
  "all-is-and-of-eq": "$all is an $and of $eq over the path's values",
  "elem-match": "$elemMatch applies its operators to each element as is, and its query document to documents and arrays only",
  "container-order": "arrays and objects order as BSON does",
  "string-order": "strings order by code point",
  "mod-int64": "$mod matches no dividend outside the 64-bit integers",
  "prototype-member-names": "objects with members named like Object.prototype's (constructor, toString) compare like any other",
  unexplained: "none of the above: a bug, in the evaluator or in this oracle",
} as const;
export type Deviation = keyof typeof DEVIATIONS;

export interface OracleVerdict {
  readonly matches: boolean;
  /** The deviations that changed a leaf's verdict during this evaluation (whether or not the result). */
  readonly deviations: ReadonlySet<Deviation>;
}

const MISSING = Symbol("missing");
type Value = unknown; // a JSON value or MISSING

const isObject = (v: unknown): v is AnyObject => typeof v === "object" && v !== null && !Array.isArray(v);
const isDigits = (s: string): boolean => /^[0-9]+$/.test(s);

// ---------------------------------------------------------------------------
// Values of a path, after path.cpp (BSONElementIterator and getFieldDottedOrArray)

/** A member of a document; an array standing as a document has its positions as members. */
function memberOf(doc: unknown, name: string): Value {
  if (Array.isArray(doc)) return isDigits(name) && Number(name) < doc.length ? doc[Number(name)] : MISSING;
  return Object.prototype.hasOwnProperty.call(doc, name) ? (doc as AnyObject)[name] : MISSING;
}

/** getFieldDottedOrArray then the BEGIN state: walk objects from `start` until an array, a scalar or the end. */
function valuesFromDocument(doc: unknown, segments: readonly string[], start: number, expand: boolean, out: Value[]): void {
  let current: unknown = doc;
  for (let i = start; ; i++) {
    const v = memberOf(current, segments[i] as string);
    if (v === MISSING) return void out.push(MISSING);
    if (Array.isArray(v)) return valuesOfArray(v, segments, i, expand, out);
    if (i === segments.length - 1) return void out.push(v);
    if (!isObject(v)) return void out.push(MISSING); // a scalar where the path goes on
    current = v;
  }
}

/** The IN_ARRAY state: `array` is the value at segment i. */
function valuesOfArray(array: unknown[], segments: readonly string[], i: number, expand: boolean, out: Value[]): void {
  const last = segments.length - 1;
  if (i === last) {
    if (expand) out.push(...array); // kTraverse: the elements, then the array
    out.push(array);
    return;
  }
  const next = segments[i + 1] as string;
  array.forEach((element, position) => {
    // MongoDB walks object elements with the rest of the path even when it
    // starts with a number; the evaluator only selects by position then
    // (see paths.ts: the filter index relies on it).
    if (isObject(element) && !isDigits(next)) valuesFromDocument(element, segments, i + 1, expand, out);
    if (isDigits(next) && Number(next) === position) {
      if (i + 1 === last) out.push(element);
      else if (Array.isArray(element)) valuesOfArray(element, segments, i + 1, expand, out);
      else if (isObject(element)) valuesFromDocument(element, segments, i + 2, expand, out);
    }
  });
}

export function pathValues(root: unknown, path: string, expand: boolean): Value[] {
  const out: Value[] = [];
  valuesFromDocument(root, path.split("."), 0, expand, out);
  return out;
}

/** Whether the walk meets an array before the last segment (mingo's and MongoDB's path rules differ only then). */
function crossesArray(root: unknown, path: string): boolean {
  if (Array.isArray(root)) return true;
  const segments = path.split(".");
  let level: unknown[] = [root];
  for (let i = 0; i < segments.length - 1; i++) {
    const next: unknown[] = [];
    for (const doc of level) {
      const v = isObject(doc) ? memberOf(doc, segments[i] as string) : MISSING;
      if (Array.isArray(v)) return true;
      if (isObject(v)) next.push(v);
    }
    level = next;
  }
  return false;
}

/** Whether a final array of the path holds arrays (mingo flattens those for dotted paths). */
function hasArrayValue(values: readonly Value[]): boolean {
  return values.some((v) => Array.isArray(v));
}

// ---------------------------------------------------------------------------
// Order (MongoDB's BSON comparison, written independently of compare.ts)

function rank(v: unknown): number {
  if (v === null) return 1;
  if (typeof v === "number") return 2;
  if (typeof v === "string") return 3;
  if (Array.isArray(v)) return 5;
  if (typeof v === "object") return 4;
  return 6; // boolean
}

/** Code point order: what MongoDB's comparison of UTF-8 bytes amounts to. */
export function codePointOrder(a: string, b: string): number {
  const x = Array.from(a, (c) => c.codePointAt(0) as number);
  const y = Array.from(b, (c) => c.codePointAt(0) as number);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return (x[i] as number) - (y[i] as number);
  return x.length - y.length;
}

export function bsonOrder(a: unknown, b: unknown): number {
  const d = rank(a) - rank(b);
  if (d !== 0) return d;
  if (typeof a === "number" || typeof a === "boolean") return Number(a) - Number(b);
  if (typeof a === "string") return codePointOrder(a, b as string);
  if (a === null) return 0;
  // Arrays are BSON documents with members "0", "1", ...; objects with members sorted by name.
  const entries = (v: unknown): Array<[string, unknown]> =>
    Array.isArray(v)
      ? v.map((e, i) => [String(i), e])
      : Object.keys(v as AnyObject)
          .sort(codePointOrder)
          .map((k) => [k, (v as AnyObject)[k]]);
  const x = entries(a);
  const y = entries(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const [kx, vx] = x[i] as [string, unknown];
    const [ky, vy] = y[i] as [string, unknown];
    const c = rank(vx) - rank(vy) || codePointOrder(kx, ky) || bsonOrder(vx, vy);
    if (c !== 0) return c;
  }
  return x.length - y.length;
}

// ---------------------------------------------------------------------------
// One value judged by one operator

interface Env {
  /** mingo's original operators (the reference's) and the options they take. */
  readonly nativeOperators: Readonly<Record<string, QueryOperator>>;
  readonly native: Options;
  /** Options of the oracle's operators, for the query documents of $elemMatch. */
  readonly oracle: Options;
}

/**
 * The options object mingo hands its operators for a context. Building a
 * Query from it skips copying the context, which is most of the ~30-50 µs a
 * Query costs; and operators called with it directly skip the Query.
 */
function operatorOptions(operators: Readonly<Record<string, QueryOperator>>): Options {
  let captured: Options | undefined;
  const probe = ((_selector: string, _value: unknown, options: Options) => {
    captured = options;
    return () => true;
  }) as QueryOperator;
  new Query({ x: { $probe: 1 } }, { context: Context.init({ query: { ...operators, $probe: probe } }), scriptEnabled: false });
  if (!captured) throw new Error("mingo did not call the probe operator");
  return captured;
}

/** mingo's original operator `op` on `selector`, without a Query around it. */
function nativeOperator(op: string, selector: string, value: unknown, env: Env): (obj: AnyObject) => boolean {
  const make = env.nativeOperators[op];
  if (!make) throw new Error(`oracle: mingo has no operator ${op}`);
  return (make as (s: string, v: unknown, o: Options) => (obj: AnyObject) => boolean)(selector, value, env.native);
}

/**
 * Whether mingo cannot be asked about `v`: objects with a member named like
 * an Object.prototype property break its equality (it reads `o.constructor`
 * and calls `o.toString`) and its hashing (`o.constructor.name`).
 */
export function hasPrototypeNames(v: unknown): boolean {
  if (Array.isArray(v)) return v.some(hasPrototypeNames);
  if (!isObject(v)) return false;
  return Object.keys(v).some((k) => k in Object.prototype || hasPrototypeNames(v[k]));
}

/** Structural equality of JSON values: numbers by value (0 = -0), objects member by member in any order. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => jsonEqual(x, b[i]));
  if (isObject(a)) {
    if (!isObject(b)) return false;
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && jsonEqual(a[k], b[k]));
  }
  return a === b;
}

/** {$eq: lit} on one value, by our own rule: null also equals a missing value. */
const equalsOne = (v: Value, lit: unknown): boolean => (v === MISSING ? lit === null : jsonEqual(v, lit));

/**
 * mingo's original operator on one value that is not an array, falling back
 * to `own` (the rule written out) where mingo cannot be asked.
 */
function mingoOnOne(op: string, value: unknown, env: Env, own: (v: Value) => boolean): (v: Value) => boolean {
  const test = nativeOperator(op, "x", value, env);
  const literalBreaksMingo = hasPrototypeNames(value);
  return (v) => (literalBreaksMingo || hasPrototypeNames(v) ? own(v) : test(v === MISSING ? {} : { x: v }));
}

const ORDER_OK: Readonly<Record<string, (c: number) => boolean>> = {
  $gt: (c) => c > 0,
  $gte: (c) => c >= 0,
  $lt: (c) => c < 0,
  $lte: (c) => c <= 0,
};

function judgeRange(op: string, lit: unknown, env: Env): (v: Value) => boolean {
  const ok = ORDER_OK[op] as (c: number) => boolean;
  const mingo = mingoOnOne(op, lit, env, (v) => rank(v) === rank(lit) && ok(bsonOrder(v, lit)));
  return (v) => {
    if (v === MISSING) return lit === null && (op === "$gte" || op === "$lte"); // null-order
    if (typeof lit === "string") return typeof v === "string" && ok(codePointOrder(v, lit)); // string-order
    if (typeof lit === "object" && lit !== null) return rank(v) === rank(lit) && ok(bsonOrder(v, lit)); // container-order
    return !Array.isArray(v) && mingo(v);
  };
}

const INT64 = 2 ** 63;

function judge(op: string, value: unknown, env: Env): (v: Value) => boolean {
  switch (op) {
    case "$eq": {
      const own = (v: Value): boolean => equalsOne(v, value);
      const mingo = mingoOnOne(op, value, env, own);
      return (v) => (Array.isArray(v) ? (hasPrototypeNames(v) || hasPrototypeNames(value) ? own(v) : isEqual(v, value)) : mingo(v));
    }
    case "$gt":
    case "$gte":
    case "$lt":
    case "$lte":
      return judgeRange(op, value, env);
    case "$in": {
      const list = value as unknown[];
      const own = (v: Value): boolean => list.some((x) => equalsOne(v, x));
      const mingo = mingoOnOne(op, value, env, own);
      return (v) => (Array.isArray(v) ? own(v) : mingo(v));
    }
    case "$type": {
      const types: unknown[] = Array.isArray(value) ? value : [value];
      const mingo = mingoOnOne(op, value, env, (v) => isObject(v) && (types.includes("object") || types.includes(3)));
      return (v) => (Array.isArray(v) ? types.includes("array") || types.includes(4) : mingo(v));
    }
    case "$mod": {
      const mingo = mingoOnOne(op, value, env, () => false);
      const outOfRange = (v: Value): boolean => typeof v === "number" && Math.abs(Math.trunc(v)) >= INT64 && Math.trunc(v) !== -INT64;
      return (v) => !Array.isArray(v) && !outOfRange(v) && mingo(v); // mod-int64
    }
    case LINEAR_REGEX_OP: {
      const mingo = mingoOnOne(op, value, env, () => false);
      return (v) => !Array.isArray(v) && mingo(v);
    }
    case "$exists":
      return (v) => v !== MISSING;
    case "$size":
      return (v) => Array.isArray(v) && v.length === value;
    case "$elemMatch":
      return judgeElemMatch(value as JsonObject, env);
    default:
      throw new Error(`oracle: no judge for ${op}`);
  }
}

const LOGICAL = new Set(["$and", "$or", "$nor"]);

/** $elemMatch on one value: an array with an element that passes. */
function judgeElemMatch(spec: JsonObject, env: Env): (v: Value) => boolean {
  const keys = Object.keys(spec);
  let element: (x: unknown) => boolean;
  if (keys.length > 0 && keys.every((k) => k.startsWith("$") && !LOGICAL.has(k))) {
    element = judgeOperatorsAsOne(spec, env);
  } else {
    const q = new Query(spec, env.oracle);
    element = (x) => typeof x === "object" && x !== null && q.test(x as AnyObject);
  }
  return (v) => Array.isArray(v) && v.some(element);
}

/** Operators applied to one value as it is (how $elemMatch's operator form applies them to an element). */
function judgeOperatorsAsOne(ops: JsonObject, env: Env): (x: Value) => boolean {
  const tests = Object.keys(ops).map((op) => judgeAsOne(op, ops[op], env));
  return (x) => tests.every((t) => t(x));
}

function judgeAsOne(op: string, value: unknown, env: Env): (x: Value) => boolean {
  switch (op) {
    case "$ne":
    case "$nin": {
      const positive = judge(op === "$ne" ? "$eq" : "$in", value, env);
      return (x) => !positive(x);
    }
    case "$not": {
      const inner = judgeOperatorsAsOne(value as JsonObject, env);
      return (x) => !inner(x);
    }
    case "$exists":
      return (x) => (x !== MISSING) === value;
    case "$all": {
      const members = (value as unknown[]).map((m) =>
        isObject(m) && "$elemMatch" in m ? judge("$elemMatch", m["$elemMatch"], env) : judge("$eq", m, env),
      );
      return (x) => members.length > 0 && members.every((t) => t(x));
    }
    default:
      return judge(op, value, env);
  }
}

// ---------------------------------------------------------------------------
// The replaced leaf operators

let fired = new Set<Deviation>();

/** Why mingo's verdict on a leaf differs from MongoDB's rules. */
function classify(op: string, value: unknown, selector: string, obj: AnyObject): Deviation {
  if (hasPrototypeNames(value) || hasPrototypeNames(pathValues(obj, selector, false).filter((v) => v !== MISSING))) {
    return "prototype-member-names";
  }
  if (crossesArray(obj, selector)) return "paths-through-arrays";
  const values = pathValues(obj, selector, true);
  switch (op) {
    case "$gt":
    case "$gte":
    case "$lt":
    case "$lte":
      if (value === null && values.includes(MISSING)) return "null-order";
      if (typeof value === "string") return "string-order";
      if (typeof value === "object" && value !== null) return "container-order";
      break;
    case "$all":
      return "all-is-and-of-eq";
    case "$elemMatch":
      return "elem-match";
    case "$mod":
      return "mod-int64";
    default:
      break;
  }
  return hasArrayValue(values) ? "final-array-values" : "unexplained";
}

/** MongoDB's verdict for one operator over the values of `selector`. */
function pathLevel(op: string, selector: string, value: unknown, env: Env): (obj: AnyObject) => boolean {
  const some = (test: (v: Value) => boolean, expand: boolean) => (obj: AnyObject) =>
    pathValues(obj, selector, expand).some(test);
  switch (op) {
    case "$ne":
    case "$nin": {
      const positive = some(judge(op === "$ne" ? "$eq" : "$in", value, env), true);
      return (obj) => !positive(obj);
    }
    case "$exists": {
      const exists = some(judge("$exists", true, env), true);
      return value ? exists : (obj) => !exists(obj);
    }
    case "$all": {
      const members = (value as unknown[]).map((m) =>
        isObject(m) && "$elemMatch" in m ? some(judge("$elemMatch", m["$elemMatch"], env), false) : some(judge("$eq", m, env), true),
      );
      return (obj) => members.length > 0 && members.every((t) => t(obj));
    }
    case "$size":
    case "$elemMatch":
      return some(judge(op, value, env), false);
    default:
      return some(judge(op, value, env), true);
  }
}

function replaced(op: string, getEnv: () => Env): QueryOperator {
  return ((selector: string, value: unknown, _options: Options) => {
    const env = getEnv();
    const mongo = pathLevel(op, selector, value, env);
    const native = nativeOperator(op, selector, value, env);
    const nativeTest = (obj: AnyObject): boolean | "error" => {
      try {
        return native(obj);
      } catch {
        return "error";
      }
    };
    return (obj: AnyObject): boolean => {
      const m = mongo(obj);
      if (m !== nativeTest(obj)) fired.add(classify(op, value, selector, obj));
      return m;
    };
  }) as QueryOperator;
}

const LEAF_OPERATORS = [
  "$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin", "$exists", "$type", "$size", "$all", "$elemMatch", "$mod",
  LINEAR_REGEX_OP,
];

/** The oracle's predicate for a validated, normalised query. */
export function compileOracle(query: JsonObject, regexes: ReadonlyMap<string, LinearRegex>): (value: unknown) => OracleVerdict {
  const { condition, operators } = prepareReferenceQuery(query, regexes);
  let env: Env | null = null;
  const getEnv = (): Env => env as Env;
  const ours: Record<string, QueryOperator> = { $and, $or, $nor, $not };
  for (const op of LEAF_OPERATORS) ours[op] = replaced(op, getEnv);
  const oracle = operatorOptions(ours);
  env = { nativeOperators: operators, native: operatorOptions(operators), oracle };
  const q = new Query(condition, oracle);
  return (value) => {
    fired = new Set();
    const matches = isObject(value) && q.test(value);
    return { matches, deviations: fired };
  };
}

/** For messages: the values of a JSON value a path names, as the oracle sees them. */
export function describeValues(root: JsonValue, path: string): string {
  return pathValues(root, path, true)
    .map((v) => (v === MISSING ? "<missing>" : JSON.stringify(v)))
    .join(", ");
}
