// A seeded random workload for the filter index's soundness tests: queries
// over every whitelisted operator ($or / $and / $nor nesting, dotted and
// numeric paths) and values with arrays at every level, arrays of documents,
// fields named "0", nulls and mixed types, so that anything the predicate can
// match is likely to be generated somewhere.
import { compileFilter, type CompiledFilter } from "../../src/filter/index.js";

export type Rnd = () => number;

export const filterOf = (query: object): CompiledFilter =>
  compileFilter({ topics: ["t"], topicRegex: "", keyPrefix: [], keyRegex: "", query: JSON.stringify(query), projection: "" });

const pick = <T>(rnd: Rnd, xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;

// Few distinct values, so that equalities match often; 1, "1", true, 0, -0 and null side by side;
// strings holding the literals of the regexes below (which the index checks as substrings).
const SCALARS = ["x", "y", "1", "", "xyz1", "axyz", 0, -0, 1, 2, 1.5, 10, -3, 100, true, false, null] as const;
const NUMBERS = [-3, 0, 1, 1.5, 2, 10, 100] as const;
const FIELDS = ["a", "b", "c", "0", "1", "tags"] as const;
/** Query paths: plain, dotted, numeric segments (array index or field name), a name from Object.prototype. */
export const PATHS = [
  "a", "b", "tags", "a.b", "a.c", "a.0", "a.1", "a.0.b", "a.b.c", "b.0.0", "0", "a.b.0", "tags.0", "c.a.b", "constructor",
] as const;

export function scalar(rnd: Rnd): unknown {
  return pick(rnd, SCALARS);
}

/** A value at some field: scalars, arrays (nested too), documents, arrays of documents. */
export function fieldValue(rnd: Rnd, depth: number, weights: Weights = {}): unknown {
  const r = rnd();
  if (r < 0.4 || depth > 3) return weights.scalar ? weights.scalar(rnd) : scalar(rnd);
  if (weights.noArrays) return r < 0.7 ? weights.scalar?.(rnd) ?? scalar(rnd) : document(rnd, depth + 1, weights);
  if (r < 0.65) return Array.from({ length: Math.floor(rnd() * 4) }, () => fieldValue(rnd, depth + 1, weights));
  if (r < 0.9) return document(rnd, depth + 1, weights);
  return [[fieldValue(rnd, depth + 2, weights)], document(rnd, depth + 2, weights)];
}

function document(rnd: Rnd, depth: number, weights: Weights): Record<string, unknown> {
  const d: Record<string, unknown> = {};
  for (const f of FIELDS) if (rnd() < 0.45) d[f] = fieldValue(rnd, depth, weights);
  return d;
}

/** Skews the generated scalars (to make the index's statistics change between phases). */
export interface Weights {
  readonly scalar?: (rnd: Rnd) => unknown;
  /** Documents and scalars only (the paths the index can prove matches on). */
  readonly noArrays?: boolean;
}

/** A parsed value as the matcher sees it: mostly documents, sometimes not an object at all. */
export function value(rnd: Rnd, weights: Weights = {}): unknown {
  if (rnd() < 0.03) return pick(rnd, [undefined, 5, "x", null, [{ a: 1 }], true]);
  return document(rnd, 0, weights);
}

function numberOrOther(rnd: Rnd): unknown {
  return rnd() < 0.8 ? pick(rnd, NUMBERS) : scalar(rnd);
}

/** One field condition: a literal or an object of operators. */
function condition(rnd: Rnd, depth: number): unknown {
  const r = rnd();
  if (r < 0.16) return scalar(rnd);
  if (r < 0.2) return Array.from({ length: Math.floor(rnd() * 3) }, () => scalar(rnd)); // array literal
  if (r < 0.22) return { b: scalar(rnd) }; // embedded document literal
  const ops: Record<string, unknown> = {};
  const n = 1 + Math.floor(rnd() * 2);
  for (let i = 0; i < n; i++) {
    const o = rnd();
    if (o < 0.12) ops["$eq"] = rnd() < 0.85 ? scalar(rnd) : [scalar(rnd)];
    else if (o < 0.18) ops["$ne"] = scalar(rnd);
    else if (o < 0.26) ops["$gt"] = numberOrOther(rnd);
    else if (o < 0.32) ops["$gte"] = numberOrOther(rnd);
    else if (o < 0.38) ops["$lt"] = numberOrOther(rnd);
    else if (o < 0.44) ops["$lte"] = numberOrOther(rnd);
    else if (o < 0.54) ops["$in"] = Array.from({ length: Math.floor(rnd() * 4) }, () => (rnd() < 0.9 ? scalar(rnd) : [scalar(rnd)]));
    else if (o < 0.58) ops["$nin"] = [scalar(rnd), scalar(rnd)];
    else if (o < 0.62) ops["$exists"] = rnd() < 0.5;
    else if (o < 0.65) ops["$type"] = pick(rnd, ["number", "string", "array", "null", "bool", "object"]);
    else if (o < 0.68) ops["$size"] = Math.floor(rnd() * 3);
    else if (o < 0.74) ops["$all"] = rnd() < 0.8 ? [scalar(rnd), scalar(rnd)].filter((x) => x !== null) : [{ $elemMatch: { $gt: 1 } }];
    else if (o < 0.79) ops["$elemMatch"] = rnd() < 0.5 ? { $gte: pick(rnd, NUMBERS) } : { b: scalar(rnd) };
    else if (o < 0.85) ops["$not"] = rnd() < 0.5 ? { $gt: pick(rnd, NUMBERS) } : { $eq: scalar(rnd) };
    else if (o < 0.89) ops["$mod"] = [2, 1];
    else if (o < 0.94) ops["$regex"] = pick(rnd, ["^x", "1", "y$", ".", "xyz", "^xyz", "yz1$", "x(yz)?1", "xyz|q"]);
    else if (depth < 2) return { $elemMatch: query(rnd, depth + 1) };
    else ops["$exists"] = true;
  }
  return ops;
}

function fieldConditions(rnd: Rnd, depth: number): Record<string, unknown> {
  const q: Record<string, unknown> = {};
  const n = 1 + Math.floor(rnd() * 3);
  for (let i = 0; i < n; i++) q[pick(rnd, PATHS)] = condition(rnd, depth);
  return q;
}

/** A query document, with $and / $or / $nor nested up to a few levels. */
export function query(rnd: Rnd, depth = 0): Record<string, unknown> {
  const r = rnd();
  if (depth === 0 && r < 0.03) return {};
  const q = fieldConditions(rnd, depth);
  if (depth >= 3) return q;
  const branches = () => Array.from({ length: 1 + Math.floor(rnd() * 3) }, () => query(rnd, depth + 1));
  if (r < 0.2) q["$and"] = branches();
  else if (r < 0.45) q["$or"] = branches();
  else if (r < 0.52) q["$nor"] = branches();
  if (rnd() < 0.1) q["$or"] = branches(); // a second logical member beside the first
  return q;
}

/** Compiles `count` random filters (skipping the few queries validation refuses). */
export function filters(rnd: Rnd, count: number): CompiledFilter[] {
  const out: CompiledFilter[] = [];
  while (out.length < count) {
    const q = query(rnd);
    try {
      out.push(filterOf(q));
    } catch {
      // e.g. {$all: []} beside an operator validation rejects; not the index's concern
    }
  }
  return out;
}
