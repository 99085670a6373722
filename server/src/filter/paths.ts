// Field paths: the values a dotted path names in a message, offered one by one
// to a test, as MongoDB's matcher enumerates them (src/mongo/db/matcher/path.cpp):
//
// - Objects are walked member by member. A scalar (or null) where the path
//   goes on, or a member that is not there, gives one missing value.
// - An array where the path goes on is traversed: each element that is an
//   object continues the walk (elements that are arrays or scalars give
//   nothing; so an array of scalars gives no value at all, not a missing one),
//   unless the next segment is a number: then only the element at that
//   position continues (nothing if there is none), an array element being
//   traversed in turn.
// - A final array gives its elements and then itself, or only itself for
//   operators on whole arrays ($size, $elemMatch). An array selected by a
//   final number ("a.0") is one value.
//
// One difference from MongoDB, kept for the filter index (index-term.ts
// extracts keys with mingo's path rules, which must see at least what the
// evaluator sees): a number segment on an array only selects by position;
// MongoDB also looks for a member of that name in the array's object elements.
//
// The path is split once; the walk allocates nothing and recurses only when it
// crosses an array, which consumes a segment, so its depth is bounded by the
// path (MAX_PATH_SEGMENTS), never by the value.

import { spendSteps } from "./budget.js";
import { isPlainObject, type ValueTest } from "./compare.js";

export interface PathOptions {
  /** Offer a final array's elements before the array itself (true for all but $size and $elemMatch). */
  readonly expandLeafArrays: boolean;
  /** The walk may start at an array, which $elemMatch treats as a document whose members are its positions. */
  readonly rootMayBeArray: boolean;
  /**
   * When the test is equality with this string, number or boolean, a value
   * identical to it is a match without calling the test: the shortcut for
   * the most common condition, {"field": "value"}.
   */
  readonly equals?: string | number | boolean | undefined;
  /** Likewise when the test is an order comparison with a number ({"$gt": 5}): numbers are decided without the call. */
  readonly numberRange?: NumberRange | undefined;
}

export interface NumberRange {
  readonly op: "$gt" | "$gte" | "$lt" | "$lte";
  readonly bound: number;
}

/** Matches when the test accepts one of the values the path names in `root` (an object, or an array if allowed). */
export type PathMatcher = (root: object) => boolean;

const DIGITS = /^[0-9]+$/;

/** The position a segment selects in an array ("01" is 1, as in mingo), or -1 for a member name. */
function positionOf(segment: string): number {
  return DIGITS.test(segment) ? Number(segment) : -1;
}

export function compilePath(path: string, test: ValueTest, options: PathOptions): PathMatcher {
  const segments = path.split(".");
  const positions = segments.map(positionOf);
  // A plain object inherits these names from Object.prototype; a member of
  // that name must be its own to count.
  const inherited = segments.map((s) => s in Object.prototype);
  const last = segments.length - 1;
  const { expandLeafArrays, rootMayBeArray } = options;

  const member = (o: object, i: number): unknown => {
    const name = segments[i] as string;
    if (inherited[i] && !Object.prototype.hasOwnProperty.call(o, name)) return undefined;
    return (o as Record<string, unknown>)[name];
  };

  const leafArray = (a: unknown[]): boolean => {
    if (expandLeafArrays) {
      spendSteps(a.length);
      for (let j = 0; j < a.length; j++) if (test(a[j])) return true;
    }
    return test(a);
  };

  /** Member i of a document; an array standing as a document has its positions as members. */
  const firstMember = (doc: object, i: number): unknown => {
    if (!Array.isArray(doc)) return member(doc, i);
    const position = positions[i] as number;
    return position >= 0 ? doc[position] : undefined;
  };

  /** From segment i on, starting at an object (or, at the root, an array as a document). */
  const fromDocument = (doc: object, i: number): boolean => {
    let v = firstMember(doc, i);
    for (;;) {
      if (v === undefined) return test(undefined);
      if (Array.isArray(v)) return fromArray(v, i);
      if (i === last) return test(v);
      if (!isPlainObject(v)) return test(undefined);
      i++;
      v = member(v, i);
    }
  };

  /** `a` is the value at segment i, and the path goes on after it (or ends there). */
  const fromArray = (a: unknown[], i: number): boolean => {
    if (i === last) return leafArray(a);
    const next = i + 1;
    const position = positions[next] as number;
    if (position >= 0) {
      const e = a[position];
      if (e === undefined) return false;
      if (next === last) return test(e);
      if (Array.isArray(e)) return fromArray(e, next);
      return isPlainObject(e) && fromDocument(e, next + 1);
    }
    spendSteps(a.length);
    for (let j = 0; j < a.length; j++) {
      const e = a[j];
      if (isPlainObject(e) && fromDocument(e, next)) return true;
    }
    return false;
  };

  if (rootMayBeArray || inherited.some(Boolean)) return (root) => fromDocument(root, 0);
  const lit = options.equals;

  if (last === 0) {
    // The most common paths, top-level fields, without the loop.
    const name = segments[0] as string;
    if (lit !== undefined) {
      // Only an array can hold the literal otherwise (missing or any other scalar cannot equal it).
      return (root) => {
        const v = (root as Record<string, unknown>)[name];
        return v === lit || (Array.isArray(v) && leafArray(v));
      };
    }
    if (options.numberRange) return topLevelNumberRange(name, options.numberRange, leafArray);
    return (root) => {
      const v = (root as Record<string, unknown>)[name];
      if (v === undefined) return test(undefined);
      return Array.isArray(v) ? leafArray(v) : test(v);
    };
  }

  // Plain member names from a plain object: the walk of fromDocument without
  // its per-segment checks, until an array or the end.
  const names = segments;
  return (root) => {
    let v = (root as Record<string, unknown>)[names[0] as string];
    let i = 0;
    for (;;) {
      if (v === undefined) return test(undefined);
      if (Array.isArray(v)) return fromArray(v, i);
      if (i === last) return v === lit || test(v);
      if (typeof v !== "object" || v === null) return test(undefined);
      i++;
      v = (v as Record<string, unknown>)[names[i] as string];
    }
  };
}

/** A top-level field compared with a number: only numbers, and arrays holding them, can match. */
function topLevelNumberRange(name: string, range: NumberRange, leafArray: (a: unknown[]) => boolean): PathMatcher {
  const { bound } = range;
  const get = (root: object): unknown => (root as Record<string, unknown>)[name];
  switch (range.op) {
    case "$gt":
      return (root) => {
        const v = get(root);
        return typeof v === "number" ? v > bound : Array.isArray(v) && leafArray(v);
      };
    case "$gte":
      return (root) => {
        const v = get(root);
        return typeof v === "number" ? v >= bound : Array.isArray(v) && leafArray(v);
      };
    case "$lt":
      return (root) => {
        const v = get(root);
        return typeof v === "number" ? v < bound : Array.isArray(v) && leafArray(v);
      };
    case "$lte":
      return (root) => {
        const v = get(root);
        return typeof v === "number" ? v <= bound : Array.isArray(v) && leafArray(v);
      };
  }
}
