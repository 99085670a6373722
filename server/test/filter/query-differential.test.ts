// Differential test of the compiled query evaluator: seeded random (query,
// document) pairs, each query validated and normalised exactly as
// compileFilter does, evaluated by the compiled predicate, by mingo (the
// reference) and by the oracle (mingo with MongoDB's rules where the project
// deliberately follows MongoDB, see mongodb-oracle.ts). The compiled verdict
// must equal the oracle's on every pair, and where it differs from mingo's
// the oracle must name a documented deviation.
//
// QUERY_DIFFERENTIAL_PAIRS and QUERY_DIFFERENTIAL_SEED override the size and
// the seed (e.g. to run millions of pairs once).

import assert from "node:assert/strict";
import { test } from "node:test";
import { canonicalJson, parseJsonText, type JsonObject, type JsonValue } from "../../src/filter/json.js";
import { MAX_QUERY_BYTES, MAX_QUERY_DEPTH } from "../../src/filter/limits.js";
import { compileQuery } from "../../src/filter/query-compile.js";
import { compileQueryReference } from "../../src/filter/query-reference.js";
import { validateQuery } from "../../src/filter/query-validate.js";
import type { LinearRegex } from "../../src/filter/regex.js";
import { compileOracle, DEVIATIONS, describeValues, type Deviation } from "./mongodb-oracle.js";
import { QueryGenerator } from "./query-generator.js";

const PAIRS = Number(process.env["QUERY_DIFFERENTIAL_PAIRS"] ?? 200_000);
const SEED = Number(process.env["QUERY_DIFFERENTIAL_SEED"] ?? 20240611);
const DOCUMENTS_PER_QUERY = 16;

interface Prepared {
  readonly query: JsonObject;
  readonly regexes: ReadonlyMap<string, LinearRegex>;
}

/** What compileFilter does to query text before compiling it, or null if validation refuses it. */
function prepare(raw: JsonObject): Prepared | null {
  try {
    const validated = validateQuery(parseJsonText(JSON.stringify(raw), "query", MAX_QUERY_BYTES, MAX_QUERY_DEPTH));
    if (Object.keys(validated.query).length === 0) return null;
    return { query: JSON.parse(canonicalJson(validated.query)) as JsonObject, regexes: validated.regexes };
  } catch {
    return null;
  }
}

interface Verdicts {
  readonly compiled: boolean;
  readonly oracle: boolean;
}

function verdicts(raw: JsonObject, doc: JsonValue): Verdicts | null {
  const p = prepare(raw);
  if (!p) return null;
  return { compiled: compileQuery(p.query, p.regexes)(doc), oracle: compileOracle(p.query, p.regexes)(doc).matches };
}

const disagree = (raw: JsonObject, doc: JsonValue): boolean => {
  const v = verdicts(raw, doc);
  return v !== null && v.compiled !== v.oracle;
};

/** Every JSON value obtained from `v` by one small edit: a member or element removed, a container replaced by a child, a scalar by null. */
function* shrinkings(v: JsonValue): Generator<JsonValue> {
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) yield [...v.slice(0, i), ...v.slice(i + 1)];
    for (const x of v) yield x;
    for (let i = 0; i < v.length; i++) for (const s of shrinkings(v[i] as JsonValue)) yield v.map((x, j) => (j === i ? s : x));
  } else if (typeof v === "object" && v !== null) {
    const keys = Object.keys(v);
    for (const k of keys) {
      const { [k]: _, ...rest } = v;
      yield rest;
    }
    for (const k of keys) yield v[k] as JsonValue;
    for (const k of keys) for (const s of shrinkings(v[k] as JsonValue)) yield { ...v, [k]: s };
  } else if (v !== null) {
    yield null;
  }
}

/** Greedy minimisation of a disagreeing pair: the document first, then the query (kept valid). */
function minimise(raw: JsonObject, doc: JsonValue): { query: JsonObject; doc: JsonValue } {
  let q = raw;
  let d = doc;
  for (let progress = true, rounds = 0; progress && rounds < 200; rounds++) {
    progress = false;
    for (const s of shrinkings(d)) {
      if (disagree(q, s)) {
        d = s;
        progress = true;
        break;
      }
    }
    if (progress) continue;
    for (const s of shrinkings(q)) {
      if (typeof s === "object" && s !== null && !Array.isArray(s) && disagree(s, d)) {
        q = s;
        progress = true;
        break;
      }
    }
  }
  return { query: q, doc: d };
}

/** The operators a query uses, for coverage. */
function operatorsOf(q: JsonValue, out: Set<string>): Set<string> {
  if (Array.isArray(q)) for (const x of q) operatorsOf(x, out);
  else if (typeof q === "object" && q !== null) {
    for (const [k, v] of Object.entries(q)) {
      if (k.startsWith("$")) out.add(k);
      else if (typeof v !== "object" || v === null || Array.isArray(v) || !Object.keys(v).every((x) => x.startsWith("$"))) {
        out.add("literal");
      }
      operatorsOf(v, out);
    }
  }
  return out;
}

test(`compiled queries agree with mingo, or with MongoDB where documented (${PAIRS} pairs, seed ${SEED})`, (t) => {
  const gen = new QueryGenerator(SEED);
  const started = Date.now();
  let pairs = 0;
  let queries = 0;
  let matches = 0;
  const failures: Array<{ raw: JsonObject; doc: JsonValue; compiled: boolean; oracle: boolean }> = [];
  const unexplained: Array<{ raw: JsonObject; doc: JsonValue }> = [];
  const leafDeviations = new Map<Deviation, number>();
  const resultDeviations = new Map<Deviation, number>();
  const outcomes = new Map<string, [number, number]>(); // operator -> [pairs not matched, matched]

  while (pairs < PAIRS) {
    const raw = gen.query();
    const p = prepare(raw);
    if (!p) continue;
    queries++;
    const compiled = compileQuery(p.query, p.regexes);
    const oracle = compileOracle(p.query, p.regexes);
    const reference = compileQueryReference(p.query, p.regexes);
    const ops = operatorsOf(p.query, new Set());
    for (let i = 0; i < DOCUMENTS_PER_QUERY; i++, pairs++) {
      const doc = i % 2 === 0 ? gen.documentFor(raw) : gen.document();
      const c = compiled(doc);
      const o = oracle(doc);
      const r = reference(doc);
      if (c) matches++;
      for (const op of ops) {
        const counts = outcomes.get(op) ?? [0, 0];
        counts[c ? 1 : 0]++;
        outcomes.set(op, counts);
      }
      for (const d of o.deviations) leafDeviations.set(d, (leafDeviations.get(d) ?? 0) + 1);
      if (c !== o.matches && failures.length < 20) failures.push({ raw, doc, compiled: c, oracle: o.matches });
      if (c !== r) {
        if (o.deviations.size === 0 || o.deviations.has("unexplained")) {
          if (unexplained.length < 20) unexplained.push({ raw, doc });
        }
        for (const d of o.deviations) resultDeviations.set(d, (resultDeviations.get(d) ?? 0) + 1);
      }
    }
  }

  const seconds = (Date.now() - started) / 1000;
  t.diagnostic(`${pairs} pairs from ${queries} queries in ${seconds.toFixed(1)} s; ${matches} matched`);
  for (const d of Object.keys(DEVIATIONS) as Deviation[]) {
    t.diagnostic(`${d}: changed ${leafDeviations.get(d) ?? 0} leaf verdicts, ${resultDeviations.get(d) ?? 0} results`);
  }

  const shown = failures.slice(0, 5).map(({ raw, doc }) => {
    const m = minimise(raw, doc);
    const v = verdicts(m.query, m.doc);
    const paths = Object.keys(m.query).filter((k) => !k.startsWith("$"));
    const values = paths.map((path) => `  values of ${path}: ${describeValues(m.doc, path)}`).join("\n");
    return `query ${JSON.stringify(m.query)}\ndoc   ${JSON.stringify(m.doc)}\ncompiled ${v?.compiled}, expected ${v?.oracle}\n${values}`;
  });
  assert.equal(failures.length, 0, `compiled evaluator disagrees with the expectation (minimised):\n${shown.join("\n\n")}`);

  const why = unexplained.slice(0, 5).map(({ raw, doc }) => `query ${JSON.stringify(raw)}\ndoc   ${JSON.stringify(doc)}`);
  assert.equal(unexplained.length, 0, `differs from mingo without a documented deviation:\n${why.join("\n\n")}`);

  // Every documented deviation is exercised, so each is compared against its expectation.
  for (const d of Object.keys(DEVIATIONS) as Deviation[]) {
    if (d !== "unexplained") assert.ok((resultDeviations.get(d) ?? 0) > 0, `the generator never exercised ${d}`);
  }
  // Every operator both matches and fails somewhere.
  for (const op of ["literal", "$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin", "$exists", "$type", "$size", "$all", "$elemMatch", "$not", "$mod", "$regex", "$options", "$and", "$or", "$nor"]) {
    const [no, yes] = outcomes.get(op) ?? [0, 0];
    assert.ok(no > 100 && yes > 100, `${op}: ${yes} matching and ${no} non-matching pairs; the generator needs more of both`);
  }
});
