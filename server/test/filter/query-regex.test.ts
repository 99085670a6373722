// $regex patterns that are plain strings (maybe anchored) are matched with
// string methods instead of re2js; they must agree with re2js exactly.

import assert from "node:assert/strict";
import { test } from "node:test";
import { compileRegex } from "../../src/filter/regex.js";
import { q } from "./helpers.js";

test("plain-string patterns agree with RE2, anchors and options included", () => {
  const patterns = ["", "^", "$", "^$", "b", "^a", "b$", "^ab$", "a b", "é", "\u{1F600}", "-_/#:'\"", "\\$", "a$b", "^^a"];
  const inputs = ["", "a", "b", "ab", "ab\n", "a\nb", "\nab", "xaby", "a b", "é", "e\u0301", "\u{1F600}", "$", "a$b", "-_/#:'\""];
  for (const pattern of patterns) {
    for (const options of ["", "s", "m", "i"]) {
      let re;
      try {
        re = compileRegex(pattern, options, "query", "query");
      } catch {
        continue; // not valid RE2
      }
      const f = q({ s: options ? { $regex: pattern, $options: options } : { $regex: pattern } });
      for (const s of inputs) {
        assert.equal(f.matchesValue({ s }), re.test(s), `${JSON.stringify(pattern)} /${options} on ${JSON.stringify(s)}`);
      }
    }
  }
});
