// The longest text every match of an RE2 pattern must contain, as grep's
// literal prefilter finds it: "sign(ed)? in" can only match a string that
// contains "sign" and " in", so a string without " in" is no match and the
// regex need not run. The filter index tests it as a cheap check before the
// predicate (index-term.ts).
//
// Sound, not complete: the walk reads only the pattern's top level, and any
// construct it does not fully understand ends the current run of literal
// characters or gives up altogether. Gives up (null) on case folding (the i
// option or any inline flag group), on a top-level alternation, and on
// patterns it cannot read to the end.

/** Characters that mean something in RE2 outside a class. */
const META = new Set([..."\\.+*?()|[]{}^$"]);

/**
 * The longest literal every match contains (at least `min` characters), or
 * null. `options` are the $options letters: with "i" there is none.
 */
export function requiredLiteral(pattern: string, options: string, min = 3): string | null {
  if (options.includes("i") || pattern.includes("(?")) return null;
  let best = "";
  let run = "";
  /** UTF-16 units at the end of the run that the atom just read added (a quantifier applies to them); 0: not a literal. */
  let lastAtom = 0;
  const endRun = () => {
    if (run.length > best.length) best = run;
    run = "";
  };
  let i = 0;
  while (i < pattern.length) {
    const c = pattern[i]!;
    // Quantifiers apply to the atom before them.
    if (c === "*" || c === "?" || c === "+" || (c === "{" && /^\{\d+(,\d*)?\}/.test(pattern.slice(i)))) {
      let optional = c === "*" || c === "?";
      let end = i + 1;
      if (c === "{") {
        const m = /^\{(\d+)(,\d*)?\}/.exec(pattern.slice(i))!;
        optional = Number(m[1]) === 0;
        end = i + m[0].length;
      }
      if (pattern[end] === "?") end++; // lazy
      // A literal atom: without it when optional; a repeat ends the run either way.
      if (optional && lastAtom > 0) run = run.slice(0, -lastAtom);
      endRun();
      lastAtom = 0;
      i = end;
      continue;
    }
    if (c === "|") return null; // a top-level alternation: either side may match alone
    if (c === "\\") {
      const d = pattern[i + 1];
      if (d === undefined) return null;
      if (d === "Q") {
        // \Q...\E: everything literal.
        const close = pattern.indexOf("\\E", i + 2);
        const text = pattern.slice(i + 2, close < 0 ? undefined : close);
        run += text;
        // The last code point is the atom a quantifier after \E would apply to.
        lastAtom = ([...text].pop() ?? "").length;
        i = close < 0 ? pattern.length : close + 2;
        continue;
      }
      if (/[0-9]/.test(d)) return null; // an octal code: not read
      if (/[A-Za-z]/.test(d)) {
        // A class (\d, \w, \pL ...), an assertion (\b, \A, \z) or a code (\x41, \n): not read; ends the run.
        endRun();
        lastAtom = 0;
        i += 2;
        if ((d === "p" || d === "P" || d === "x") && pattern[i] === "{") {
          const close = pattern.indexOf("}", i);
          if (close < 0) return null;
          i = close + 1;
        } else if (d === "p" || d === "P") {
          i += 1; // \pL: one letter
        } else if (d === "x") {
          i += 2; // \x41: two hex digits
        }
        continue;
      }
      // An escaped punctuation character is itself.
      run += d;
      lastAtom = 1;
      i += 2;
      continue;
    }
    if (c === "[" || c === "(") {
      // A class or a group: not read, skipped whole; ends the run.
      const close = c === "[" ? classEnd(pattern, i) : groupEnd(pattern, i);
      if (close < 0) return null;
      endRun();
      lastAtom = 0;
      i = close + 1;
      continue;
    }
    if (META.has(c)) {
      // . ^ $ ) ] } and a { that is not a repeat: . and the anchors end the run; the rest is not read.
      if (c !== "." && c !== "^" && c !== "$") return null;
      endRun();
      lastAtom = 0;
      i++;
      continue;
    }
    // A plain character: a code point (a surrogate pair is two UTF-16 units).
    const ch = String.fromCodePoint(pattern.codePointAt(i)!);
    run += ch;
    lastAtom = ch.length;
    i += ch.length;
  }
  endRun();
  return best.length >= min ? best : null;
}

/** The index of the "]" closing the class that opens at `start`, or -1. */
function classEnd(p: string, start: number): number {
  let i = start + 1;
  if (p[i] === "^") i++;
  if (p[i] === "]") i++; // a leading ] is literal
  while (i < p.length) {
    if (p[i] === "\\") i += 2;
    else if (p[i] === "[" && p[i + 1] === ":") {
      const close = p.indexOf(":]", i + 2);
      if (close < 0) return -1;
      i = close + 2;
    } else if (p[i] === "]") return i;
    else i++;
  }
  return -1;
}

/** The index of the ")" closing the group that opens at `start`, or -1. */
function groupEnd(p: string, start: number): number {
  let depth = 0;
  let i = start;
  while (i < p.length) {
    const c = p[i]!;
    if (c === "\\") {
      i += 2;
      continue;
    }
    if (c === "[") {
      const close = classEnd(p, i);
      if (close < 0) return -1;
      i = close + 1;
      continue;
    }
    if (c === "(") depth++;
    else if (c === ")" && --depth === 0) return i;
    i++;
  }
  return -1;
}
