// Validation of MongoDB query documents from untrusted clients, against a
// whitelist of query operators that only compare data (nothing that runs
// code, evaluates expressions or is unknown). The result is the normalised
// query tree; its canonical JSON is part of the stream id.

import { FilterError } from "./errors.js";
import { element, isJsonObject, member, type JsonObject, type JsonValue } from "./json.js";
import {
  MAX_PATH_SEGMENTS,
  MAX_QUERY_CONDITIONS,
  MAX_QUERY_LIST,
  MAX_QUERY_REGEX_PROGRAM,
  MAX_QUERY_REGEXES,
} from "./limits.js";
import { compileRegex, normaliseRegexOptions, type LinearRegex } from "./regex.js";

/** Every operator a query may use, in the order error messages list them. */
export const ALLOWED_QUERY_OPERATORS = [
  "$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin",
  "$exists", "$type", "$size", "$all", "$elemMatch",
  "$and", "$or", "$nor", "$not", "$mod", "$regex", "$options",
] as const;

const ALLOWED_LIST = ALLOWED_QUERY_OPERATORS.join(", ");
const LOGICAL = new Set(["$and", "$or", "$nor"]);
const FIELD_LEVEL = new Set<string>(ALLOWED_QUERY_OPERATORS.filter((op) => !LOGICAL.has(op)));

/** Why well-known operators are refused; anything else is "unknown operator". */
const REFUSED: Readonly<Record<string, string>> = {
  $where: "it runs code",
  $function: "it runs code",
  $accumulator: "it runs code",
  $expr: "aggregation expressions are not supported",
  $jsonSchema: "JSON Schema validation is not supported",
  $text: "text search is not supported",
  $search: "text search is not supported",
  $geoWithin: "geospatial queries are not supported",
  $geoIntersects: "geospatial queries are not supported",
  $near: "geospatial queries are not supported",
  $nearSphere: "geospatial queries are not supported",
  $within: "geospatial queries are not supported",
  $bitsAllSet: "bitwise operators are not supported",
  $bitsAllClear: "bitwise operators are not supported",
  $bitsAnySet: "bitwise operators are not supported",
  $bitsAnyClear: "bitwise operators are not supported",
  $comment: "comments are not supported",
  $sampleRate: "sampling is not supported",
  $slice: "it is a projection operator",
  $meta: "it is a projection operator",
};

/**
 * `$type` aliases and codes that mean something for JSON values (and that the
 * evaluator implements): double, string, object, array, bool, null, int,
 * long, decimal, number (plus the BSON codes of these).
 */
const TYPE_ALIASES = new Set(["double", "string", "object", "array", "bool", "null", "int", "long", "decimal", "number"]);
const TYPE_CODES = new Set([1, 2, 3, 4, 8, 10, 16, 18, 19]);

/** What validation learned besides the normalised tree. */
export interface ValidatedQuery {
  /** The normalised query ({} when it matches everything). */
  readonly query: JsonObject;
  /** The compiled regexes, by regexKey(pattern, options). */
  readonly regexes: ReadonlyMap<string, LinearRegex>;
}

export function regexKey(pattern: string, options: string): string {
  return `${options}/${pattern}`;
}

interface State {
  regexes: Map<string, LinearRegex>;
  regexProgram: number;
  /** `$regex` occurrences so far. */
  regexCount: number;
  /** Field conditions and operators so far (MAX_QUERY_CONDITIONS). */
  conditions: number;
}

function fail(location: string, problem: string): never {
  throw new FilterError("query", location, problem);
}

function notAllowed(op: string, location: string): never {
  const reason = REFUSED[op] ?? "unknown operator";
  fail(location, `operator ${op} is not allowed (${reason}); allowed: ${ALLOWED_LIST}`);
}

const isOperatorName = (k: string): boolean => k.startsWith("$");

function describe(v: JsonValue): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "object") return "an object";
  return `a ${typeof v}`;
}

/** Validates a parsed query (the root must be an object) and returns it normalised. */
export function validateQuery(root: JsonValue): ValidatedQuery {
  const state: State = { regexes: new Map(), regexProgram: 0, regexCount: 0, conditions: 0 };
  if (!isJsonObject(root)) fail("query", `must be a JSON object (a query document), not ${describe(root)}`);
  const query = queryDocument(root, "query", state);
  return { query, regexes: state.regexes };
}

/**
 * Counts one field condition or operator. The compiled query evaluates each
 * of them over the message, so their number bounds the work per message.
 */
function countCondition(location: string, state: State): void {
  state.conditions += 1;
  if (state.conditions > MAX_QUERY_CONDITIONS) {
    fail(
      location,
      `too many conditions: a query may have at most ${MAX_QUERY_CONDITIONS} field conditions and operators in all (limit ${MAX_QUERY_CONDITIONS})`,
    );
  }
}

/** The value list of $in, $nin or $all: every value is compared with every value of the path. */
function checkListLength(op: string, list: readonly JsonValue[], location: string): void {
  if (list.length > MAX_QUERY_LIST) {
    fail(location, `${op} has too many values: ${list.length} (limit ${MAX_QUERY_LIST})`);
  }
}

/** A query document: field conditions and $and / $or / $nor. */
function queryDocument(doc: JsonValue, location: string, state: State): JsonObject {
  if (!isJsonObject(doc)) fail(location, `must be a query document (a JSON object), not ${describe(doc)}`);
  const out: JsonObject = {};
  for (const key of Object.keys(doc)) {
    const value = doc[key] as JsonValue;
    if (isOperatorName(key)) {
      if (LOGICAL.has(key)) {
        countCondition(member(location, key), state);
        out[key] = logical(key, value, member(location, key), state);
      } else if (FIELD_LEVEL.has(key) || key === "$not") {
        fail(location, `operator ${key} must be applied to a field, e.g. {"price": {"${key}": ...}}; only $and, $or and $nor may appear here`);
      } else {
        notAllowed(key, location);
      }
    } else {
      checkFieldPath(key, location);
      countCondition(member(location, key), state);
      out[key] = fieldCondition(value, member(location, key), state);
    }
  }
  return out;
}

function logical(op: string, value: JsonValue, location: string, state: State): JsonValue[] {
  if (!Array.isArray(value) || value.length === 0) {
    fail(location, `${op} needs a non-empty array of query documents`);
  }
  return value.map((d, i) => queryDocument(d, element(location, i), state));
}

/**
 * A field path like `a.b.0.c`: non-empty segments that do not start with "$"
 * and are not "__proto__" (the JSON tree check refuses that name as a key).
 */
function checkFieldPath(path: string, location: string): void {
  const segments = path.split(".");
  const invalid = (problem: string): never => fail(location, `invalid field path ${JSON.stringify(path)}: ${problem}`);
  if (segments.length > MAX_PATH_SEGMENTS) {
    invalid(`too many segments: ${segments.length} (limit ${MAX_PATH_SEGMENTS})`);
  }
  for (const s of segments) {
    if (s === "") invalid("empty path segment");
    if (s.startsWith("$")) invalid('a path segment may not start with "$"');
    if (s === "__proto__") invalid('the name "__proto__" is not allowed');
  }
}

/** The condition on one field: an operator object, or a literal to compare for equality. */
function fieldCondition(value: JsonValue, location: string, state: State): JsonValue {
  if (isJsonObject(value)) {
    const keys = Object.keys(value);
    const ops = keys.filter(isOperatorName);
    if (ops.length > 0) {
      if (ops.length !== keys.length) {
        const field = keys.find((k) => !isOperatorName(k)) ?? "";
        fail(
          location,
          `cannot mix operators (${ops[0]}) and field names (${JSON.stringify(field)}) in one condition; use dotted paths like "a.b" for nested fields`,
        );
      }
      return operators(value, location, state);
    }
  }
  literal(value, location);
  return value;
}

/** A value compared for equality: objects in it may not have "$" names (they would look like operators). */
function literal(value: JsonValue, location: string): void {
  if (Array.isArray(value)) {
    value.forEach((v, i) => literal(v, element(location, i)));
  } else if (isJsonObject(value)) {
    for (const k of Object.keys(value)) {
      if (isOperatorName(k)) {
        if (LOGICAL.has(k) || FIELD_LEVEL.has(k) || k in REFUSED) {
          fail(
            location,
            `operator ${k} cannot appear inside a value compared for equality; for nested fields use a dotted path like {"a.b": {"${k}": ...}}`,
          );
        }
        fail(location, `field names starting with "$" are not supported in values (${JSON.stringify(k)})`);
      }
      literal(value[k] as JsonValue, member(location, k));
    }
  }
}

/** An object whose keys are all operators, applied to one field. */
function operators(cond: JsonObject, location: string, state: State): JsonObject {
  const out: JsonObject = {};
  for (const op of Object.keys(cond)) {
    const value = cond[op] as JsonValue;
    const at = member(location, op);
    if (op !== "$options") countCondition(at, state);
    switch (op) {
      case "$eq":
      case "$ne":
      case "$gt":
      case "$gte":
      case "$lt":
      case "$lte":
        literal(value, at);
        out[op] = value;
        break;
      case "$in":
      case "$nin":
        if (!Array.isArray(value)) fail(at, `${op} needs an array of values, not ${describe(value)}`);
        checkListLength(op, value, at);
        literal(value, at);
        out[op] = value;
        break;
      case "$exists":
        if (typeof value !== "boolean" && typeof value !== "number") {
          fail(at, `$exists needs true or false, not ${describe(value)}`);
        }
        out[op] = Boolean(value);
        break;
      case "$type":
        out[op] = typeSpec(value, at);
        break;
      case "$size":
        if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
          fail(at, `$size needs a non-negative integer, not ${JSON.stringify(value)}`);
        }
        out[op] = value;
        break;
      case "$all":
        out[op] = all(value, at, state);
        break;
      case "$elemMatch":
        out[op] = elemMatch(value, at, state);
        break;
      case "$not": {
        if (!isJsonObject(value) || Object.keys(value).length === 0 || !Object.keys(value).every(isOperatorName)) {
          fail(at, `$not needs an object of operators, e.g. {"$not": {"$gt": 5}} or {"$not": {"$regex": "^a"}}`);
        }
        out[op] = operators(value, at, state);
        break;
      }
      case "$mod":
        if (
          !Array.isArray(value) ||
          value.length !== 2 ||
          !value.every((n) => typeof n === "number" && Number.isSafeInteger(n))
        ) {
          fail(at, `$mod needs [divisor, remainder] (two integers), not ${JSON.stringify(value)}`);
        }
        if (value[0] === 0) fail(at, "$mod divisor must not be 0");
        out[op] = value;
        break;
      case "$regex": {
        if (typeof value !== "string") fail(at, `$regex needs a string (an RE2 pattern), not ${describe(value)}`);
        const rawOptions = cond["$options"];
        let options = "";
        if (rawOptions !== undefined) {
          if (typeof rawOptions !== "string") {
            fail(member(location, "$options"), `$options needs a string of flags, not ${describe(rawOptions)}`);
          }
          options = normaliseRegexOptions(rawOptions, "query", member(location, "$options"));
        }
        addRegex(value, options, at, state);
        out["$regex"] = value;
        if (options !== "") out["$options"] = options;
        break;
      }
      case "$options":
        if (!("$regex" in cond)) fail(at, "$options is only allowed beside $regex");
        break; // handled with $regex
      default:
        if (LOGICAL.has(op)) {
          fail(location, `operator ${op} is only allowed in a query document, not applied to a field`);
        }
        notAllowed(op, location);
    }
  }
  return out;
}

function typeSpec(value: JsonValue, location: string): JsonValue {
  const one = (t: JsonValue): void => {
    if (typeof t === "string" && TYPE_ALIASES.has(t)) return;
    if (typeof t === "number" && TYPE_CODES.has(t)) return;
    fail(
      location,
      `$type ${JSON.stringify(t)} is not supported; use one of ${[...TYPE_ALIASES].join(", ")} (or their numeric codes ${[...TYPE_CODES].join(", ")})`,
    );
  };
  if (Array.isArray(value)) {
    if (value.length === 0) fail(location, "$type needs a type or a non-empty array of types");
    value.forEach(one);
  } else {
    one(value);
  }
  return value;
}

function all(value: JsonValue, location: string, state: State): JsonValue[] {
  if (!Array.isArray(value)) fail(location, `$all needs an array, not ${describe(value)}`);
  checkListLength("$all", value, location);
  return value.map((v, i) => {
    const at = element(location, i);
    if (isJsonObject(v) && Object.keys(v).some(isOperatorName)) {
      const keys = Object.keys(v);
      if (keys.length !== 1 || keys[0] !== "$elemMatch") {
        fail(at, `$all takes values and {"$elemMatch": ...} objects only`);
      }
      countCondition(member(at, "$elemMatch"), state);
      return { $elemMatch: elemMatch(v["$elemMatch"] as JsonValue, member(at, "$elemMatch"), state) };
    }
    literal(v, at);
    return v;
  });
}

/**
 * $elemMatch takes either operators applied to each element
 * ({"$gt": 1, "$lt": 5}) or a query document over each element
 * ({"sku": "x", "qty": {"$gt": 2}}).
 */
function elemMatch(value: JsonValue, location: string, state: State): JsonObject {
  if (!isJsonObject(value)) fail(location, `$elemMatch needs an object, not ${describe(value)}`);
  const keys = Object.keys(value);
  if (keys.length > 0 && keys.every((k) => isOperatorName(k) && !LOGICAL.has(k))) {
    return operators(value, location, state);
  }
  return queryDocument(value, location, state);
}

function addRegex(pattern: string, options: string, location: string, state: State): void {
  state.regexCount += 1;
  if (state.regexCount > MAX_QUERY_REGEXES) {
    fail(location, `too many regexes: a query may use $regex at most ${MAX_QUERY_REGEXES} times (limit ${MAX_QUERY_REGEXES})`);
  }
  const key = regexKey(pattern, options);
  let re = state.regexes.get(key);
  if (!re) {
    re = compileRegex(pattern, options, "query", location);
    state.regexes.set(key, re);
  }
  state.regexProgram += re.programSize;
  if (state.regexProgram > MAX_QUERY_REGEX_PROGRAM) {
    fail(
      location,
      `the regexes of this query are too complex together: more than ${MAX_QUERY_REGEX_PROGRAM} compiled instructions in all`,
    );
  }
}
