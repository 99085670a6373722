// Where filters are filed: per path a Slot, holding per scalar a Bucket of
// entries, and the entries filed under numeric bounds on that path. A bucket
// can hold slots of its own (one level down): a filter filed under the pair
// {tenant: "t-1"} then {level: "warn"} sits in the "warn" bucket of the level
// slot of the "t-1" bucket of the tenant slot, so a value reaches it only when
// it holds both, at the cost of one more lookup for values holding "t-1".
//
// A bucket is the posting arrays of what a lookup reads (posting-arrays.ts),
// so that reaching a filter reads neither its entry nor a posting record: at
// 100,000 filters those reads are cache misses (and so would be a separate
// arrays object per bucket).
//
// Every container counts the postings under it (`total`) and knows its
// parent, so a removal can drop containers that became empty.

import type { Entry } from "./index-entry.js";
import type { IndexedPath } from "./indexed-path.js";
import { append, PostingArrays } from "./posting-arrays.js";
import { RangePostings, type RangePosting } from "./range-postings.js";
import type { Scalar } from "./value-path.js";

/** An entry in a bucket (O(1) removal by position). */
export interface BucketPosting<T> {
  readonly entry: Entry<T>;
  readonly bucket: Bucket<T>;
  pos: number;
}

/** An entry under a bound of a slot. */
export interface RangeSlotPosting<T> {
  readonly entry: Entry<T>;
  readonly slot: Slot<T>;
  readonly list: RangePostings<T>;
  readonly posting: RangePosting<T>;
}

export type Posting<T> = BucketPosting<T> | RangeSlotPosting<T>;

/** What a lookup reads (PostingArrays: one position per posting, the same positions as `postings`), and where it is. */
export class Bucket<T> extends PostingArrays<T> {
  readonly value: Scalar;
  readonly parent: Slot<T>;
  /** (Replaced by a one-element literal on the first posting: see PostingArrays.) */
  postings: BucketPosting<T>[] = [];
  /** Second-level slots (only in buckets of top-level slots). */
  readonly subs: Slot<T>[] = [];
  total = 0;
  /** Last epoch that looked at this bucket (a value holding a key twice looks once). */
  mark = 0;

  constructor(value: Scalar, parent: Slot<T>) {
    super();
    this.value = value;
    this.parent = parent;
  }

  /** The sub-slot for `path`, created if needed. */
  sub(path: IndexedPath): Slot<T> {
    for (const s of this.subs) if (s.path === path) return s;
    const s = new Slot<T>(path, this);
    this.subs.push(s);
    return s;
  }
}

export class Slot<T> {
  readonly path: IndexedPath;
  /** The bucket this slot is in (null: a top-level slot). */
  readonly parent: Bucket<T> | null;
  readonly lower = new RangePostings<T>(true);
  readonly upper = new RangePostings<T>(false);
  /** Postings anywhere under this slot. */
  total = 0;
  /** Buckets (a field read per value: skip the key lookups when 0). */
  buckets = 0;
  /** Position in the index's list of top-level slots (-1: not in it). */
  listPos = -1;

  // One map per scalar type, so a lookup needs no key string (and 1, "1" and true stay apart).
  readonly #strings = new Map<string, Bucket<T>>();
  readonly #numbers = new Map<number, Bucket<T>>();
  #true: Bucket<T> | undefined = undefined;
  #false: Bucket<T> | undefined = undefined;

  constructor(path: IndexedPath, parent: Bucket<T> | null) {
    this.path = path;
    this.parent = parent;
  }

  bucket(v: Scalar): Bucket<T> | undefined {
    switch (typeof v) {
      case "string":
        return this.#strings.get(v);
      case "number":
        return this.#numbers.get(v); // a Map treats 0 and -0 as one key, as MongoDB does
      default:
        return v ? this.#true : this.#false;
    }
  }

  /** The bucket for `v`, created if needed. */
  bucketFor(v: Scalar): Bucket<T> {
    let b = this.bucket(v);
    if (b) return b;
    b = new Bucket<T>(v, this);
    if (typeof v === "string") this.#strings.set(v, b);
    else if (typeof v === "number") this.#numbers.set(v, b);
    else if (v) this.#true = b;
    else this.#false = b;
    this.buckets++;
    return b;
  }

  #dropBucket(b: Bucket<T>): void {
    const v = b.value;
    if (typeof v === "string") this.#strings.delete(v);
    else if (typeof v === "number") this.#numbers.delete(v);
    else if (v) this.#true = undefined;
    else this.#false = undefined;
    this.buckets--;
  }

  /** Every bucket (for a path that may hold any key). */
  *allBuckets(): IterableIterator<Bucket<T>> {
    yield* this.#strings.values();
    yield* this.#numbers.values();
    if (this.#true) yield this.#true;
    if (this.#false) yield this.#false;
  }

  /** Counts a posting added in `bucket` (a bucket of `slot`) or, when null, under a bound of `slot`. */
  static added<T>(slot: Slot<T>, bucket: Bucket<T> | null): void {
    if (bucket) bucket.total++;
    for (let s: Slot<T> | null = slot; s !== null; s = s.parent ? s.parent.parent : null) {
      s.total++;
      if (s.parent) s.parent.total++;
    }
  }

  /** Uncounts a posting removed from `bucket` (or a bound) of `slot`, dropping the containers that became empty. */
  static removed<T>(slot: Slot<T>, bucket: Bucket<T> | null): void {
    if (bucket && --bucket.total === 0) slot.#dropBucket(bucket);
    for (let s: Slot<T> | null = slot; s !== null; ) {
      s.total--;
      const b: Bucket<T> | null = s.parent;
      if (b === null) break;
      if (s.total === 0) b.subs.splice(b.subs.indexOf(s), 1);
      if (--b.total === 0) b.parent.#dropBucket(b);
      s = b.parent;
    }
  }
}

/** Files `entry` in the bucket of `v` of `slot` (with the entry's current check). */
export function addToBucket<T>(entry: Entry<T>, slot: Slot<T>, v: Scalar): BucketPosting<T> {
  const bucket = slot.bucketFor(v);
  const posting: BucketPosting<T> = { entry, bucket, pos: bucket.postings.length };
  bucket.postings = append(bucket.postings, posting);
  bucket.push(entry);
  Slot.added(slot, bucket);
  return posting;
}

/** Files `entry` under a numeric bound of `slot`. */
export function addToRange<T>(entry: Entry<T>, slot: Slot<T>, lower: boolean, bound: number, inclusive: boolean): RangeSlotPosting<T> {
  const list = lower ? slot.lower : slot.upper;
  const posting = list.add(entry, bound, inclusive);
  Slot.added(slot, null);
  return { entry, slot, list, posting };
}

/** The entry's `multi` flag changed after it was posted: update its postings' copies. */
export function refreshMulti<T>(p: Posting<T>): void {
  if ("bucket" in p) p.bucket.refreshMulti(p.pos);
  else p.list.touch();
}

export function removePosting<T>(p: Posting<T>): void {
  if ("bucket" in p) {
    const b = p.bucket;
    // Move the last position into the removed one, here and in the arrays.
    const moved = b.postings.pop()!;
    if (moved !== p) {
      b.postings[p.pos] = moved;
      moved.pos = p.pos;
    }
    b.swapRemove(p.pos);
    Slot.removed(b.parent, b);
  } else {
    p.list.delete(p.posting);
    Slot.removed(p.slot, null);
  }
}
