// A filter as the index holds it (shared by the index and its postings).
import type { PlanNode, Unit } from "./index-plan.js";
import type { Posting } from "./postings.js";

export interface Entry<T> {
  readonly id: string;
  readonly item: T;
  /** The bound condition (null: a candidate for every value). */
  readonly plan: PlanNode | null;
  /** What it is filed under (empty with a plan: it can never match, e.g. {$in: []}). */
  filed: Unit[];
  postings: Posting<T>[];
  /** The rest of the condition, tested before the entry is returned (null: nothing). */
  check: PlanNode | null;
  /**
   * Filed more than once (several values, $or branches, both terms of a pair
   * list): a value may reach it twice, so reaching it is deduplicated by
   * `mark`. An entry filed once needs no mark (its bucket is reached at most
   * once per value), so the lookup need not even touch it.
   */
  multi: boolean;
  /** Last epoch that reached this entry. */
  mark: number;
  /** Last sample after which it was reconsidered. */
  considered: number;
  /** Positions in the index's lists of entries (-1: not there). */
  pos: number;
  alwaysPos: number;
}
