// Seeded generator of (query, document) pairs for the differential test:
// small documents of mixed types (numbers from -0 to 1e308, strings beyond
// the BMP, booleans, null, empty and nested arrays and objects), and queries
// over 1-3 segment paths using every whitelisted operator, nested in $and /
// $or / $nor / $not / $elemMatch. Half of the documents are built from the
// query (its paths planted with its literals, through arrays and at numeric
// positions) so that conditions often hold.

import { mulberry32 } from "../../src/util/prng.js";
import type { JsonObject, JsonValue } from "../../src/filter/json.js";

const NAMES = ["a", "b", "c", "0", "1"];
const LATER_SEGMENTS = ["a", "b", "c", "0", "1", "2"];
const RARE_NAMES = ["constructor", "toString", "01"];
const NUMBERS = [
  0, -0, 1, -1, 2, 3, 0.5, -2.5, 7, 10, 2 ** 53, 2 ** 53 + 2, 1e20, -1e20, 9.3e18, -(2 ** 63), 2 ** 63, 1e308, 5e-324,
];
const STRINGS = ["", "a", "b", "ab", "abc", "A", "ba", "é", "\u{1F600}", "\uE000", "\uFFFF", "a\nb", "1", "x", "aé"];
const TYPES: JsonValue[] = [
  "double", "string", "object", "array", "bool", "null", "int", "long", "decimal", "number", 1, 2, 3, 4, 8, 10, 16, 18, 19,
];
const MODS: Array<[number, number]> = [[2, 0], [2, 1], [3, 1], [4, -1], [-3, 2], [5, 0], [7, 3], [1, 0]];
const PATTERNS = ["a", "^a", "b$", "^$", "A", "é", "[0-9]", "^.{2}$", "(?i)^a", "a|b", "^\\p{L}+$", "\\x{1F600}", "^a.b$"];
const FIELD_OPERATORS = [
  "$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin", "$exists", "$type", "$size", "$all", "$elemMatch", "$not",
  "$mod", "$regex",
] as const;
type FieldOperator = (typeof FIELD_OPERATORS)[number];

export class QueryGenerator {
  /** The strings values and queries are made of. */
  static readonly STRINGS: readonly string[] = STRINGS;
  private readonly rnd: () => number;
  /** The paths and literals of the query documentFor was last asked about. */
  private collected: { query: JsonObject; paths: string[]; literals: JsonValue[] } | null = null;

  constructor(seed: number) {
    this.rnd = mulberry32(seed);
  }

  int(n: number): number {
    return Math.floor(this.rnd() * n);
  }

  chance(p: number): boolean {
    return this.rnd() < p;
  }

  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)] as T;
  }

  // -------------------------------------------------------------------------
  // Values

  name(): string {
    return this.chance(0.03) ? this.pick(RARE_NAMES) : this.pick(NAMES);
  }

  scalar(): JsonValue {
    const r = this.rnd();
    if (r < 0.4) return this.pick(NUMBERS);
    if (r < 0.8) return this.pick(STRINGS);
    if (r < 0.9) return this.chance(0.5);
    return null;
  }

  value(depth: number): JsonValue {
    const r = this.rnd();
    if (depth <= 0 || r < 0.55) return this.scalar();
    return r < 0.75 ? this.object(depth - 1, 3) : this.array(depth - 1);
  }

  object(depth: number, maxKeys: number): JsonObject {
    const out: JsonObject = {};
    const n = this.int(maxKeys + 1);
    for (let i = 0; i < n; i++) out[this.name()] = this.value(depth);
    return out;
  }

  array(depth: number): JsonValue[] {
    return Array.from({ length: this.int(4) }, () => this.value(depth));
  }

  /** A random small document. */
  document(): JsonObject {
    return this.object(3, 4);
  }

  // -------------------------------------------------------------------------
  // Queries

  path(): string {
    const n = 1 + this.int(3);
    const segments = [this.chance(0.9) ? this.pick(["a", "b", "c"]) : this.name()];
    for (let i = 1; i < n; i++) segments.push(this.chance(0.03) ? this.pick(RARE_NAMES) : this.pick(LATER_SEGMENTS));
    return segments.join(".");
  }

  /** A literal to compare with: mostly scalars, sometimes a small array or object. */
  literal(): JsonValue {
    const r = this.rnd();
    if (r < 0.75) return this.scalar();
    if (r < 0.9) return Array.from({ length: this.int(3) }, () => (this.chance(0.8) ? this.scalar() : this.array(0)));
    return this.object(0, 2);
  }

  private operatorValue(op: FieldOperator, depth: number): JsonValue {
    switch (op) {
      case "$eq":
      case "$ne":
      case "$gt":
      case "$gte":
      case "$lt":
      case "$lte":
        return this.literal();
      case "$in":
      case "$nin":
        return Array.from({ length: this.int(5) }, () => this.literal());
      case "$exists":
        return this.chance(0.5);
      case "$type":
        return this.chance(0.7) ? this.pick(TYPES) : Array.from({ length: 1 + this.int(3) }, () => this.pick(TYPES));
      case "$size":
        return this.int(4);
      case "$all":
        return Array.from({ length: this.int(4) }, () =>
          this.chance(0.25) && depth > 0 ? { $elemMatch: this.elemMatch(depth - 1) } : this.literal(),
        );
      case "$elemMatch":
        return this.elemMatch(depth - 1);
      case "$not":
        return this.operators(depth - 1, false);
      case "$mod":
        return this.pick(MODS);
      case "$regex":
        return this.pick(PATTERNS);
    }
  }

  private elemMatch(depth: number): JsonObject {
    if (this.chance(0.5)) return this.operators(Math.max(depth, 0), false);
    if (this.chance(0.1)) return {};
    return this.queryDocument(Math.max(depth, 0));
  }

  /** An operator object: 1-2 operators (no $elemMatch/$all/$not at depth 0). */
  operators(depth: number, allowNot = true): JsonObject {
    const out: JsonObject = {};
    const n = 1 + this.int(2);
    for (let i = 0; i < n; i++) {
      let op = this.pick(FIELD_OPERATORS);
      if (depth <= 0 && (op === "$elemMatch" || op === "$not" || op === "$all")) op = "$eq";
      if (op === "$not" && !allowNot) op = "$gt";
      out[op] = this.operatorValue(op, depth);
      if (op === "$regex" && this.chance(0.4)) out["$options"] = this.pick(["i", "m", "s", "im", "is", "ims"]);
    }
    return out;
  }

  fieldCondition(depth: number): JsonValue {
    return this.chance(0.25) ? this.literal() : this.operators(depth);
  }

  queryDocument(depth: number): JsonObject {
    const out: JsonObject = {};
    const n = 1 + this.int(depth > 1 ? 3 : 2);
    for (let i = 0; i < n; i++) {
      if (depth > 0 && this.chance(0.2)) {
        const op = this.pick(["$and", "$or", "$nor"]);
        out[op] = Array.from({ length: 1 + this.int(3) }, () => this.queryDocument(depth - 1));
      } else {
        out[this.path()] = this.fieldCondition(depth);
      }
    }
    return out;
  }

  query(): JsonObject {
    return this.queryDocument(2);
  }

  // -------------------------------------------------------------------------
  // Documents built from a query

  /** A document in which some of the query's paths lead to its literals, through objects, arrays and positions. */
  documentFor(query: JsonObject): JsonObject {
    if (this.collected?.query !== query) {
      const paths: string[] = [];
      const literals: JsonValue[] = [];
      collect(query, paths, literals);
      this.collected = { query, paths, literals };
    }
    const { paths, literals } = this.collected;
    const doc = this.document();
    for (const path of paths) {
      if (!this.chance(0.7)) continue;
      const segments = path.split(".");
      const leaf = this.leafFrom(literals);
      doc[segments[0] as string] = this.plant(segments, 1, leaf);
    }
    return doc;
  }

  private leafFrom(literals: readonly JsonValue[]): JsonValue {
    const lit = literals.length > 0 && this.chance(0.8) ? this.pick(literals) : this.value(1);
    if (this.chance(0.25)) return [lit, this.scalar()].sort(() => this.rnd() - 0.5);
    if (this.chance(0.05)) return [[lit]];
    return lit;
  }

  /** A value in which segments[i..] lead to `leaf`. */
  private plant(segments: readonly string[], i: number, leaf: JsonValue): JsonValue {
    if (i === segments.length) return leaf;
    const segment = segments[i] as string;
    let inner: JsonValue;
    if (/^[0-9]+$/.test(segment) && Number(segment) < 4 && this.chance(0.6)) {
      const a = Array.from({ length: Number(segment) + this.int(2) }, () => this.value(1));
      a[Number(segment)] = this.plant(segments, i + 1, leaf);
      inner = a;
    } else {
      const o = this.object(0, 1);
      o[segment] = this.plant(segments, i + 1, leaf);
      inner = o;
    }
    if (this.chance(0.3)) {
      const siblings = Array.from({ length: this.int(3) }, () => (this.chance(0.5) ? this.object(1, 2) : this.value(1)));
      siblings.splice(this.int(siblings.length + 1), 0, inner);
      return siblings;
    }
    return inner;
  }
}

/** The field paths (outside $elemMatch too, dotted as written) and literal values of a query. */
function collect(q: JsonValue, paths: string[], literals: JsonValue[]): void {
  if (Array.isArray(q)) {
    for (const x of q) collect(x, paths, literals);
    return;
  }
  if (typeof q !== "object" || q === null) {
    literals.push(q);
    return;
  }
  for (const [k, v] of Object.entries(q)) {
    if (k === "$regex" || k === "$options" || k === "$type" || k === "$mod" || k === "$size" || k === "$exists") continue;
    if (!k.startsWith("$")) paths.push(k);
    if (!k.startsWith("$") && (typeof v !== "object" || v === null || Array.isArray(v))) literals.push(v);
    collect(v, paths, literals);
  }
}
