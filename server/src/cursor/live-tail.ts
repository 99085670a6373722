// The live tail of one stream: the most recent head-epoch matches with their
// records, shared by every cursor of the stream, so live subscribers get
// payloads without a second read of the source. Bounded: a cursor that falls
// behind the tail reads the index instead. Also the stream's wake-up bell.
//
// Memory: every tail draws on one TailBudget (--tail-budget-bytes), shared
// fairly: only the tails of streams with subscribers hold anything, each at
// most an equal share of the budget (and `capacity` entries), so the bytes
// held stay under the budget however many streams there are. A record that
// several streams matched is one object in all their tails: the budget's
// total counts it once.
//
// A ring buffer that grows (doubling) up to its capacity: a push costs the
// same however full the tail is, and a quiet stream does not pay for 1024
// empty slots. Records are kept compact (source/compact.ts): a record read
// as a view of a large response is copied out once, for all streams.
import type { SequencedMatch } from "../sequencer/sequencer.js";
import type { SourceRecord } from "../source/types.js";
import { compact } from "../source/compact.js";
import { totalmem } from "node:os";

/** The live tails' default budget: 256 MiB, or an eighth of the machine's memory if that is less. */
export function defaultTailBudgetBytes(): number {
  return Math.min(256 * 1024 ** 2, Math.floor(totalmem() / 8));
}

/** Something waiting for the stream's next commit (a cursor). */
export interface TailWaiter {
  wake(): void;
}

/**
 * What an entry costs beyond its record's buffers: the match, its row, the
 * record object, its Buffer objects and their allocations, the ring's slots
 * (about 450 bytes in a heap snapshot). What the API derives from a record
 * is kept for recent records only (api/recent-records.ts), not per entry.
 */
export const ENTRY_OVERHEAD_BYTES = 512;

/** The bytes a record's buffers hold. */
export function recordBytes(r: SourceRecord): number {
  let n = (r.value?.byteLength ?? 0) + (r.key?.byteLength ?? 0);
  for (const [k, v] of r.headers) n += k.length + v.byteLength;
  return n;
}

/** The memory all live tails share (one per engine). */
export class TailBudget {
  /** Bytes held by all tails, each record counted once (ENTRY_OVERHEAD_BYTES per entry included). */
  bytes = 0;
  /** Records held, by how many entries hold them (only while held: bounded by the entries). */
  readonly #refs = new Map<SourceRecord, number>();
  readonly #active = new Set<LiveTail>();

  constructor(readonly limitBytes: number) {}

  /** Tails that may hold entries now (their streams have subscribers). */
  get activeTails(): number {
    return this.#active.size;
  }

  /** What one active tail may hold. */
  get share(): number {
    return Math.floor(this.limitBytes / Math.max(1, this.#active.size));
  }

  /** `t`'s stream got a subscriber: it may hold entries; the others' shares shrink (trimmed now). */
  activate(t: LiveTail): void {
    if (this.#active.has(t)) return;
    this.#active.add(t);
    t.active = true;
    const share = this.share;
    for (const x of this.#active) x.trimTo(share);
  }

  /** `t`'s stream has no subscriber any more: it holds nothing. */
  deactivate(t: LiveTail): void {
    if (!this.#active.delete(t)) return;
    t.active = false;
    t.trimTo(0);
  }

  hold(r: SourceRecord, size: number): void {
    const n = this.#refs.get(r) ?? 0;
    this.#refs.set(r, n + 1);
    this.bytes += ENTRY_OVERHEAD_BYTES + (n === 0 ? size : 0);
  }

  drop(r: SourceRecord, size: number): void {
    const n = this.#refs.get(r) ?? 1;
    if (n <= 1) this.#refs.delete(r);
    else this.#refs.set(r, n - 1);
    this.bytes -= ENTRY_OVERHEAD_BYTES + (n <= 1 ? size : 0);
  }
}

export class LiveTail {
  private ring: Array<SequencedMatch | undefined> = [];
  /** The size (recordBytes) of each entry, at the same positions as `ring`. */
  private sizes: number[] = [];
  /** Index in `ring` of the oldest entry. */
  private first = 0;
  private count = 0;
  private epoch = -1;
  /** What the entries cost (ENTRY_OVERHEAD_BYTES + recordBytes each, shared records counted in full). */
  private held = 0;
  /** Set by the budget: only an active tail holds entries. */
  active = false;
  /** Made on first use: most streams of a busy server have few subscribers, many none. */
  private waiters: Set<TailWaiter> | null = null;
  private spare: Set<TailWaiter> | null = null;

  constructor(
    private readonly capacity: number,
    private readonly budget: TailBudget,
  ) {}

  /** Entries held (for tests and metrics). */
  get size(): number {
    return this.count;
  }

  /** Bytes the entries cost, shared records counted in full. */
  get bytes(): number {
    return this.held;
  }

  /** Called by the sequencer's append listener (any epoch: it also wakes cursors). */
  push(epoch: number, isHead: boolean, matches: readonly SequencedMatch[]): void {
    if (isHead && matches.length > 0 && this.active) {
      if (epoch !== this.epoch) this.trimTo(0);
      this.epoch = epoch;
      const share = this.budget.share;
      for (const m of matches) this.add(m, share);
    }
    const waiters = this.waiters;
    if (waiters === null || waiters.size === 0) return;
    // Swapped, not copied: a woken cursor registers again later (it resumes in a
    // microtask), so the set being walked never grows under the walk.
    this.waiters = this.spare ?? new Set();
    this.spare = waiters;
    for (const w of waiters) w.wake();
    waiters.clear();
  }

  /** Up to `max` entries after `seq` of `epoch`, if the tail still holds seq + 1. */
  after(epoch: number, seq: number, max: number): SequencedMatch[] | null {
    if (epoch !== this.epoch || this.count === 0) return null;
    const oldest = this.at(0).row.seq;
    const i = seq + 1 - oldest;
    if (i < 0 || i >= this.count) return null;
    const n = Math.min(max, this.count - i);
    const out = new Array<SequencedMatch>(n);
    for (let k = 0; k < n; k++) out[k] = this.at(i + k);
    return out;
  }

  /** Wakes `w` once on the next push. Registering again before that push changes nothing. */
  notify(w: TailWaiter): void {
    (this.waiters ??= new Set()).add(w);
  }

  /** Forgets a waiter that no longer waits (its subscription ended). */
  forget(w: TailWaiter): void {
    this.waiters?.delete(w);
  }

  /** Drops the oldest entries until the tail costs at most `bytes` (0: empties it and frees its ring). */
  trimTo(bytes: number): void {
    while (this.count > 0 && this.held > bytes) this.dropOldest();
    if (this.count === 0) {
      this.ring = [];
      this.sizes = [];
      this.first = 0;
    }
  }

  private at(i: number): SequencedMatch {
    return this.ring[(this.first + i) % this.ring.length]!;
  }

  private dropOldest(): void {
    const m = this.ring[this.first]!;
    const size = this.sizes[this.first]!;
    this.ring[this.first] = undefined;
    this.first = (this.first + 1) % this.ring.length;
    this.count--;
    this.held -= ENTRY_OVERHEAD_BYTES + size;
    this.budget.drop(m.record, size);
  }

  private add(match: SequencedMatch, share: number): void {
    if (this.capacity <= 0) return;
    // Kept for long: the record must not pin the source's read buffer with it.
    const record = compact(match.record);
    const m = record === match.record ? match : { row: match.row, record };
    const size = recordBytes(record);
    const cost = ENTRY_OVERHEAD_BYTES + size;
    if (cost > share) {
      // Larger than this tail's share: not held (the cursor reads it from the index), and nothing older is either,
      // since the tail must hold a run of consecutive seqs.
      this.trimTo(0);
      return;
    }
    // Room by the share first, then by count (the newest replaces the oldest).
    while (this.count > 0 && (this.held + cost > share || this.count >= this.capacity)) this.dropOldest();
    if (this.count === this.ring.length) {
      // Full below capacity: grow, unrolling the ring so that it starts at 0.
      const n = Math.min(this.capacity, Math.max(4, this.ring.length * 2));
      const ring = new Array<SequencedMatch | undefined>(n);
      const sizes = new Array<number>(n);
      for (let k = 0; k < this.count; k++) {
        const j = (this.first + k) % this.ring.length;
        ring[k] = this.ring[j];
        sizes[k] = this.sizes[j]!;
      }
      this.ring = ring;
      this.sizes = sizes;
      this.first = 0;
    }
    const j = (this.first + this.count) % this.ring.length;
    this.ring[j] = m;
    this.sizes[j] = size;
    this.count++;
    this.held += cost;
    this.budget.hold(record, size);
  }
}
