// When a group commit runs: the items submitted in one turn of the event
// loop go together (the flush runs at setImmediate), and while items that
// were announced (expect()) are still being prepared elsewhere (batches in
// the match workers) the flush waits for them, up to `waitMs` after the
// oldest queued item. A commit costs per transaction (an fsync) and per page
// it dirties, so fewer, larger ones are cheaper; the wait bounds what that
// adds to each item's latency.

interface Queued {
  /** When it was submitted (performance.now()). */
  readonly at: number;
}

export class GroupCommit<T extends Queued> {
  #queue: T[] = [];
  #scheduled = false;
  /** Items announced with expect() and not submitted yet. */
  #inFlight = 0;
  /** The timer of a flush that waits for them. */
  #waiting: NodeJS.Timeout | null = null;

  /**
   * @param flush takes the queued items (all of them: it may leave some
   *   with requeue() for the next turn) and commits them.
   */
  constructor(
    private readonly waitMs: number,
    private readonly flush: (queue: T[]) => void,
  ) {}

  submit(item: T): void {
    this.#queue.push(item);
    this.#schedule();
  }

  /** Items for the next turn's flush (what a flush did not take), ahead of newer ones. */
  requeue(items: T[]): void {
    if (items.length === 0) return;
    this.#queue = items.concat(this.#queue);
    this.#schedule();
  }

  /**
   * An item is being prepared: the next flush may wait for it (waitMs at
   * most). Call the returned function once it is submitted (just before, in
   * the same turn) or given up; a second call does nothing.
   */
  expect(): () => void {
    this.#inFlight++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.#inFlight--;
      if (this.#inFlight === 0 && this.#waiting !== null) {
        clearTimeout(this.#waiting);
        this.#waiting = null;
        this.#scheduled = false;
        this.#schedule();
      }
    };
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => this.#flushOrWait());
  }

  /** Flushes now, unless announced items are still being prepared and the oldest queued one can wait a little longer. */
  #flushOrWait(): void {
    if (this.#waiting !== null) return;
    const waited = this.#queue.length > 0 ? performance.now() - this.#queue[0]!.at : Infinity;
    if (this.#inFlight > 0 && waited < this.waitMs) {
      this.#waiting = setTimeout(() => {
        this.#waiting = null;
        this.#run();
      }, this.waitMs - waited);
      return;
    }
    this.#run();
  }

  #run(): void {
    this.#scheduled = false;
    if (this.#queue.length === 0) return;
    const queue = this.#queue;
    this.#queue = [];
    this.flush(queue);
  }
}
