// Limits on untrusted filter input. Each bounds the work or memory one filter
// can cost, at compile time or per message.

/** Query JSON text, in UTF-8 bytes. */
export const MAX_QUERY_BYTES = 64 * 1024;
/** Projection JSON text, in UTF-8 bytes. */
export const MAX_PROJECTION_BYTES = 64 * 1024;
/** Nesting of arrays and objects in the query (the top-level object is depth 1). */
export const MAX_QUERY_DEPTH = 32;
/** One regular expression pattern, in UTF-8 bytes. */
export const MAX_REGEX_BYTES = 1024;
/**
 * Instructions of one compiled regular expression. RE2 matching is linear in
 * the input, but its constant grows with the program (the NFA fallback does
 * up to one step per instruction per input character), so a 1 KiB pattern
 * like `(?:a.{990}Z|b.{991}Z|...)` must not be allowed to cost seconds.
 */
export const MAX_REGEX_PROGRAM = 2000;
/** All regular expressions of one query together, in compiled instructions. */
export const MAX_QUERY_REGEX_PROGRAM = 10_000;
/** Topic names in `topics`. */
export const MAX_TOPICS = 10_000;
/** Elements of `key_prefix`. */
export const MAX_KEY_PREFIX = 256;

// Query cost. A compiled query evaluates every operator over the values of
// its path, so the work per message grows with the number of operators, the
// length of value lists and the regexes; these bound it at validation time.

/** Field conditions plus operators (every "$..." key except $options) in one query. */
export const MAX_QUERY_CONDITIONS = 1000;
/** Values in one $in, $nin or $all array. */
export const MAX_QUERY_LIST = 10_000;
/** `$regex` operators in one query (each occurrence counts, even of the same pattern). */
export const MAX_QUERY_REGEXES = 64;
/**
 * Segments of one field path ("a.b.c" has 3). MongoDB documents nest at most
 * 100 levels, so a longer path can never name anything; the bound also keeps
 * the path walk's recursion shallow whatever the value looks like.
 */
export const MAX_PATH_SEGMENTS = 100;

// Evaluation cost. Validation bounds the query; these bound what one
// evaluation may spend on a hostile value (a huge array, a huge string).
// Beyond them the value does not match (deterministically: the same query and
// value always give the same answer).

/**
 * Characters (UTF-16 code units) of one string a regex is run on: a longer
 * string is matched on its first MAX_REGEX_INPUT characters, as if it ended
 * there (so `$` and `\z` can match at the cut). re2js runs in time linear in
 * the input, at ~1-20 ns per character for everyday patterns; 128 KiB keeps
 * one test under ~3 ms while searching the strings of any realistic event
 * whole. Slow programs (re2js's NFA costs up to ~100 ns per instruction per
 * character) are bounded by MAX_REGEX_WORK instead.
 */
export const MAX_REGEX_INPUT = 128 * 1024;
/**
 * Regex work per evaluation, in characters x program instructions (the bound
 * RE2 guarantees on its NFA): a test is charged `input length x program size`
 * before it runs, and a test that would exceed what is left ends the
 * evaluation. 4 Mi units are ~0.3-0.6 s in re2js's worst case (~100 ns per
 * unit) and ~10 ms for everyday patterns, e.g. a 30-instruction pattern over
 * 140,000 characters of strings.
 */
export const MAX_REGEX_WORK = 4 * 1024 * 1024;
/**
 * Other work per evaluation, in steps: one array element looked at while
 * walking a path, one element or member compared against an array or object
 * literal. A step costs a few nanoseconds, so 4 Mi steps are ~10-20 ms; a
 * simple condition over an array of a million elements fits, a thousand
 * conditions over it do not.
 */
export const MAX_EVALUATION_STEPS = 4 * 1024 * 1024;
