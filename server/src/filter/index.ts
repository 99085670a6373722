// The filter module: parse, validate, canonicalise, compile and match
// grep-streams filters. See compile.ts for the entry point.

export { compileFilter, type CompiledFilter } from "./compile.js";
export { FilterError, type FilterField } from "./errors.js";
export type { FilterSpec } from "./spec.js";
export { parseKey, KEY_WILDCARD } from "./key.js";
export type {
  EqTerm, HasTerm, IndexAnd, IndexCondition, IndexOr, IndexScalar, IndexTerm, RangeTerm,
} from "./index-term.js";
export { StringFinder, type ValueLiterals } from "./literal-prefilter.js";
export { ALLOWED_QUERY_OPERATORS } from "./query-validate.js";
export * as filterLimits from "./limits.js";
