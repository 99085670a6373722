// Equality and order of JSON values, as the query operators see them.
//
// MongoDB's rules restricted to what JSON.parse produces, with two choices of
// our own (docs/query-semantics.md): objects are equal and ordered regardless
// of member order (the canonical form of a query sorts its members, so the
// written order cannot matter), and all numbers are one type (doubles).
//
// Literals come from the query and are known at compile time, so equality is
// compiled into a test per literal. The values tested come from messages, so
// loops over them are charged to the evaluation budget.

import { spendSteps } from "./budget.js";
import type { JsonValue } from "./json.js";

/** A test on one value of a message; `undefined` stands for a missing value. */
export type ValueTest = (v: unknown) => boolean;

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * MongoDB's order of types (canonical BSON types) for the JSON ones: values
 * of different types are never equal, and only compare in this order inside
 * arrays and objects.
 */
export function typeRank(v: unknown): number {
  switch (typeof v) {
    case "number":
      return 2;
    case "string":
      return 3;
    case "boolean":
      return 6;
    case "object":
      return v === null ? 1 : Array.isArray(v) ? 5 : 4;
    default:
      return 0;
  }
}

const isHighSurrogate = (c: number): boolean => c >= 0xd800 && c <= 0xdbff;
const isLowSurrogate = (c: number): boolean => c >= 0xdc00 && c <= 0xdfff;

/**
 * Code point order, which is MongoDB's (it compares UTF-8 bytes). JavaScript's
 * `<` compares UTF-16 code units instead, which puts characters beyond U+FFFF
 * (surrogate pairs) before U+E000..U+FFFF. A lone surrogate counts as its own
 * code point.
 */
export function compareStrings(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  if (i === n) return a.length < b.length ? -1 : 1;
  const x = a.charCodeAt(i);
  const y = b.charCodeAt(i);
  if (x < 0xd800 && y < 0xd800) return x < y ? -1 : 1;
  // The code points differ at the one that contains unit i, which starts one
  // unit earlier when i is the second half of a pair both strings share.
  const at = i > 0 && isHighSurrogate(a.charCodeAt(i - 1)) && (isLowSurrogate(x) || isLowSurrogate(y)) ? i - 1 : i;
  const p = a.codePointAt(at) as number;
  const q = b.codePointAt(at) as number;
  return p < q ? -1 : p > q ? 1 : a.length < b.length ? -1 : 1;
}

/** True if `<` on UTF-16 code units orders `s` against any string as code points do. */
export function hasUtf16Order(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) >= 0xd800) return false;
  return true;
}

const sortedKeys = (o: Record<string, unknown>): string[] => Object.keys(o).sort(compareStrings);

/**
 * MongoDB's order of two JSON values (BSON comparison): by type rank, then
 * numbers numerically, strings by code point, false < true, arrays element
 * by element (a prefix first), objects member by member with members sorted
 * by name (type rank, then name, then value; fewer members first).
 */
export function compareValues(a: unknown, b: unknown): number {
  const ra = typeRank(a);
  const rb = typeRank(b);
  if (ra !== rb) return ra < rb ? -1 : 1;
  switch (ra) {
    case 2:
    case 6:
      return (a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0;
    case 3:
      return compareStrings(a as string, b as string);
    case 4:
      return compareObjects(a as Record<string, unknown>, b as Record<string, unknown>);
    case 5:
      return compareArrays(a as unknown[], b as unknown[]);
    default:
      return 0;
  }
}

function compareArrays(a: unknown[], b: unknown[]): number {
  const n = Math.min(a.length, b.length);
  spendSteps(n);
  for (let i = 0; i < n; i++) {
    const c = compareValues(a[i], b[i]);
    if (c !== 0) return c;
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

function compareObjects(a: Record<string, unknown>, b: Record<string, unknown>): number {
  const ka = sortedKeys(a);
  const kb = sortedKeys(b);
  const n = Math.min(ka.length, kb.length);
  spendSteps(ka.length + kb.length);
  for (let i = 0; i < n; i++) {
    const x = a[ka[i] as string];
    const y = b[kb[i] as string];
    const rx = typeRank(x);
    const ry = typeRank(y);
    if (rx !== ry) return rx < ry ? -1 : 1;
    const names = compareStrings(ka[i] as string, kb[i] as string);
    if (names !== 0) return names;
    const c = compareValues(x, y);
    if (c !== 0) return c;
  }
  return ka.length === kb.length ? 0 : ka.length < kb.length ? -1 : 1;
}

/** Own enumerable members; for...in allocates nothing, and JSON objects inherit none. */
function memberCount(o: Record<string, unknown>): number {
  let n = 0;
  for (const _ in o) n++;
  return n;
}

/**
 * Equality with a literal inside an array or object literal: null is only
 * null there (a missing member is not equal to a null one).
 */
function compileInnerEquals(lit: JsonValue): ValueTest {
  if (lit === null) return (v) => v === null;
  if (Array.isArray(lit)) return compileArrayEquals(lit);
  if (typeof lit === "object") return compileObjectEquals(lit);
  return (v) => v === lit;
}

function compileArrayEquals(lit: readonly JsonValue[]): ValueTest {
  const elements = lit.map(compileInnerEquals);
  const n = elements.length;
  return (v) => {
    if (!Array.isArray(v) || v.length !== n) return false;
    spendSteps(n);
    for (let i = 0; i < n; i++) if (!(elements[i] as ValueTest)(v[i])) return false;
    return true;
  };
}

function compileObjectEquals(lit: { readonly [key: string]: JsonValue }): ValueTest {
  const keys = Object.keys(lit);
  const values = keys.map((k) => compileInnerEquals(lit[k] as JsonValue));
  const n = keys.length;
  // An inherited member (say `constructor`) is a function or Object.prototype,
  // which equals no JSON literal, so reading o[k] needs no own-property check.
  return (v) => {
    if (!isPlainObject(v)) return false;
    spendSteps(n);
    if (memberCount(v) !== n) return false;
    for (let i = 0; i < n; i++) if (!(values[i] as ValueTest)(v[keys[i] as string])) return false;
    return true;
  };
}

/**
 * Equality of one value with a literal, as {$eq: literal} sees one value: a
 * number equals only the same number (0 and -0 are equal), a string only the
 * same string, null equals null and a missing value, arrays are equal element
 * by element, objects member by member in any order.
 */
export function compileEquals(lit: JsonValue): ValueTest {
  if (lit === null) return (v) => v === null || v === undefined;
  return compileInnerEquals(lit);
}
