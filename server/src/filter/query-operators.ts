// The leaf operators as tests on one value (`undefined` is a missing value),
// each literal classified by type at compile time. How a test is applied to
// the values of a path (any of them; negations over all of them) is
// query-compile.ts's business.

import { spendRegexWork, spendSteps } from "./budget.js";
import { canonicalJson, type JsonValue } from "./json.js";
import { compareStrings, compareValues, compileEquals, hasUtf16Order, isPlainObject, type ValueTest } from "./compare.js";
import { MAX_REGEX_INPUT } from "./limits.js";
import type { LinearRegex } from "./regex.js";

export type RangeOperator = "$gt" | "$gte" | "$lt" | "$lte";

/** Whether an order comparison result `c` (of value against literal) satisfies the operator. */
function orderTest(op: RangeOperator): (c: number) => boolean {
  switch (op) {
    case "$gt":
      return (c) => c > 0;
    case "$gte":
      return (c) => c >= 0;
    case "$lt":
      return (c) => c < 0;
    case "$lte":
      return (c) => c <= 0;
  }
}

/**
 * $gt, $gte, $lt, $lte: only values of the literal's type compare (a number
 * never against a string); null is only equal to null and missing, so $gte
 * and $lte null match those and $gt, $lt null match nothing.
 */
export function compileRange(op: RangeOperator, lit: JsonValue): ValueTest {
  if (lit === null) return op === "$gte" || op === "$lte" ? (v) => v === null || v === undefined : () => false;
  switch (typeof lit) {
    case "number":
    case "boolean": {
      // Numbers, and false < true, compare with JavaScript's operators.
      const type = typeof lit;
      const bound = lit as number; // false < true as 0 < 1
      switch (op) {
        case "$gt":
          return (v) => typeof v === type && (v as number) > bound;
        case "$gte":
          return (v) => typeof v === type && (v as number) >= bound;
        case "$lt":
          return (v) => typeof v === type && (v as number) < bound;
        case "$lte":
          return (v) => typeof v === type && (v as number) <= bound;
      }
      break;
    }
    case "string":
      return compileStringRange(op, lit);
    default:
      break;
  }
  const accepts = orderTest(op);
  const sameType: (v: unknown) => boolean = Array.isArray(lit) ? Array.isArray : isPlainObject;
  return (v) => sameType(v) && accepts(compareValues(v, lit));
}

function compileStringRange(op: RangeOperator, lit: string): ValueTest {
  if (!hasUtf16Order(lit)) {
    const accepts = orderTest(op);
    return (v) => typeof v === "string" && accepts(compareStrings(v, lit));
  }
  switch (op) {
    case "$gt":
      return (v) => typeof v === "string" && v > lit;
    case "$gte":
      return (v) => typeof v === "string" && v >= lit;
    case "$lt":
      return (v) => typeof v === "string" && v < lit;
    case "$lte":
      return (v) => typeof v === "string" && v <= lit;
  }
}

/** The literals of $in or $all sorted by type, duplicates removed, for lookups instead of scans. */
class LiteralSet {
  readonly numbers = new Map<number, number>();
  readonly strings = new Map<string, number>();
  /** Index of true / false / null among the distinct literals, or -1. */
  trueAt = -1;
  falseAt = -1;
  nullAt = -1;
  /** Arrays and objects, with their index. */
  readonly containers: Array<{ readonly equals: ValueTest; readonly at: number }> = [];
  /** Distinct literals. */
  size = 0;

  constructor(literals: readonly JsonValue[]) {
    const seen = new Set<string>();
    for (const lit of literals) {
      const key = canonicalJson(lit); // equal literals (0 and -0, members in any order) have one key
      if (seen.has(key)) continue;
      seen.add(key);
      const at = this.size++;
      if (typeof lit === "number") this.numbers.set(lit, at);
      else if (typeof lit === "string") this.strings.set(lit, at);
      else if (lit === true) this.trueAt = at;
      else if (lit === false) this.falseAt = at;
      else if (lit === null) this.nullAt = at;
      else this.containers.push({ equals: compileEquals(lit), at });
    }
  }

  /** The index of the literal `v` equals (as {$eq: literal} sees one value), or -1. */
  indexOf(v: unknown): number {
    switch (typeof v) {
      case "number":
        return this.numbers.get(v) ?? -1;
      case "string":
        return this.strings.get(v) ?? -1;
      case "boolean":
        return v ? this.trueAt : this.falseAt;
      case "undefined":
        return this.nullAt;
      default:
        if (v === null) return this.nullAt;
        spendSteps(this.containers.length);
        for (const c of this.containers) if (c.equals(v)) return c.at;
        return -1;
    }
  }
}

/** Up to this many $in values, a scan beats a hash lookup. */
const SCAN_UP_TO = 8;

/** $in: the value equals one of the literals ({$in: [null]} matches a missing value too). */
export function compileIn(literals: readonly JsonValue[]): ValueTest {
  if (literals.length === 1) return compileEquals(literals[0] as JsonValue);
  const set = new LiteralSet(literals);
  if (set.containers.length === 0 && set.trueAt < 0 && set.falseAt < 0 && set.nullAt < 0) {
    // The usual case, strings and numbers: no dispatch beyond typeof; a few
    // of them are found faster by === than by hashing.
    const { numbers, strings } = set;
    if (set.size <= SCAN_UP_TO) {
      const scalars: Array<string | number> = [...strings.keys(), ...numbers.keys()];
      return (v) => {
        for (let i = 0; i < scalars.length; i++) if (v === scalars[i]) return true;
        return false;
      };
    }
    return (v) => (typeof v === "string" ? strings.has(v) : typeof v === "number" && numbers.has(v));
  }
  return (v) => set.indexOf(v) >= 0;
}

/**
 * The plain values of $all ({"$all": [v1, v2]} is {"$and": [{$eq: v1}, {$eq:
 * v2}]} over the same path) found in one walk over the path instead of one
 * walk per value: each value seen is marked, and the walk stops when all are.
 * Marks are generation numbers, so starting over costs nothing.
 */
export class AllValues {
  private readonly set: LiteralSet;
  private readonly marks: Uint32Array;
  private generation = 0;
  private found = 0;

  constructor(literals: readonly JsonValue[]) {
    this.set = new LiteralSet(literals);
    this.marks = new Uint32Array(this.set.size);
  }

  /** Forgets the values seen; call before each walk. */
  begin(): void {
    this.found = 0;
    this.generation++;
    if (this.generation === 0xffffffff) {
      this.marks.fill(0);
      this.generation = 1;
    }
  }

  /** Marks the literal `v` equals; true once every literal has been seen since begin(). */
  readonly see: ValueTest = (v) => {
    const at = this.set.indexOf(v);
    if (at >= 0 && this.marks[at] !== this.generation) {
      this.marks[at] = this.generation;
      this.found++;
    }
    return this.found === this.set.size;
  };
}

const NUMBER_TYPES = new Set<JsonValue>(["double", "decimal", "number", 1, 19]);
const INTEGER_TYPES = new Set<JsonValue>(["int", "long", 16, 18]);

/**
 * $type with the aliases and codes query-validate.ts accepts. JSON numbers
 * are doubles, decimals and numbers; the integral ones (Number.isInteger,
 * including -0 and 1e300) are also int and long, as in mingo.
 */
export function compileType(types: JsonValue): ValueTest {
  const list = Array.isArray(types) ? types : [types];
  const has = (...names: JsonValue[]): boolean => names.some((n) => list.includes(n));
  const anyNumber = list.some((t) => NUMBER_TYPES.has(t));
  const integer = list.some((t) => INTEGER_TYPES.has(t));
  const string = has("string", 2);
  const object = has("object", 3);
  const array = has("array", 4);
  const bool = has("bool", 8);
  const isNull = has("null", 10);
  return (v) => {
    switch (typeof v) {
      case "number":
        return anyNumber || (integer && Number.isInteger(v));
      case "string":
        return string;
      case "boolean":
        return bool;
      case "object":
        return v === null ? isNull : Array.isArray(v) ? array : object;
      default:
        return false; // missing
    }
  };
}

// The dividends MongoDB's $mod accepts: doubles that truncate to a 64-bit integer.
const INT64_MIN = -(2 ** 63);
const INT64_END = 2 ** 63;

/**
 * $mod as MongoDB does it: numbers only (not "5"), truncated toward zero, the
 * remainder taking the dividend's sign (like JavaScript's %); a dividend
 * outside the 64-bit integer range matches nothing. Below 2^53 the double
 * arithmetic is exact, and above it every double is an integer that % divides
 * exactly, so the result is the 64-bit one.
 */
export function compileMod(divisor: number, remainder: number): ValueTest {
  return (v) => {
    if (typeof v !== "number") return false;
    const t = Math.trunc(v);
    return t >= INT64_MIN && t < INT64_END && t % divisor === remainder;
  };
}

/** The part of `s` a regex sees: at most MAX_REGEX_INPUT code units, without splitting a surrogate pair. */
export function regexInput(s: string): string {
  if (s.length <= MAX_REGEX_INPUT) return s;
  const end = MAX_REGEX_INPUT - (s.charCodeAt(MAX_REGEX_INPUT - 1) >= 0xd800 && s.charCodeAt(MAX_REGEX_INPUT - 1) <= 0xdbff ? 1 : 0);
  return s.slice(0, end);
}

/**
 * A pattern that is a plain string, maybe anchored (`error`, `^user-`,
 * `.json$` written as `\.json$` is not one), matched by the string methods,
 * which are much faster than re2js and agree with it exactly: RE2's `$`
 * without the m flag is the end of the text, and without surrogates UTF-16
 * substrings are code point substrings. Null for any other pattern.
 */
function plainStringTest(source: string, options: string): ((s: string) => boolean) | null {
  if (options !== "" && options !== "s") return null; // i folds case, m makes ^ and $ line anchors
  const start = source.startsWith("^");
  const end = source.endsWith("$") && source.length > (start ? 1 : 0);
  const body = source.slice(start ? 1 : 0, end ? -1 : undefined);
  if (/[\\.+*?()|[\]{}^$\ud800-\udfff]/.test(body)) return null;
  if (start && end) return (s) => s === body;
  if (start) return (s) => s.startsWith(body);
  if (end) return (s) => s.endsWith(body);
  return (s) => s.includes(body);
}

/** $regex on the RE2 engine: strings only, on their first MAX_REGEX_INPUT characters, charged to the budget. */
export function compileRegexTest(re: LinearRegex): ValueTest {
  const size = re.programSize;
  const plain = plainStringTest(re.source, re.options);
  const match = plain ?? ((s: string) => re.test(s));
  return (v) => {
    if (typeof v !== "string") return false;
    const input = regexInput(v);
    spendRegexWork(input.length, size);
    return match(input);
  };
}
