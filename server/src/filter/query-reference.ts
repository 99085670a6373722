// The reference query evaluator: mingo, as the service used it before the
// compiled evaluator (query-compile.ts). It is no longer on the hot path; the
// differential test and bench/predicate.mjs compare the compiled evaluator
// with it, and docs/query-semantics.md lists where the two deliberately differ.
//
// Defence in depth (it still evaluates untrusted filters in tests and benches): the mingo Query gets a Context holding only the
// whitelisted query operators (not mingo's default context, which has $where,
// $expr, $function...), and scripts are disabled. `$regex` is never handed to
// mingo, because mingo would compile it into a native, backtracking RegExp:
// every {$regex, $options} is rewritten into an internal operator whose value
// is the index of a regex compiled with re2js (linear time).

import { Context } from "mingo/core";
import {
  $all, $and, $elemMatch, $eq, $exists, $gt, $gte, $in, $lt, $lte, $ne, $nin, $nor, $not, $or, $size, $type,
} from "mingo/operators/query";
import { Query } from "mingo/query";
import type { AnyObject, Options, QueryOperator } from "mingo/types";
import { resolve } from "mingo/util";
import { isJsonObject, type JsonObject, type JsonValue } from "./json.js";
import { regexKey } from "./query-validate.js";
import type { LinearRegex } from "./regex.js";

/**
 * The internal name `$regex` is rewritten to. Clients cannot use it: it is not
 * on the whitelist, so validation rejects it as an unknown operator.
 */
export const LINEAR_REGEX_OP = "$linearRegex";

/**
 * $mod as in MongoDB: numbers only (mingo's would coerce "5" to 5), truncated
 * to integers first; an array field matches if an element does.
 */
const modOperator = ((selector: string, value: unknown, _options: Options) => {
  const [divisor, remainder] = value as [number, number];
  const test = (x: unknown): boolean => typeof x === "number" && Math.trunc(x) % divisor === remainder;
  return (obj: AnyObject): boolean => {
    const lhs = resolve(obj, selector, { unwrapArray: true });
    return Array.isArray(lhs) ? lhs.some(test) : test(lhs);
  };
}) as QueryOperator;

/** The whitelisted operators: mingo's, except $mod, and $regex (below). */
const WHITELISTED_OPS = {
  $eq, $ne, $gt, $gte, $lt, $lte, $in, $nin, $exists, $type, $size, $all, $elemMatch, $and, $or, $nor, $not,
  $mod: modOperator,
} as const;

/**
 * The linear-time regex operator: like mingo's $regex (a string field, or a
 * string in an array field, or in an array nested one level, matches) but
 * the match runs on an RE2 program. `value` is an index into `regexes`.
 */
function linearRegexOperator(regexes: readonly LinearRegex[]): QueryOperator {
  const op = (selector: string, value: unknown, _options: Options) => {
    const re = regexes[value as number];
    if (!re) throw new Error(`${LINEAR_REGEX_OP}: no regex #${String(value)}`);
    const test = (x: unknown): boolean => typeof x === "string" && re.test(x);
    return (obj: AnyObject): boolean => {
      const lhs = resolve(obj, selector, { unwrapArray: true });
      if (!Array.isArray(lhs)) return test(lhs);
      for (const x of lhs) {
        if (test(x)) return true;
        if (Array.isArray(x) && x.some(test)) return true;
      }
      return false;
    };
  };
  return op as QueryOperator;
}

/**
 * Rewrites every {$regex, $options} object into {$linearRegex: i}. Validation
 * guarantees that "$" names only occur in operator positions, so every
 * "$regex" member found anywhere is an operator.
 */
function rewriteRegexes(v: JsonValue, known: ReadonlyMap<string, LinearRegex>, used: LinearRegex[]): JsonValue {
  if (Array.isArray(v)) return v.map((x) => rewriteRegexes(x, known, used));
  if (!isJsonObject(v)) return v;
  const out: JsonObject = {};
  for (const k of Object.keys(v)) {
    const x = v[k] as JsonValue;
    if (k === "$options") continue;
    if (k === "$regex") {
      const options = typeof v["$options"] === "string" ? v["$options"] : "";
      const re = known.get(regexKey(x as string, options));
      if (!re) throw new Error(`regex ${JSON.stringify(x)} was not compiled during validation`);
      out[LINEAR_REGEX_OP] = used.length;
      used.push(re);
    } else {
      out[k] = rewriteRegexes(x, known, used);
    }
  }
  return out;
}

/** The whitelisted operators under the names the rewritten condition uses. */
export type ReferenceOperators = Readonly<Record<string, QueryOperator>>;

/**
 * The query as mingo sees it: every {$regex, $options} replaced by
 * {$linearRegex: i}, and the operators that implement it.
 */
export function prepareReferenceQuery(
  query: JsonObject,
  regexes: ReadonlyMap<string, LinearRegex>,
): { condition: AnyObject; operators: ReferenceOperators } {
  const used: LinearRegex[] = [];
  const condition = rewriteRegexes(query, regexes, used) as AnyObject;
  return { condition, operators: { ...WHITELISTED_OPS, [LINEAR_REGEX_OP]: linearRegexOperator(used) } };
}

/** The reference predicate (mingo); only JSON objects can match a non-empty query. */
export function compileQueryReference(
  query: JsonObject,
  regexes: ReadonlyMap<string, LinearRegex>,
): (value: unknown) => boolean {
  const { condition, operators } = prepareReferenceQuery(query, regexes);
  const context = Context.init({ query: operators });
  const mingo = new Query(condition, { context, scriptEnabled: false });
  return (value: unknown): boolean => {
    if (!isJsonObject(value)) return false;
    try {
      return mingo.test(value);
    } catch {
      // A value mingo cannot evaluate (none is known) does not match rather
      // than breaking the reader that evaluates it.
      return false;
    }
  };
}
