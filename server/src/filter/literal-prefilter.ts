// A literal prefilter on a value's JSON text, as grep's: from the query's
// index condition (index-term.ts: what every matching value MUST hold) derive
// strings every matching value's JSON text must contain, and search the text
// for them before parsing it. A scan of history (a backfill) then parses
// only the records that could match: for {"tenant":"t-7"} one in a thousand.
//
// Sound whatever the writer did. Text can spell one JSON value many ways, so
// only what has a single spelling becomes a literal:
// - A string has one spelling without backslash escapes (the characters
//   themselves between quotes), and every other spelling contains a
//   backslash. So a value whose text holds a backslash anywhere always
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
// held as an array element is still spelled between quotes.
//
// On the decoded text, not the bytes: a scan decodes each value once to parse
// it anyway, and Buffer.indexOf with a Buffer needle prepares its search on
// every call (800 ns on 300 bytes). A text search still costs ~500 ns on 300
// characters, so a scan shared by many filters finds the strings of all of
// them in one pass instead (StringFinder: one regex, ~700 ns whether 5 or
// 2,000 strings) and each filter looks its own up in what was found. Without
// a backslash the characters between a quote and the next are exactly one
// string of the value (or text between two strings, which only makes the
// finder find more), so a string is in the value only if the finder sees it.
// Tests:
// server/test/filter/literal-prefilter.test.ts (generated values written in
// every equivalent form).

import type { IndexCondition, IndexTerm } from "./index-term.js";

/**
 * What a query requires of a value's decoded JSON text (false: it cannot be
 * JSON the query matches, no need to parse it).
 */
export interface ValueLiterals {
  /** Searches the text. */
  test(text: string): boolean;
  /** The strings (as written in JSON, without quotes or escapes) it looks for: give them to a StringFinder. */
  readonly strings: readonly string[];
  /** The same verdict, with the strings a StringFinder that knows `strings` found in the text. */
  testFound(text: string, found: ReadonlySet<string>): boolean;
}

/** What the text must contain: a string of the value, a literal anywhere, all of, or any of. */
type Need =
  | { readonly kind: "string"; readonly quoted: string; readonly inner: string }
  | { readonly kind: "text"; readonly text: string }
  | { readonly kind: "all" | "any"; readonly of: readonly Need[] };

const text = (s: string): Need => ({ kind: "text", text: s });
const string = (v: string): Need => {
  const quoted = JSON.stringify(v);
  return { kind: "string", quoted, inner: quoted.slice(1, -1) };
};

/** The literal an index term requires, or null when it requires none that has a single spelling. */
function termNeed(t: IndexTerm): Need | null {
  if (t.kind !== "eq") return null; // a bound: numbers have many spellings
  if (t.values.length === 0) return null; // {$in: []} matches nothing; nothing to search for either
  const alternatives: Need[] = [];
  for (const v of t.values) {
    if (typeof v === "number") return null;
    alternatives.push(typeof v === "string" ? string(v) : text(String(v)));
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

function holds(n: Need, s: string, found: ReadonlySet<string> | null): boolean {
  switch (n.kind) {
    case "string":
      // (A string JSON.stringify escapes is never in a text without a backslash.)
      return found === null ? s.includes(n.quoted) : found.has(n.inner);
    case "text":
      return s.includes(n.text);
    case "all":
      for (const m of n.of) if (!holds(m, s, found)) return false;
      return true;
    case "any":
      for (const m of n.of) if (holds(m, s, found)) return true;
      return false;
  }
}

function stringsOf(n: Need, out: Set<string>): Set<string> {
  if (n.kind === "string") {
    if (!n.inner.includes("\\")) out.add(n.inner);
  } else if (n.kind !== "text") for (const m of n.of) stringsOf(m, out);
  return out;
}

/**
 * What a query's index condition requires of a value's text, or null when
 * it requires nothing that has a single spelling (every value must be parsed).
 */
export function valueLiterals(condition: IndexCondition | null): ValueLiterals | null {
  const n = condition === null ? null : need(condition);
  if (n === null) return null;
  return {
    test: (s) => s.includes("\\") || holds(n, s, null),
    strings: [...stringsOf(n, new Set())],
    testFound: (s, found) => s.includes("\\") || holds(n, s, found),
  };
}

const REGEX_META = /[\\^$.*+?()[\]{}|/]/g;

/**
 * Finds which of many strings a JSON text holds, in one pass: a regex that
 * stops at each quote followed by one of them and a quote (a lookahead, so
 * that no string hides another). The strings hold no quote or backslash, so
 * at most one of them fits at a quote. Linear in the text: an alternation of
 * plain literals, no quantifier.
 */
export class StringFinder {
  readonly #re: RegExp | null;

  constructor(strings: Iterable<string>) {
    const alts = [...new Set(strings)].map((s) => s.replace(REGEX_META, "\\$&"));
    this.#re = alts.length === 0 ? null : new RegExp(`"(?=(${alts.join("|")})")`, "g");
  }

  find(text: string): Set<string> {
    const found = new Set<string>();
    const re = this.#re;
    if (re === null) return found;
    re.lastIndex = 0;
    for (let m = re.exec(text); m !== null; m = re.exec(text)) found.add(m[1]!);
    return found;
  }
}

/** What the prefilter searches for, for logs and tests: `all("t-7", any("a", "b"))`; "" for none. */
export function describeLiterals(condition: IndexCondition | null): string {
  const n = condition === null ? null : need(condition);
  const show = (m: Need): string =>
    m.kind === "string" ? m.quoted : m.kind === "text" ? m.text : `${m.kind}(${m.of.map(show).join(", ")})`;
  return n === null ? "" : show(n);
}
