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
