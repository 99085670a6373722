// A filter as the index holds it (shared by the index and its postings).
import type { PlanNode, PostedCheck, Unit } from "./index-plan.js";
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
  /** The check as its postings hold it (index-plan.ts: postedCheck). */
  posted: PostedCheck;
  /** A small number, unique among the index's entries (positions in its arrays of marks). */
  readonly ordinal: number;
  /**
   * The filter is exact (CompiledFilter.indexExact): on a value where all of
   * its paths are plain, its condition decides the match. Then the bits of
   * its paths (IndexedPath.bit), else NOT_EXACT (posting-arrays.ts).
   */
  readonly proof: number;
  /**
   * What is left to prove an exact entry's condition once it was reached and
   * its check held: null when the filing and the check cover the whole plan,
   * else the plan itself (a filing inside an $or branch covers only part of it).
   */
  verify: PlanNode | null;
  /**
   * Filed more than once (several values, $or branches, both terms of a pair
   * list): a value may reach it twice, so reaching it is deduplicated by
   * the index's mark at `ordinal`. An entry filed once needs no mark (its
   * bucket is reached at most once per value).
   */
  multi: boolean;
  /** Last sample after which it was reconsidered. */
  considered: number;
  /** Positions in the index's lists of entries (-1: not there). */
  pos: number;
  alwaysPos: number;
}
