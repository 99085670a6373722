// The live tail of one stream: the most recent head-epoch matches with their
// records, shared by every cursor of the stream, so live subscribers get
// payloads without a second read of the source. Bounded: a cursor that falls
// behind the tail reads the index instead. Also the stream's wake-up bell.
import type { SequencedMatch } from "../sequencer/sequencer.js";

export class LiveTail {
  private entries: SequencedMatch[] = [];
  private epoch = -1;
  private waiters = new Set<() => void>();

  constructor(private readonly capacity: number) {}

  /** Called by the sequencer's append listener (any epoch: it also wakes cursors). */
  push(epoch: number, isHead: boolean, matches: readonly SequencedMatch[]): void {
    if (isHead && matches.length > 0) {
      if (epoch !== this.epoch) {
        this.entries = [];
        this.epoch = epoch;
      }
      this.entries.push(...matches);
      const excess = this.entries.length - this.capacity;
      if (excess > 0) this.entries.splice(0, excess);
    }
    const waiters = this.waiters;
    this.waiters = new Set();
    for (const w of waiters) w();
  }

  /** Up to `max` entries after `seq` of `epoch`, if the tail still holds seq + 1. */
  after(epoch: number, seq: number, max: number): SequencedMatch[] | null {
    if (epoch !== this.epoch || this.entries.length === 0) return null;
    const first = this.entries[0]!.row.seq;
    const i = seq + 1 - first;
    if (i < 0 || i >= this.entries.length) return null;
    return this.entries.slice(i, i + max);
  }

  /** Resolves on the next push, after `ms`, or when `signal` aborts. */
  wait(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener("abort", done);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener("abort", done, { once: true });
      this.waiters.add(done);
    });
  }
}
