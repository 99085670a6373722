// The literal prefilter (filter/literal-prefilter.ts) must be sound whatever
// the writer did: a value the query matches always passes, however its JSON
// text is spelled (escapes, unicode, numbers written differently,
// whitespace). Checked on the differential test's generated (query,
// document) pairs, each document spelled several ways; and it must reject
// what it can, or scans gain nothing.
import assert from "node:assert/strict";
import { test } from "node:test";
import { compileFilter, type CompiledFilter } from "../../src/filter/index.js";
import { describeLiterals, StringFinder } from "../../src/filter/literal-prefilter.js";
import type { JsonValue } from "../../src/filter/json.js";
import { mulberry32 } from "../../src/util/prng.js";
import { QueryGenerator } from "./query-generator.js";

const PAIRS = Number(process.env["LITERAL_PREFILTER_PAIRS"] ?? 40_000);
const SEED = Number(process.env["LITERAL_PREFILTER_SEED"] ?? 20261201);

const filterOf = (query: object): CompiledFilter =>
  compileFilter({ topics: ["t"], topicRegex: "", keyPrefix: [], keyRegex: "", query: JSON.stringify(query), projection: "" });
const literals = (query: object): string => describeLiterals(filterOf(query).indexCondition);
const passes = (query: object, text: string): boolean => {
  const l = filterOf(query).valueLiterals;
  if (l === null) return true;
  const verdict = l.test(text);
  assert.equal(l.testFound(text, new StringFinder([...l.strings, "t-70", "other"]).find(text)), verdict, "the finder's verdict");
  return verdict;
};

test("derives the literals every match contains, and none where a value has several spellings", () => {
  assert.equal(literals({ level: "error" }), '"error"');
  assert.equal(literals({ level: "error", status: { $gte: 500 } }), '"error"');
  assert.equal(literals({ flag: true }), "true");
  assert.equal(literals({ tenant: { $in: ["t-1", "t-2"] } }), 'any("t-1", "t-2")');
  assert.equal(literals({ $or: [{ tenant: "t-1" }, { "user.id": "u-9" }] }), 'any("t-1", "u-9")');
  assert.equal(literals({ msg: { $regex: "time.?out" } }), "time");
  assert.equal(literals({ tenant: "t-1", tags: { $all: ["a", "b"] } }), 'all("a", "b", "t-1")');
  // Numbers (500, 5e2, 500.0), ranges, negations, case folding: nothing to search for.
  for (const q of [
    { status: 500 },
    { status: { $gt: 1 } },
    { tenant: { $in: ["t-1", 7] } },
    { $or: [{ tenant: "t-1" }, { status: 5 }] },
    { $nor: [{ tenant: "t-1" }] },
    { tenant: { $not: { $eq: "t-1" } } },
    { tenant: { $ne: "t-1" } },
    { tenant: { $nin: ["t-1"] } },
    { tenant: { $exists: true } },
    { msg: { $regex: "timeout", $options: "i" } },
    { a: null },
    { a: { b: "x" } },
  ]) {
    assert.equal(literals(q), "", JSON.stringify(q));
    assert.equal(filterOf(q).valueLiterals, null, JSON.stringify(q));
  }
});

test("rejects values without the literal, passes every other spelling of a match", () => {
  const q = { tenant: "t-7" };
  assert.equal(passes(q, '{"tenant":"t-7","n":1}'), true);
  assert.equal(passes(q, '{"tenant":"t-70"}'), false);
  assert.equal(passes(q, '{"tenant":"T-7"}'), false);
  assert.equal(passes(q, '{"other":"t-7"}'), true, "a superset: the literal anywhere passes");
  assert.equal(passes(q, '{"tenant":["x","t-7"]}'), true);
  assert.equal(passes(q, '{"tenant":"t\\u002d7"}'), true, "an escape anywhere: parsed");
  assert.equal(passes(q, '{"tenant":"t-8","msg":"say \\"hi\\""}'), true, "a backslash anywhere: parsed");
  assert.equal(passes({ city: "Zürich" }, '{"city":"Zürich"}'), true);
  assert.equal(passes({ city: "Zürich" }, '{"city":"Zurich"}'), false);
  // A string that can only be written with an escape never occurs in a value without a backslash.
  assert.equal(passes({ msg: 'say "hi"' }, '{"msg":"say hi"}'), false);
  assert.equal(passes({ msg: 'say "hi"' }, '{"msg":"say \\u0022hi\\u0022"}'), true);
  // The finder: no string hides the next, even one made of the text between two strings.
  assert.deepEqual([...new StringFinder([",", "b", "a.b"]).find('["a",  "b"]')].sort(), ["b"]);
  assert.deepEqual([...new StringFinder([",", "b"]).find('["a","b"]')].sort(), [",", "b"]);
  assert.deepEqual([...new StringFinder(["t-1", "t-10"]).find('{"x":"t-10"}')], ["t-10"]);
  assert.equal(passes({ a: "x", b: "y" }, '{"a":"x"}'), false);
  assert.equal(passes({ a: "x", b: "y" }, '{"b":"y","a":"x"}'), true);
});

/** Writes `v` as JSON text, spelled one of several equivalent ways. */
class Speller {
  private readonly rnd: () => number;
  constructor(seed: number) {
    this.rnd = mulberry32(seed);
  }

  /** `escapes`: whether strings may use backslash escapes (off: only spellings without one). */
  spell(v: JsonValue, escapes: boolean): string {
    const ws = () => (this.rnd() < 0.2 ? this.pick([" ", "\n", "\t ", "\r\n  "]) : "");
    if (v === null || typeof v === "boolean") return String(v);
    if (typeof v === "number") return this.number(v);
    if (typeof v === "string") return this.string(v, escapes);
    if (Array.isArray(v)) return `[${ws()}${v.map((x) => this.spell(x, escapes) + ws()).join(`,${ws()}`)}]`;
    const members = Object.entries(v).map(([k, x]) => `${ws()}${this.string(k, escapes)}${ws()}:${ws()}${this.spell(x, escapes)}${ws()}`);
    return `{${members.join(",")}}`;
  }

  private pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.rnd() * xs.length)] as T;
  }

  /** 500 as 500, 5e2, 5E+2, 500.0, 5.00e2, 50000e-2; the same double every time. */
  private number(n: number): string {
    const plain = JSON.stringify(n);
    const r = this.rnd();
    let s = plain;
    if (r < 0.2) s = n.toExponential();
    else if (r < 0.35) s = n.toExponential().toUpperCase();
    else if (r < 0.5 && Number.isInteger(n) && Math.abs(n) < 1e15) s = `${plain}.0`;
    else if (r < 0.6 && Number.isInteger(n) && Math.abs(n) < 1e15) s = `${plain}00e-2`;
    else if (r < 0.7 && Object.is(n, 0)) s = "0.000";
    else if (r < 0.75 && Object.is(n, -0)) s = "-0.0e5";
    s = s.replace("e+", this.rnd() < 0.5 ? "e" : "e+");
    try {
      return Object.is(JSON.parse(s), n) ? s : plain;
    } catch {
      return plain; // not JSON (0 as 000e-2)
    }
  }

  private string(s: string, escapes: boolean): string {
    const plain = JSON.stringify(s);
    if (!escapes || this.rnd() < 0.5) return plain;
    let out = "";
    for (const ch of s) {
      if (this.rnd() >= 0.3) out += JSON.stringify(ch).slice(1, -1);
      else if (ch === "/") out += "\\/";
      else {
        for (let i = 0; i < ch.length; i++) {
          const hex = ch.charCodeAt(i).toString(16).padStart(4, "0");
          out += `\\u${this.rnd() < 0.5 ? hex : hex.toUpperCase()}`;
        }
      }
    }
    return `"${out}"`;
  }
}

test(`sound on ${PAIRS} generated (query, document) pairs, each document in several spellings (seed ${SEED})`, () => {
  const gen = new QueryGenerator(SEED);
  const speller = new Speller(SEED + 1);
  let pairs = 0;
  let withLiterals = 0;
  let rejected = 0;
  let matchedUnescaped = 0;
  while (pairs < PAIRS) {
    const q = gen.query();
    let f: CompiledFilter;
    try {
      f = filterOf(q);
    } catch {
      continue; // refused by validation
    }
    const l = f.valueLiterals;
    if (l !== null) withLiterals++;
    // As in a shared scan: a finder of this filter's strings and other filters'.
    const finder = new StringFinder([...(l?.strings ?? []), ...QueryGenerator.STRINGS.slice(0, 1 + gen.int(8))]);
    for (let d = 0; d < 8 && pairs < PAIRS; d++, pairs++) {
      const doc = d % 2 === 0 ? gen.documentFor(q) : gen.document();
      for (const escapes of [false, true, true]) {
        const text = speller.spell(doc, escapes);
        const value = JSON.parse(text) as JsonValue;
        // (JSON.stringify writes -0 as 0; the speller may keep it: "-0.0e5".)
        assert.equal(JSON.stringify(value), JSON.stringify(doc), `the speller must not change the value: ${text}`);
        const matches = f.matchesValue(value);
        const verdict = l === null || l.test(text);
        assert.equal(l === null || l.testFound(text, finder.find(text)), verdict, `the finder disagrees on ${text}`);
        if (matches && !verdict) {
          assert.fail(`the prefilter rejected a match\nquery: ${JSON.stringify(q)}\nliterals: ${describeLiterals(f.indexCondition)}\nvalue: ${text}`);
        }
        if (!verdict) rejected++;
        if (matches && l !== null && !text.includes("\\")) matchedUnescaped++;
      }
    }
  }
  // Not vacuous: many queries have literals, the prefilter rejects values, and matches without escapes were tested.
  assert.ok(withLiterals > PAIRS / 8 / 10, `queries with literals: ${withLiterals}`);
  assert.ok(rejected > PAIRS / 10, `values rejected: ${rejected}`);
  assert.ok(matchedUnescaped > PAIRS / 100, `matches spelled without escapes: ${matchedUnescaped}`);
});
