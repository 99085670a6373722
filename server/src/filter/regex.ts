// Regular expressions from filters are untrusted, so they are compiled with
// re2js (a port of RE2/Go regexp): matching takes time linear in the input and
// never backtracks. Native RegExp is never built from filter input.

import { RE2JS, RE2JSSyntaxException } from "re2js";
import { FilterError, type FilterField } from "./errors.js";
import { MAX_REGEX_BYTES, MAX_REGEX_PROGRAM } from "./limits.js";

/** The `$options` letters supported beside `$regex`, and their RE2 flags. */
const OPTION_FLAGS: Readonly<Record<string, number>> = {
  i: RE2JS.CASE_INSENSITIVE,
  m: RE2JS.MULTILINE,
  s: RE2JS.DOTALL,
};

export const REGEX_OPTIONS = Object.keys(OPTION_FLAGS).join("");

/**
 * Checks `$options` and returns its letters sorted and deduplicated, so that
 * "mi", "im" and "imi" are the same filter.
 */
export function normaliseRegexOptions(options: string, field: FilterField, location: string): string {
  const letters = new Set<string>();
  for (const ch of options) {
    if (!(ch in OPTION_FLAGS)) {
      throw new FilterError(
        field,
        location,
        `unsupported regex option ${JSON.stringify(ch)}; allowed: ${[...REGEX_OPTIONS].join(", ")}`,
      );
    }
    letters.add(ch);
  }
  return [...letters].sort().join("");
}

/** A compiled, linear-time regular expression (unanchored search, like grep). */
export interface LinearRegex {
  readonly source: string;
  readonly options: string;
  /** Compiled program size (a measure of the per-character matching cost). */
  readonly programSize: number;
  test(input: string): boolean;
}

/**
 * Compiles an RE2 pattern or throws a FilterError naming `location`.
 * `options` must already be normalised (letters from REGEX_OPTIONS).
 */
export function compileRegex(pattern: string, options: string, field: FilterField, location: string): LinearRegex {
  const bytes = Buffer.byteLength(pattern, "utf8");
  if (bytes > MAX_REGEX_BYTES) {
    throw new FilterError(field, location, `regex is too long: ${bytes} bytes (limit ${MAX_REGEX_BYTES} bytes)`);
  }
  let flags = 0;
  for (const ch of options) flags |= OPTION_FLAGS[ch] ?? 0;
  let re: RE2JS;
  try {
    re = RE2JS.compile(pattern, flags);
  } catch (err) {
    if (err instanceof RE2JSSyntaxException) {
      const at = err.getPattern();
      throw new FilterError(
        field,
        location,
        `invalid RE2 syntax: ${err.getDescription()}${at ? ` at ${JSON.stringify(at)}` : ""}`,
      );
    }
    throw new FilterError(field, location, `invalid RE2 regex: ${err instanceof Error ? err.message : String(err)}`);
  }
  const programSize = re.programSize();
  if (programSize > MAX_REGEX_PROGRAM) {
    throw new FilterError(
      field,
      location,
      `regex is too complex: it compiles to ${programSize} instructions (limit ${MAX_REGEX_PROGRAM}); use fewer or smaller counted repetitions like {n}`,
    );
  }
  return {
    source: pattern,
    options,
    programSize,
    test: (input: string) => re.test(input),
  };
}
