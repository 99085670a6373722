// Where filters are filed: per path a Slot, holding per scalar a Bucket of
// entries, and the entries filed under numeric bounds on that path. A bucket
// can hold slots of its own (one level down): a filter filed under the pair
// {tenant: "t-1"} then {level: "warn"} sits in the "warn" bucket of the level
// slot of the "t-1" bucket of the tenant slot, so a value reaches it only when
// it holds both, at the cost of one more lookup for values holding "t-1".
//
// Every container counts the postings under it (`total`) and knows its
// parent, so a removal can drop containers that became empty.

import { RangePostings, type RangePosting } from "./range-postings.js";
import type { IndexedPath } from "./indexed-path.js";
import type { Scalar } from "./value-path.js";

/** An entry in a bucket (O(1) removal by position). */
export interface BucketPosting<E> {
  readonly entry: E;
  readonly bucket: Bucket<E>;
  pos: number;
}

/** An entry under a bound of a slot. */
export interface RangeSlotPosting<E> {
  readonly entry: E;
  readonly slot: Slot<E>;
  readonly list: RangePostings<E>;
  readonly posting: RangePosting<E>;
}

export type Posting<E> = BucketPosting<E> | RangeSlotPosting<E>;

export class Bucket<E> {
  readonly value: Scalar;
  readonly parent: Slot<E>;
  /** The entries, read per value; `postings` is the same list as removable records (positions match). */
  readonly entries: E[] = [];
  readonly postings: BucketPosting<E>[] = [];
  /** Second-level slots (only in buckets of top-level slots). */
  readonly subs: Slot<E>[] = [];
  total = 0;

  constructor(value: Scalar, parent: Slot<E>) {
    this.value = value;
    this.parent = parent;
  }

  /** The sub-slot for `path`, created if needed. */
  sub(path: IndexedPath): Slot<E> {
    for (const s of this.subs) if (s.path === path) return s;
    const s = new Slot<E>(path, this);
    this.subs.push(s);
    return s;
  }
}

export class Slot<E> {
  readonly path: IndexedPath;
  /** The bucket this slot is in (null: a top-level slot). */
  readonly parent: Bucket<E> | null;
  readonly lower = new RangePostings<E>(true);
  readonly upper = new RangePostings<E>(false);
  /** Postings anywhere under this slot. */
  total = 0;
  /** Buckets with postings (a field read per value: skip the key lookups when 0). */
  buckets = 0;
  /** Position in the index's list of top-level slots (-1: not in it). */
  listPos = -1;

  // One map per scalar type, so a lookup needs no key string (and 1, "1" and true stay apart).
  readonly #strings = new Map<string, Bucket<E>>();
  readonly #numbers = new Map<number, Bucket<E>>();
  #true: Bucket<E> | undefined = undefined;
  #false: Bucket<E> | undefined = undefined;

  constructor(path: IndexedPath, parent: Bucket<E> | null) {
    this.path = path;
    this.parent = parent;
  }

  bucket(v: Scalar): Bucket<E> | undefined {
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
  bucketFor(v: Scalar): Bucket<E> {
    let b = this.bucket(v);
    if (b) return b;
    b = new Bucket<E>(v, this);
    if (typeof v === "string") this.#strings.set(v, b);
    else if (typeof v === "number") this.#numbers.set(v, b);
    else if (v) this.#true = b;
    else this.#false = b;
    this.buckets++;
    return b;
  }

  #dropBucket(b: Bucket<E>): void {
    const v = b.value;
    if (typeof v === "string") this.#strings.delete(v);
    else if (typeof v === "number") this.#numbers.delete(v);
    else if (v) this.#true = undefined;
    else this.#false = undefined;
    this.buckets--;
  }

  /** Every bucket (for a path that may hold any key). */
  *allBuckets(): IterableIterator<Bucket<E>> {
    yield* this.#strings.values();
    yield* this.#numbers.values();
    if (this.#true) yield this.#true;
    if (this.#false) yield this.#false;
  }

  /** Counts a posting added in `bucket` (a bucket of `slot`) or, when null, under a bound of `slot`. */
  static added<E>(slot: Slot<E>, bucket: Bucket<E> | null): void {
    if (bucket) bucket.total++;
    for (let s: Slot<E> | null = slot; s !== null; s = s.parent ? s.parent.parent : null) {
      s.total++;
      if (s.parent) s.parent.total++;
    }
  }

  /** Uncounts a posting removed from `bucket` (or a bound) of `slot`, dropping the containers that became empty. */
  static removed<E>(slot: Slot<E>, bucket: Bucket<E> | null): void {
    if (bucket && --bucket.total === 0) slot.#dropBucket(bucket);
    for (let s: Slot<E> | null = slot; s !== null; ) {
      s.total--;
      const b: Bucket<E> | null = s.parent;
      if (b === null) break;
      if (s.total === 0) b.subs.splice(b.subs.indexOf(s), 1);
      if (--b.total === 0) b.parent.#dropBucket(b);
      s = b.parent;
    }
  }
}

/** Files `entry` in the bucket of `v` of `slot`. */
export function addToBucket<E>(entry: E, slot: Slot<E>, v: Scalar): BucketPosting<E> {
  const bucket = slot.bucketFor(v);
  const posting: BucketPosting<E> = { entry, bucket, pos: bucket.postings.length };
  bucket.postings.push(posting);
  bucket.entries.push(entry);
  Slot.added(slot, bucket);
  return posting;
}

/** Files `entry` under a numeric bound of `slot`. */
export function addToRange<E>(entry: E, slot: Slot<E>, lower: boolean, bound: number, inclusive: boolean): RangeSlotPosting<E> {
  const list = lower ? slot.lower : slot.upper;
  const posting = list.add(entry, bound, inclusive);
  Slot.added(slot, null);
  return { entry, slot, list, posting };
}

export function removePosting<E>(p: Posting<E>): void {
  if ("bucket" in p) {
    const { postings, entries } = p.bucket;
    const last = postings.pop()!;
    const lastEntry = entries.pop()!;
    if (last !== p) {
      postings[p.pos] = last;
      entries[p.pos] = lastEntry;
      last.pos = p.pos;
    }
    Slot.removed(p.bucket.parent, p.bucket);
  } else {
    p.list.delete(p.posting);
    Slot.removed(p.slot, null);
  }
}
