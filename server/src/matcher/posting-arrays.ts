// What a lookup reads about the filters filed in one place (a bucket, or a
// list of numeric bounds in sorted order), as parallel arrays: reaching the
// filter at position j reads position j of each and touches neither its
// entry nor its plan unless it must. At 100,000 filters those objects are
// spread over the heap and each first read of one is a cache miss, which
// costs more than all the rest of reaching it.
import type { Entry } from "./index-entry.js";
import { checkKind, type PlanNode } from "./index-plan.js";
import type { IndexedPath } from "./indexed-path.js";
import type { Scalar } from "./value-path.js";

/** `proofs` of an entry whose match the keys cannot prove. */
export const NOT_EXACT = -1;

export class PostingArrays<T> {
  // Not readonly: a first push replaces each empty array with a literal of
  // one element (append(), below): ten arrays reserving 17 places each were
  // 1.4 KB of each filter's 5 KB in a match worker.
  entries: Entry<T>[] = [];
  items: T[] = [];
  /** The entry's check (Entry.check), and how it is held here (index-plan.ts: checkKind, holdsCheck). */
  checks: Array<PlanNode | null> = [];
  checkKinds: number[] = [];
  /** For a check of one equality or bound: its path and its scalar or bound. */
  checkPaths: Array<IndexedPath | null> = [];
  checkScalars: Scalar[] = [];
  /** Filed more than once: reaching it is deduplicated (by the index's marks, at `ordinals`). */
  multi: boolean[] = [];
  ordinals: number[] = [];
  /** Exact entries: the bits of their paths (Entry.proof); NOT_EXACT otherwise. */
  proofs: number[] = [];
  /** Exact entries: what is left to prove (Entry.verify). */
  verifies: Array<PlanNode | null> = [];

  get length(): number {
    return this.entries.length;
  }

  push(e: Entry<T>): void {
    this.entries = append(this.entries, e);
    this.items = append(this.items, e.item);
    this.checks = append(this.checks, e.check);
    this.checkKinds = append(this.checkKinds, checkKind(e.check));
    this.checkPaths = append(this.checkPaths, e.check?.path ?? null);
    this.checkScalars = append(this.checkScalars, e.check === null ? 0 : (e.check.single ?? e.check.bound));
    this.multi = append(this.multi, e.multi);
    this.ordinals = append(this.ordinals, e.ordinal);
    this.proofs = append(this.proofs, e.proof);
    this.verifies = append(this.verifies, e.verify);
  }

  /** Removes position `pos` by moving the last position there. */
  swapRemove(pos: number): void {
    const last = this.entries.length - 1;
    if (pos !== last) {
      this.entries[pos] = this.entries[last]!;
      this.items[pos] = this.items[last]!;
      this.checks[pos] = this.checks[last]!;
      this.checkKinds[pos] = this.checkKinds[last]!;
      this.checkPaths[pos] = this.checkPaths[last]!;
      this.checkScalars[pos] = this.checkScalars[last]!;
      this.multi[pos] = this.multi[last]!;
      this.ordinals[pos] = this.ordinals[last]!;
      this.proofs[pos] = this.proofs[last]!;
      this.verifies[pos] = this.verifies[last]!;
    }
    this.entries.pop();
    this.items.pop();
    this.checks.pop();
    this.checkKinds.pop();
    this.checkPaths.pop();
    this.checkScalars.pop();
    this.multi.pop();
    this.ordinals.pop();
    this.proofs.pop();
    this.verifies.pop();
  }

  /** The entry at `pos` changed its multi flag since it was pushed. */
  refreshMulti(pos: number): void {
    this.multi[pos] = this.entries[pos]!.multi;
  }
}

/**
 * `a` with `x` at its end: a one-element literal when `a` is empty (a push
 * onto [] reserves 17 places, and most terms have one filter), else `a`.
 */
export function append<X>(a: X[], x: X): X[] {
  if (a.length === 0) return [x];
  a.push(x);
  return a;
}
