// A filter's index condition (filter/index-term.ts) bound to the index's
// paths and terms: what the index files the filter under, and the cheap check
// of its other terms against the keys already extracted from a value.
//
// Choosing the filing: a term costs the share of values that hold it (from
// the statistics); "and" costs its cheapest member (filing under any member
// is sound, since all must hold) or its cheapest pair of terms (filed under
// the first term, then the second: postings.ts), "or" the sum of its
// members' (the filter is filed under a term of every branch). So a filter
// lands where the fewest values will reach it.
//
// Every node is one class with the same fields (a numeric kind), so that the
// checks, which run for every candidate, see one object shape.

import type { IndexCondition, IndexTerm } from "../filter/index.js";
import type { IndexedPath, TermCounter } from "./indexed-path.js";
import type { TermStats } from "./term-stats.js";
import { internalize, type Scalar } from "./value-path.js";

/** Above this many values an equality check uses a Set, below it a scan. */
const SET_ABOVE = 8;
/**
 * The cost of a pair is share(first) * (share(second) + SUB_LOOKUP): a value
 * holding the first term pays a lookup of the second path before any filter
 * filed there is reached. That lookup is shared by the filters filed there,
 * so per filter it is a fraction of what reaching a filter costs; measured on
 * bench/matcher.mjs, 0.02-0.3 differ by less than the noise.
 */
const SUB_LOOKUP = 0.1;
/** Pairs are formed among this many cheapest terms of an "and" (bounds the work for huge queries). */
const PAIR_CANDIDATES = 6;
/** A pair files one posting per combination of values: at most this many. */
const MAX_PAIR_POSTINGS = 64;

export const EQ = 0;
export const RANGE = 1;
export const AND = 2;
export const OR = 3;
/** A string at the path contains `single` (a check only: never filed under). */
export const HAS = 4;
export type NodeKind = typeof EQ | typeof RANGE | typeof AND | typeof OR | typeof HAS;

export class PlanNode {
  /** EQ / RANGE: a term; AND / OR: a group of `of`. */
  readonly kind: NodeKind;
  /** The tested path (terms; null for groups). */
  readonly path: IndexedPath | null;
  /** EQ: the value holds one of `values` (each a term of the path). */
  readonly values: readonly Scalar[];
  readonly counters: readonly TermCounter[];
  readonly set: ReadonlySet<Scalar> | null;
  /** EQ with one value: that value (read without touching `values`: checks run per candidate). */
  readonly single: Scalar | undefined;
  /** RANGE: a number > bound (lower, exclusive), >= (lower, inclusive), < or <=. */
  readonly lower: boolean;
  readonly inclusive: boolean;
  readonly bound: number;
  readonly of: readonly PlanNode[];

  constructor(
    kind: NodeKind,
    path: IndexedPath | null,
    values: readonly Scalar[],
    counters: readonly TermCounter[],
    lower: boolean,
    inclusive: boolean,
    bound: number,
    of: readonly PlanNode[],
  ) {
    this.kind = kind;
    this.path = path;
    this.values = values;
    this.counters = counters;
    this.set = values.length > SET_ABOVE ? new Set(values) : null;
    this.single = values.length === 1 ? values[0] : undefined;
    this.lower = lower;
    this.inclusive = inclusive;
    this.bound = bound;
    this.of = of;
  }

  static group(kind: typeof AND | typeof OR, of: readonly PlanNode[]): PlanNode {
    return new PlanNode(kind, null, [], [], false, false, 0, of);
  }
}

/** The index's paths, shared by all filters (reference-counted). */
export interface PathRegistry {
  acquirePath(path: string): IndexedPath;
  releasePath(p: IndexedPath): void;
}

export function bind(c: IndexCondition, paths: PathRegistry): PlanNode {
  switch (c.kind) {
    case "and":
    case "or":
      return PlanNode.group(c.kind === "and" ? AND : OR, c.of.map((x) => bind(x, paths)));
    case "has":
      // Interned: the checks of many filters compare with the same few texts, and a shared string stays cached.
      return new PlanNode(HAS, paths.acquirePath(c.path), [internalize(c.text)], [], false, false, 0, []);
    case "eq": {
      const path = paths.acquirePath(c.path);
      const counters = c.values.map((v) => path.acquireCounter(v));
      return new PlanNode(EQ, path, c.values, counters, false, false, 0, []);
    }
    default: {
      const path = paths.acquirePath(c.path);
      path.acquireRange();
      const lower = c.kind === "gt" || c.kind === "gte";
      const inclusive = c.kind === "gte" || c.kind === "lte";
      return new PlanNode(RANGE, path, [], [], lower, inclusive, c.bound, []);
    }
  }
}

export function release(n: PlanNode, paths: PathRegistry): void {
  const p = n.path;
  if (p === null) {
    for (const x of n.of) release(x, paths);
    return;
  }
  if (n.kind === EQ) for (const t of n.counters) p.releaseCounter(t);
  else if (n.kind === RANGE) p.releaseRange();
  paths.releasePath(p);
}

/** The share of values that satisfy a term node (an estimate, at most 1). */
export function termCost(n: PlanNode, stats: TermStats): number {
  if (n.kind === EQ) {
    let c = 0;
    for (const t of n.counters) c += stats.share(t);
    return Math.min(1, c);
  }
  const ring = n.path!.ring;
  if (!ring) return 1;
  return Math.min(1, stats.rangeShare(ring.hits(n.lower, n.bound, n.inclusive), ring.filled));
}

/** Filed under `first`, or under `first` then `second` (`first` is then an equality). */
export interface Unit {
  readonly first: PlanNode;
  readonly second: PlanNode | null;
}

export function unitCost(u: Unit, stats: TermStats): number {
  const c = termCost(u.first, stats);
  return u.second === null ? c : c * Math.min(1, termCost(u.second, stats) + SUB_LOOKUP);
}

const isTerm = (n: PlanNode): boolean => n.kind === EQ || n.kind === RANGE;

/**
 * Reaching a filter through a filing under `n`'s cheapest terms proves `n`
 * (given exact keys): `n` is a term, or an "or" of terms (filed under each).
 */
export const filingProves = (n: PlanNode): boolean => isTerm(n) || (n.kind === OR && n.of.every(isTerm));

/** The distinct paths a plan tests. */
export function planPaths(n: PlanNode, out: Set<IndexedPath> = new Set()): Set<IndexedPath> {
  if (n.path !== null) out.add(n.path);
  for (const x of n.of) planPaths(x, out);
  return out;
}

/** [0], [0, 1], ... up to PAIR_CANDIDATES (no allocation for small "and"s). */
const ALL_INDEXES: readonly (readonly number[])[] = Array.from({ length: PAIR_CANDIDATES + 1 }, (_, n) => Array.from({ length: n }, (_, i) => i));

/** The best way to file an "and": under member `i` (j < 0), or the pair of members i then j. */
export interface AndChoice {
  readonly cost: number;
  readonly i: number;
  readonly j: number;
}

export function bestOfAnd(n: PlanNode, stats: TermStats): AndChoice {
  const of = n.of;
  const costs = of.map((x) => cheapest(x, stats, null));
  let best: AndChoice = { cost: Infinity, i: 0, j: -1 };
  for (let i = 0; i < of.length; i++) if (costs[i]! < best.cost) best = { cost: costs[i]!, i, j: -1 };
  // Pairs of terms (among the cheapest few when there are many: this runs for every reconsidered filter).
  const terms =
    of.length <= PAIR_CANDIDATES
      ? ALL_INDEXES[of.length]!
      : of
          .map((_, i) => i)
          .filter((i) => isTerm(of[i]!))
          .sort((a, b) => costs[a]! - costs[b]!)
          .slice(0, PAIR_CANDIDATES);
  for (const i of terms) {
    const first = of[i]!;
    if (first.kind !== EQ) continue;
    for (const j of terms) {
      const second = of[j]!;
      if (j === i || !isTerm(second) || first.values.length * Math.max(1, second.values.length) > MAX_PAIR_POSTINGS) continue;
      const cost = costs[i]! * Math.min(1, costs[j]! + SUB_LOOKUP);
      if (cost < best.cost) best = { cost, i, j };
    }
  }
  return best;
}

/**
 * The cost of the cheapest sound filing of `n`; when `out` is given, appends
 * its units. Recursion is bounded by the query's nesting limit.
 */
export function cheapest(n: PlanNode, stats: TermStats, out: Unit[] | null): number {
  if (n.kind === HAS) return Infinity; // not fileable: an "and" files under another member, anything else is always a candidate
  if (n.kind === EQ || n.kind === RANGE) {
    out?.push({ first: n, second: null });
    return termCost(n, stats);
  }
  if (n.kind === OR) {
    let c = 0;
    for (const x of n.of) c += cheapest(x, stats, out);
    return c === Infinity ? c : Math.min(1, c); // a branch that cannot be filed: neither can the "or"
  }
  const choice = bestOfAnd(n, stats);
  if (out) {
    if (choice.j < 0) cheapest(n.of[choice.i]!, stats, out);
    else out.push({ first: n.of[choice.i]!, second: n.of[choice.j]! });
  }
  return choice.cost;
}

/** The condition term of a term node (for inspection). */
export function describeTerm(n: PlanNode): IndexTerm {
  const path = n.path!.path;
  if (n.kind === EQ) return { kind: "eq", path, values: n.values };
  const kind = n.lower ? (n.inclusive ? "gte" : "gt") : n.inclusive ? "lte" : "lt";
  return { kind, path, bound: n.bound };
}

/**
 * Whether the value (a JSON object, at index epoch `epoch`) may satisfy `n`:
 * false only when the extracted keys show it does not. Each path's keys are
 * extracted once per value, whoever asks first.
 */
export function mayHold(n: PlanNode, value: object, epoch: number): boolean {
  const p = n.path;
  if (p === null) {
    const of = n.of;
    if (n.kind === AND) {
      for (let i = 0; i < of.length; i++) if (!mayHold(of[i]!, value, epoch)) return false;
      return true;
    }
    for (let i = 0; i < of.length; i++) if (mayHold(of[i]!, value, epoch)) return true;
    return false;
  }
  if (n.kind === RANGE) return holdsBound(p, n.lower, n.inclusive, n.bound, value, epoch);
  if (n.kind === HAS) return holdsText(p, n.single as string, value, epoch);
  const single = n.single;
  if (single !== undefined) return holdsScalar(p, single, value, epoch);
  p.extract(value, epoch);
  if (p.saturated) return true;
  const keys = p.keys;
  const count = p.keyCount;
  const set = n.set;
  if (set !== null) {
    for (let i = 0; i < count; i++) if (set.has(keys[i]!)) return true;
    return false;
  }
  const values = n.values;
  for (let i = 0; i < count; i++) {
    const k = keys[i];
    for (let j = 0; j < values.length; j++) if (values[j] === k) return true;
  }
  return false;
}

/** The value may hold `x` at path `p` (an equality term with one value). */
export function holdsScalar(p: IndexedPath, x: Scalar, value: object, epoch: number): boolean {
  p.extract(value, epoch);
  if (p.saturated) return true;
  const keys = p.keys;
  const count = p.keyCount;
  for (let i = 0; i < count; i++) if (keys[i] === x) return true;
  return false;
}

/** The value may hold a string containing `text` at path `p`. */
function holdsText(p: IndexedPath, text: string, value: object, epoch: number): boolean {
  p.extract(value, epoch);
  if (p.saturated) return true;
  const keys = p.keys;
  const count = p.keyCount;
  for (let i = 0; i < count; i++) {
    const k = keys[i];
    if (typeof k === "string" && k.includes(text)) return true;
  }
  return false;
}

/** The value may hold a number beyond `bound` at path `p` (a range term). */
export function holdsBound(p: IndexedPath, lower: boolean, inclusive: boolean, bound: number, value: object, epoch: number): boolean {
  p.extract(value, epoch);
  if (p.saturated) return true;
  if (!p.hasNumber) return false;
  if (lower) return p.maxNumber > bound || (inclusive && p.maxNumber === bound);
  return p.minNumber < bound || (inclusive && p.minNumber === bound);
}

/**
 * How a posting list holds a check (posting-arrays.ts): its first member, when
 * that is one equality, one bound or one substring, is copied into the list,
 * so that testing it reads the list and the (shared, cached) path, not the
 * filter's own plan nodes, which at 100,000 filters are cache misses; the
 * rest of the check (`rest`) is read only when that member holds. An "and"
 * check lists its members most selective first (filter-index.ts: #file), so
 * most failing checks stop at the copied member.
 */
export const NO_CHECK = 0;
export const CHECK_SCALAR = 1;
export const CHECK_LOWER = 2;
export const CHECK_LOWER_INCLUSIVE = 3;
export const CHECK_UPPER = 4;
export const CHECK_UPPER_INCLUSIVE = 5;
export const CHECK_HAS = 6;
/** No member to copy: the whole check is `rest`. */
export const CHECK_NODE = 7;

export interface PostedCheck {
  readonly kind: number;
  /** The copied member's path, and its scalar, bound or text. */
  readonly path: IndexedPath | null;
  readonly x: Scalar;
  /** What else must hold (null: nothing). */
  readonly rest: PlanNode | null;
}

export const NOTHING_TO_CHECK: PostedCheck = { kind: NO_CHECK, path: null, x: 0, rest: null };

/** The kind of a member that can be copied into a posting list, else CHECK_NODE. */
function copiedKind(n: PlanNode): number {
  if (n.kind === EQ) return n.single !== undefined ? CHECK_SCALAR : CHECK_NODE;
  if (n.kind === RANGE) return n.lower ? (n.inclusive ? CHECK_LOWER_INCLUSIVE : CHECK_LOWER) : n.inclusive ? CHECK_UPPER_INCLUSIVE : CHECK_UPPER;
  if (n.kind === HAS) return CHECK_HAS;
  return CHECK_NODE;
}

/** Splits a check (null: none) into the member a posting list copies and the rest. */
export function postedCheck(n: PlanNode | null): PostedCheck {
  if (n === null) return NOTHING_TO_CHECK;
  const head = n.kind === AND ? n.of[0]! : n;
  const kind = copiedKind(head);
  if (kind === CHECK_NODE) return { kind, path: null, x: 0, rest: n };
  const x = head.kind === RANGE ? head.bound : head.single!;
  const rest = head === n ? null : n.of.length === 2 ? n.of[1]! : PlanNode.group(AND, n.of.slice(1));
  return { kind, path: head.path, x, rest };
}

/** Tests a check as a posting list holds it (postedCheck: kind, rest, path, x). */
export function holdsCheck(kind: number, rest: PlanNode | null, p: IndexedPath | null, x: Scalar, value: object, epoch: number): boolean {
  switch (kind) {
    case NO_CHECK:
      return true;
    case CHECK_NODE:
      return mayHold(rest!, value, epoch);
    case CHECK_SCALAR:
      if (!holdsScalar(p!, x, value, epoch)) return false;
      break;
    case CHECK_HAS:
      if (!holdsText(p!, x as string, value, epoch)) return false;
      break;
    default:
      if (!holdsBound(p!, kind <= CHECK_LOWER_INCLUSIVE, kind === CHECK_LOWER_INCLUSIVE || kind === CHECK_UPPER_INCLUSIVE, x as number, value, epoch)) return false;
  }
  return rest === null || mayHold(rest, value, epoch);
}
