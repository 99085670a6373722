// A filter's index condition (filter/index-term.ts) bound to the index's
// paths and terms: what the index files the filter under, and the cheap check
// of its other terms against the keys already extracted from a value.
//
// Choosing the filing: a term costs the share of values that hold it (from
// the statistics); "and" costs its cheapest member (filing under any member
// is sound, since all must hold), "or" the sum of its members' (the filter is
// filed under a term of every branch). So a filter lands where the fewest
// values will make it a candidate.
//
// Every node is one class with the same fields (a numeric kind), so that the
// checks, which run for every candidate, see one object shape.

import type { IndexCondition, IndexTerm } from "../filter/index.js";
import type { IndexedPath, Term } from "./indexed-path.js";
import type { TermStats } from "./term-stats.js";
import type { Scalar } from "./value-path.js";

/** Above this many values an equality check uses a Set, below it a scan. */
const SET_ABOVE = 8;

export const EQ = 0;
export const RANGE = 1;
export const AND = 2;
export const OR = 3;
export type NodeKind = typeof EQ | typeof RANGE | typeof AND | typeof OR;

export class PlanNode<E> {
  /** EQ / RANGE: a term; AND / OR: a group of `of`. */
  readonly kind: NodeKind;
  /** The tested path (terms; null for groups). */
  readonly path: IndexedPath<E> | null;
  /** EQ: the value holds one of `values` (each a term of the path). */
  readonly values: readonly Scalar[];
  readonly terms: readonly Term<E>[];
  readonly set: ReadonlySet<Scalar> | null;
  /** RANGE: a number > bound (lower, exclusive), >= (lower, inclusive), < or <=. */
  readonly lower: boolean;
  readonly inclusive: boolean;
  readonly bound: number;
  readonly of: readonly PlanNode<E>[];

  constructor(
    kind: NodeKind,
    path: IndexedPath<E> | null,
    values: readonly Scalar[],
    terms: readonly Term<E>[],
    lower: boolean,
    inclusive: boolean,
    bound: number,
    of: readonly PlanNode<E>[],
  ) {
    this.kind = kind;
    this.path = path;
    this.values = values;
    this.terms = terms;
    this.set = values.length > SET_ABOVE ? new Set(values) : null;
    this.lower = lower;
    this.inclusive = inclusive;
    this.bound = bound;
    this.of = of;
  }

  static group<E>(kind: typeof AND | typeof OR, of: readonly PlanNode<E>[]): PlanNode<E> {
    return new PlanNode<E>(kind, null, [], [], false, false, 0, of);
  }
}

/** The index's paths, shared by all filters (reference-counted). */
export interface PathRegistry<E> {
  acquirePath(path: string): IndexedPath<E>;
  releasePath(p: IndexedPath<E>): void;
}

export function bind<E>(c: IndexCondition, paths: PathRegistry<E>): PlanNode<E> {
  switch (c.kind) {
    case "and":
    case "or":
      return PlanNode.group(c.kind === "and" ? AND : OR, c.of.map((x) => bind(x, paths)));
    case "eq": {
      const path = paths.acquirePath(c.path);
      const terms = c.values.map((v) => path.acquireTerm(v));
      return new PlanNode(EQ, path, c.values, terms, false, false, 0, []);
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

export function release<E>(n: PlanNode<E>, paths: PathRegistry<E>): void {
  const p = n.path;
  if (p === null) {
    for (const x of n.of) release(x, paths);
    return;
  }
  if (n.kind === EQ) for (const t of n.terms) p.releaseTerm(t);
  else p.releaseRange();
  paths.releasePath(p);
}

/** The share of values that satisfy a term node (an estimate, at most 1). */
export function termCost<E>(n: PlanNode<E>, stats: TermStats): number {
  if (n.kind === EQ) {
    let c = 0;
    for (const t of n.terms) c += stats.share(t);
    return Math.min(1, c);
  }
  const ring = n.path!.ring;
  if (!ring) return 1;
  return Math.min(1, stats.rangeShare(ring.hits(n.lower, n.bound, n.inclusive), ring.filled));
}

/**
 * The cost of the cheapest sound filing of `n`; when `out` is given, appends
 * its term nodes. Recursion is bounded by the query's nesting limit.
 */
export function cheapest<E>(n: PlanNode<E>, stats: TermStats, out: PlanNode<E>[] | null): number {
  if (n.kind === EQ || n.kind === RANGE) {
    out?.push(n);
    return termCost(n, stats);
  }
  if (n.kind === OR) {
    let c = 0;
    for (const x of n.of) c += cheapest(x, stats, out);
    return Math.min(1, c);
  }
  let best = 0;
  let bestCost = Infinity;
  for (let i = 0; i < n.of.length; i++) {
    const c = cheapest(n.of[i]!, stats, null);
    if (c < bestCost) {
      bestCost = c;
      best = i;
    }
  }
  if (out) cheapest(n.of[best]!, stats, out);
  return bestCost;
}

/** The condition term of a term node (for inspection). */
export function describeTerm<E>(n: PlanNode<E>): IndexTerm {
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
export function mayHold<E>(n: PlanNode<E>, value: object, epoch: number): boolean {
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
  p.extract(value, epoch);
  if (p.saturated) return true;
  if (n.kind === RANGE) {
    if (!p.hasNumber) return false;
    if (n.lower) return p.maxNumber > n.bound || (n.inclusive && p.maxNumber === n.bound);
    return p.minNumber < n.bound || (n.inclusive && p.minNumber === n.bound);
  }
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
