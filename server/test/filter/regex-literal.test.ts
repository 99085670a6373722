// The literal prefilter of $regex: every string a pattern matches contains
// the literal, checked on examples and on seeded random patterns and strings
// against re2js itself.
import assert from "node:assert/strict";
import { test } from "node:test";
import { RE2JS } from "re2js";
import { requiredLiteral } from "../../src/filter/regex-literal.js";
import { mulberry32 } from "../../src/util/prng.js";

test("the longest text every match contains", () => {
  const cases: Array<[string, string, string | null]> = [
    ["timeout", "", "timeout"],
    ["sign(ed)? in", "", "sign"],
    ["^slow query", "", "slow query"],
    ["error: .* failed$", "", "error: "],
    ["colou?r", "", "colo"],
    ["abc+def", "", "abc"],
    ["ab*cdef", "", "cdef"],
    ["x{0,3}yzzy", "", "yzzy"],
    ["abcx{2}yz", "", "abcx"],
    ["a\\.json$", "", "a.json"],
    ["\\Qa.b*c\\E+", "", "a.b*c"],
    ["\\Qa.b*c\\E?", "", "a.b*"],
    ["[a-z]+@example\\.com", "", "@example.com"],
    ["\\d+ items", "", " items"],
    ["\\pLname", "", "name"],
    ["\\p{Greek}alpha", "", "alpha"],
    ["\\x41BCD", "", "BCD"],
    ["ünïcödé", "", "ünïcödé"],
    ["abc\u{1F600}?de", "", "abc"],
    ["timeout", "i", null], // case folding
    ["(?i)timeout", "", null],
    ["timeout|refused", "", null], // either side alone
    ["(timeout|refused) after", "", " after"],
    ["ab", "", null], // shorter than 3
    ["\\101bc", "", null], // octal: not read
    ["a{", "", null], // a literal { in RE2: not read
    ["multi", "m", "multi"],
    ["dot.all", "s", "dot"],
  ];
  for (const [pattern, options, want] of cases) {
    RE2JS.compile(pattern, options.includes("i") ? RE2JS.CASE_INSENSITIVE : 0); // every case is valid RE2
    assert.equal(requiredLiteral(pattern, options), want, `${pattern} /${options}`);
  }
});

test("every string an RE2 pattern matches contains its literal: random patterns and strings", () => {
  const rnd = mulberry32(2_026_12_01);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const CHARS = ["a", "b", "c", " ", ".", "é", "\u{1F600}", "{", "}", "-"];
  const ATOMS = [
    () => pick(["a", "b", "c", " ", "é", "\u{1F600}", "-"]),
    () => "\\" + pick([".", "*", "{", "}", "(", "\\", "$", "-"]),
    () => pick([".", "[ab]", "[^a]", "[a-c]", "\\d", "\\w", "\\s", "\\b", "^", "$", "\\pL", "\\x61", "\\x{1F600}"]),
    () => `(${pick(["a", "ab", "b|c", "a*", "(?:bc)+", "[.]"])})`,
    () => `\\Q${pick(["a.", "b*c", "é{"])}\\E`,
  ];
  const QUANT = ["", "", "", "", "*", "+", "?", "{2}", "{0,2}", "{1,}", "*?", "+?"];
  const randomPattern = () => {
    let p = "";
    for (let n = 1 + Math.floor(rnd() * 6); n > 0; n--) p += pick(ATOMS)() + pick(QUANT);
    return rnd() < 0.1 ? `${p}|${pick(ATOMS)()}` : p;
  };
  const randomString = (p: string) => {
    // Mostly strings made of the pattern's own characters, so that matches are common.
    const from = rnd() < 0.7 ? [...p.replace(/\\[QE]/g, "")] : CHARS;
    let s = "";
    for (let n = Math.floor(rnd() * 14); n > 0; n--) s += pick(from);
    return s;
  };
  let checked = 0;
  let withLiteral = 0;
  for (let k = 0; k < 20_000; k++) {
    const pattern = randomPattern();
    let re: RE2JS;
    try {
      re = RE2JS.compile(pattern);
    } catch {
      continue;
    }
    const literal = requiredLiteral(pattern, "", 1);
    if (literal === null) continue;
    withLiteral++;
    for (let j = 0; j < 40; j++) {
      const s = randomString(pattern);
      if (!re.test(s)) continue;
      checked++;
      assert.ok(s.includes(literal), `${JSON.stringify(pattern)} matches ${JSON.stringify(s)}, which lacks ${JSON.stringify(literal)}`);
    }
  }
  assert.ok(withLiteral > 5_000, `patterns with a literal: ${withLiteral}`);
  assert.ok(checked > 20_000, `matching strings checked: ${checked}`);
});
