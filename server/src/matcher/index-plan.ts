// A filter's index condition (filter/index-term.ts) bound to the index's
// paths and terms: what the index files the filter under, and the cheap check
// of its other terms against the keys already extracted from a value.
//
// Choosing the filing: a term costs the share of values that hold it (from
// the statistics); "and" costs its cheapest member (filing under any member
// is sound, since all must hold), "or" the sum of its members' (the filter is
// filed under a term of every branch). So a filter lands where the fewest
// values will make it a candidate.

import type { IndexCondition, IndexTerm } from "../filter/index.js";
import type { IndexedPath, Term } from "./indexed-path.js";
import type { TermStats } from "./term-stats.js";
import type { Scalar } from "./value-path.js";

/** Above this many values an equality check uses a Set, below it a scan. */
const SET_ABOVE = 8;

export interface EqNode<E> {
  readonly kind: "eq";
  readonly path: IndexedPath<E>;
  readonly terms: readonly Term<E>[];
  readonly values: readonly Scalar[];
  readonly set: ReadonlySet<Scalar> | null;
}

export interface RangeNode<E> {
  readonly kind: "range";
  readonly path: IndexedPath<E>;
  /** $gt / $gte (else $lt / $lte). */
  readonly lower: boolean;
  readonly inclusive: boolean;
  readonly bound: number;
}

export interface GroupNode<E> {
  readonly kind: "and" | "or";
  readonly of: readonly PlanNode<E>[];
}

export type TermNode<E> = EqNode<E> | RangeNode<E>;
export type PlanNode<E> = TermNode<E> | GroupNode<E>;

/** The index's paths, shared by all filters (reference-counted). */
export interface PathRegistry<E> {
  acquirePath(path: string): IndexedPath<E>;
  releasePath(p: IndexedPath<E>): void;
}

export function bind<E>(c: IndexCondition, paths: PathRegistry<E>): PlanNode<E> {
  switch (c.kind) {
    case "and":
    case "or":
      return { kind: c.kind, of: c.of.map((x) => bind(x, paths)) };
    case "eq": {
      const path = paths.acquirePath(c.path);
      return {
        kind: "eq",
        path,
        terms: c.values.map((v) => path.acquireTerm(v)),
        values: c.values,
        set: c.values.length > SET_ABOVE ? new Set(c.values) : null,
      };
    }
    default: {
      const path = paths.acquirePath(c.path);
      path.acquireRange();
      return { kind: "range", path, lower: c.kind === "gt" || c.kind === "gte", inclusive: c.kind === "gte" || c.kind === "lte", bound: c.bound };
    }
  }
}

export function release<E>(n: PlanNode<E>, paths: PathRegistry<E>): void {
  switch (n.kind) {
    case "and":
    case "or":
      for (const x of n.of) release(x, paths);
      return;
    case "eq":
      for (const t of n.terms) n.path.releaseTerm(t);
      paths.releasePath(n.path);
      return;
    default:
      n.path.releaseRange();
      paths.releasePath(n.path);
  }
}

/** The share of values that satisfy a term (an estimate, at most 1). */
export function termCost<E>(n: TermNode<E>, stats: TermStats): number {
  if (n.kind === "eq") {
    let c = 0;
    for (const t of n.terms) c += stats.share(t);
    return Math.min(1, c);
  }
  const ring = n.path.ring;
  if (!ring) return 1;
  return Math.min(1, stats.rangeShare(ring.hits(n.lower, n.bound, n.inclusive), ring.filled));
}

/**
 * The cost of the cheapest sound filing of `n`; when `out` is given, appends
 * its terms. Recursion is bounded by the query's nesting limit.
 */
export function cheapest<E>(n: PlanNode<E>, stats: TermStats, out: TermNode<E>[] | null): number {
  if (n.kind === "eq" || n.kind === "range") {
    out?.push(n);
    return termCost(n, stats);
  }
  if (n.kind === "or") {
    let c = 0;
    for (const x of n.of) c += cheapest(x, stats, out);
    return Math.min(1, c);
  }
  let best = 0;
  let bestCost = Infinity;
  n.of.forEach((x, i) => {
    const c = cheapest(x, stats, null);
    if (c < bestCost) {
      bestCost = c;
      best = i;
    }
  });
  if (out) cheapest(n.of[best]!, stats, out);
  return bestCost;
}

/** Reconstructs the condition terms of filed term nodes (for inspection). */
export function describeTerm<E>(n: TermNode<E>): IndexTerm {
  if (n.kind === "eq") return { kind: "eq", path: n.path.path, values: n.values };
  const kind = n.lower ? (n.inclusive ? "gte" : "gt") : n.inclusive ? "lte" : "lt";
  return { kind, path: n.path.path, bound: n.bound };
}

/**
 * Whether the value (a JSON object, at index epoch `epoch`) may satisfy `n`:
 * false only when the extracted keys show it does not. Each path's keys are
 * extracted once per value, whoever asks first.
 */
export function mayHold<E>(n: PlanNode<E>, value: object, epoch: number): boolean {
  switch (n.kind) {
    case "eq": {
      const p = n.path;
      p.extract(value, epoch);
      if (p.saturated) return true;
      const keys = p.keys;
      const set = n.set;
      if (set) {
        for (let i = 0; i < keys.length; i++) if (set.has(keys[i]!)) return true;
        return false;
      }
      const values = n.values;
      for (let i = 0; i < keys.length; i++) {
        const k = keys[i];
        for (let j = 0; j < values.length; j++) if (values[j] === k) return true;
      }
      return false;
    }
    case "range": {
      const p = n.path;
      p.extract(value, epoch);
      if (p.saturated) return true;
      if (!p.hasNumber) return false;
      if (n.lower) return p.maxNumber > n.bound || (n.inclusive && p.maxNumber === n.bound);
      return p.minNumber < n.bound || (n.inclusive && p.minNumber === n.bound);
    }
    case "and":
      for (const x of n.of) if (!mayHold(x, value, epoch)) return false;
      return true;
    default:
      for (const x of n.of) if (mayHold(x, value, epoch)) return true;
      return false;
  }
}
