// The live tail of one stream: the most recent head-epoch matches with their
// records, shared by every cursor of the stream, so live subscribers get
// payloads without a second read of the source. Bounded: a cursor that falls
// behind the tail reads the index instead. Also the stream's wake-up bell.
//
// A ring buffer that grows (doubling) up to its capacity: a push costs the
// same however full the tail is, and a quiet stream does not pay for 1024
// empty slots. Records are kept compact (source/compact.ts): a record read
// as a view of a large response is copied out once, for all streams.
import type { SequencedMatch } from "../sequencer/sequencer.js";
import { compact } from "../source/compact.js";

/** Something waiting for the stream's next commit (a cursor). */
export interface TailWaiter {
  wake(): void;
}

export class LiveTail {
  private ring: Array<SequencedMatch | undefined> = [];
  /** Index in `ring` of the oldest entry. */
  private first = 0;
  private count = 0;
  private epoch = -1;
  /** Made on first use: most streams of a busy server have few subscribers, many none. */
  private waiters: Set<TailWaiter> | null = null;
  private spare: Set<TailWaiter> | null = null;

  constructor(private readonly capacity: number) {}

  /** Entries held (for tests and metrics). */
  get size(): number {
    return this.count;
  }

  /** Called by the sequencer's append listener (any epoch: it also wakes cursors). */
  push(epoch: number, isHead: boolean, matches: readonly SequencedMatch[]): void {
    if (isHead && matches.length > 0) {
      if (epoch !== this.epoch) this.clear(epoch);
      for (const m of matches) this.add(m);
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

  private at(i: number): SequencedMatch {
    return this.ring[(this.first + i) % this.ring.length]!;
  }

  private add(match: SequencedMatch): void {
    if (this.capacity <= 0) return;
    // Kept for long: the record must not pin the source's read buffer with it.
    const record = compact(match.record);
    const m = record === match.record ? match : { row: match.row, record };
    if (this.count < this.ring.length) {
      this.ring[(this.first + this.count) % this.ring.length] = m;
      this.count++;
      return;
    }
    if (this.ring.length < this.capacity) {
      // Full below capacity: grow, unrolling the ring so that it starts at 0.
      const grown = new Array<SequencedMatch | undefined>(Math.min(this.capacity, Math.max(4, this.ring.length * 2)));
      for (let k = 0; k < this.count; k++) grown[k] = this.at(k);
      this.ring = grown;
      this.first = 0;
      this.ring[this.count++] = m;
      return;
    }
    // At capacity: the newest replaces the oldest.
    this.ring[this.first] = m;
    this.first = (this.first + 1) % this.ring.length;
  }

  private clear(epoch: number): void {
    this.ring = [];
    this.first = 0;
    this.count = 0;
    this.epoch = epoch;
  }
}
