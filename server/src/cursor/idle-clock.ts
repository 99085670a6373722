// One clock for the idle time of every cursor: a heartbeat is due after some
// time without output, and a timer
// per waiting cursor would be armed and cleared for every event delivered
// (a Timeout, a closure and a timer-list insertion per event per subscriber).
// Instead each open cursor is registered once, and one interval timer, only
// running while cursors are registered, ticks them all: each checks its own
// deadline. A deadline is met within one tick after it passes.

export interface IdleMember {
  /** Called on every tick with the time; wakes itself when something is due. */
  tick(now: number): void;
}

export class IdleClock {
  readonly #members = new Set<IdleMember>();
  #timer: NodeJS.Timeout | undefined;

  /**
   * @param tickMs how often members are ticked: the lateness a heartbeat may
   *   have (a heartbeat every 10 s arrives after 10 to 10 + tickMs s of silence).
   * @param now the time members measure idleness with (tests inject one).
   */
  constructor(readonly tickMs: number, readonly now: () => number = Date.now) {
    if (!(tickMs > 0)) throw new RangeError(`tickMs must be positive, got ${tickMs}`);
  }

  get size(): number {
    return this.#members.size;
  }

  add(m: IdleMember): void {
    this.#members.add(m);
    if (this.#timer === undefined) {
      this.#timer = setInterval(() => this.tickAll(), this.tickMs);
      // Open subscriptions keep their sockets, and those the process, alive: not this timer.
      this.#timer.unref();
    }
  }

  delete(m: IdleMember): void {
    this.#members.delete(m);
    if (this.#members.size === 0 && this.#timer !== undefined) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }

  /** Ticks every member now (the timer calls this; tests may too). */
  tickAll(): void {
    const now = this.now();
    for (const m of this.#members) m.tick(now);
  }

  close(): void {
    this.#members.clear();
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}

/** The tick for a heartbeat period: a tenth of it, between 10 ms and 1 s. */
export function tickFor(heartbeatMs: number): number {
  return Math.max(10, Math.min(1000, Math.floor(heartbeatMs / 10)));
}
