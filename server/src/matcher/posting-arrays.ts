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
  readonly entries: Entry<T>[] = [];
  readonly items: T[] = [];
  /** The entry's check (Entry.check), and how it is held here (index-plan.ts: checkKind, holdsCheck). */
  readonly checks: Array<PlanNode | null> = [];
  readonly checkKinds: number[] = [];
  /** For a check of one equality or bound: its path and its scalar or bound. */
  readonly checkPaths: Array<IndexedPath | null> = [];
  readonly checkScalars: Scalar[] = [];
  /** Filed more than once: reaching it is deduplicated (by the index's marks, at `ordinals`). */
  readonly multi: boolean[] = [];
  readonly ordinals: number[] = [];
  /** Exact entries: the bits of their paths (Entry.proof); NOT_EXACT otherwise. */
  readonly proofs: number[] = [];
  /** Exact entries: what is left to prove (Entry.verify). */
  readonly verifies: Array<PlanNode | null> = [];

  get length(): number {
    return this.entries.length;
  }

  push(e: Entry<T>): void {
    this.entries.push(e);
    this.items.push(e.item);
    this.checks.push(e.check);
    this.checkKinds.push(checkKind(e.check));
    this.checkPaths.push(e.check?.path ?? null);
    this.checkScalars.push(e.check === null ? 0 : (e.check.single ?? e.check.bound));
    this.multi.push(e.multi);
    this.ordinals.push(e.ordinal);
    this.proofs.push(e.proof);
    this.verifies.push(e.verify);
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
