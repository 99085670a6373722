import { availableParallelism } from "node:os";

/** Match workers by default: one per core but one (the main thread reads, commits and serves), at least one. */
export function defaultMatchWorkers(): number {
  return Math.max(1, availableParallelism() - 1);
}
