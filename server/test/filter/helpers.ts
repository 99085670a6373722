import { compileFilter, type CompiledFilter, type FilterSpec } from "../../src/filter/index.js";

/** A spec with defaults: topic "orders", everything else empty. */
export function spec(parts: Partial<FilterSpec> = {}): FilterSpec {
  return { topics: ["orders"], topicRegex: "", keyPrefix: [], keyRegex: "", query: "", projection: "", ...parts };
}

export function compile(parts: Partial<FilterSpec> = {}): CompiledFilter {
  return compileFilter(spec(parts));
}

/** A compiled query (as JSON text or a value to stringify) over topic "orders". */
export function q(query: string | object): CompiledFilter {
  return compile({ query: typeof query === "string" ? query : JSON.stringify(query) });
}
