// A literal prefilter on a value's raw bytes, as grep's: from the query's
// index condition (index-term.ts: what every matching value MUST hold) derive
// byte strings every matching value's JSON text must contain, and search the
// bytes for them before parsing. A scan of history (a backfill) then parses
// only the records that could match: for {"tenant":"t-7"} one in a thousand.
//
// Sound whatever the writer did. Text can spell one JSON value many ways, so
// only what has a single spelling becomes a literal:
// - A string has one spelling without backslash escapes (the characters
//   themselves, in UTF-8, between quotes), and every other spelling contains
//   a backslash. So a value whose bytes hold a backslash anywhere always
//   passes (it is parsed), and otherwise `"t-7"` must be there verbatim. A
//   string that JSON.stringify escapes (a quote, a control character, a lone
//   surrogate) can only be written with a backslash: its literal keeps the
//   escape and never occurs in a value without one, which is right.
// - `true` and `false` have one spelling each.
// - A number has many (500, 5e2, 500.0, 5.00E+2): it gives no literal, and
//   neither do ranges.
// - A regex's required text (regex-literal.ts) is a substring of some string
//   in the value: the same rule as a string, without the quotes.
// The index condition already leaves out what gives no sound term ($ne,
// $nin, $not, $nor, $exists, $type, ...) and keeps a $or only when every
// branch has one; here an "or" whose branch yields no literal yields none,
// and an "and" keeps the members that do. Arrays change nothing: a value
// held as an array element is still spelled between quotes. Tests:
// server/test/filter/literal-prefilter.test.ts (generated values written in
// every equivalent form).

import type { IndexCondition, IndexTerm } from "./index-term.js";

/** false: the value's bytes cannot be a JSON text the query matches (no need to parse them). */
export type ValuePrefilter = (value: Uint8Array) => boolean;

/** What the bytes must contain: a literal, all of, or any of. */
type Need =
  | { readonly kind: "text"; readonly bytes: Buffer }
  | { readonly kind: "all" | "any"; readonly of: readonly Need[] };

const BACKSLASH = 0x5c;

const text = (s: string): Need => ({ kind: "text", bytes: Buffer.from(s, "utf8") });

/** The literal an index term requires, or null when it requires none that has a single spelling. */
function termNeed(t: IndexTerm): Need | null {
  if (t.kind !== "eq") return null; // a bound: numbers have many spellings
  if (t.values.length === 0) return null; // {$in: []} matches nothing; nothing to search for either
  const alternatives: Need[] = [];
  for (const v of t.values) {
    if (typeof v === "number") return null;
    alternatives.push(text(typeof v === "string" ? JSON.stringify(v) : String(v)));
  }
  return alternatives.length === 1 ? alternatives[0]! : { kind: "any", of: alternatives };
}

function need(c: IndexCondition): Need | null {
  switch (c.kind) {
    case "has": {
      const inner = JSON.stringify(c.text).slice(1, -1);
      return inner === "" ? null : text(inner);
    }
    case "and": {
      const of = c.of.map(need).filter((n): n is Need => n !== null);
      if (of.length === 0) return null;
      return of.length === 1 ? of[0]! : { kind: "all", of };
    }
    case "or": {
      const of: Need[] = [];
      for (const m of c.of) {
        const n = need(m);
        if (n === null) return null; // that branch may match a value without any literal
        of.push(n);
      }
      return { kind: "any", of };
    }
    default:
      return termNeed(c);
  }
}

function holds(n: Need, bytes: Buffer): boolean {
  switch (n.kind) {
    case "text":
      return bytes.indexOf(n.bytes) !== -1;
    case "all":
      for (const m of n.of) if (!holds(m, bytes)) return false;
      return true;
    case "any":
      for (const m of n.of) if (holds(m, bytes)) return true;
      return false;
  }
}

const asBuffer = (v: Uint8Array): Buffer => (Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength));

/**
 * The prefilter of a query's index condition, or null when the query
 * requires no literal (every value must be parsed).
 */
export function literalPrefilter(condition: IndexCondition | null): ValuePrefilter | null {
  const n = condition === null ? null : need(condition);
  if (n === null) return null;
  return (value) => {
    const bytes = asBuffer(value);
    return bytes.indexOf(BACKSLASH) !== -1 || holds(n, bytes);
  };
}

/** What a prefilter searches for, for logs and tests: `all("t-7", any("a", "b"))`; "" for none. */
export function describeLiterals(condition: IndexCondition | null): string {
  const n = condition === null ? null : need(condition);
  const show = (m: Need): string =>
    m.kind === "text" ? m.bytes.toString("utf8") : `${m.kind}(${m.of.map(show).join(", ")})`;
  return n === null ? "" : show(n);
}
