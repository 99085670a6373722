// Flow control: with a window of N, at most N delivered events are
// unacknowledged. Acks are cumulative. Memory is bounded by the window.
import { compare, type Position } from "./position.js";
import type { StreamRecord } from "../sequencer/types.js";

export class AckError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AckError";
  }
}

export class AckWindow {
  /** Delivered, unacknowledged positions, oldest first (only with a window). */
  private readonly unacked: Position[] = [];
  lastAcked: Position | null = null;
  private lastDelivered: Position | null = null;

  /**
   * @param stream whose epochs order positions
   * @param waiter woken after an ack that made progress (the cursor sleeps
   *   on it while the window is full). Objects, not closures: one of these
   *   lives per subscriber.
   */
  constructor(
    readonly size: number,
    private readonly stream: StreamRecord,
    private readonly waiter: { wake(): void } | null = null,
  ) {}

  get pending(): number {
    return this.unacked.length;
  }

  get full(): boolean {
    return this.size > 0 && this.unacked.length >= this.size;
  }

  delivered(p: Position): void {
    this.lastDelivered = p;
    if (this.size > 0) this.unacked.push(p);
  }

  /** Acknowledges everything up to and including `p`; false when `p` was acknowledged already. */
  ack(p: Position): boolean {
    const epochs = this.stream.epochs;
    if (this.lastAcked && compare(epochs, p, this.lastAcked) <= 0) return false; // an old ack: nothing to do
    if (!this.lastDelivered || compare(epochs, p, this.lastDelivered) > 0) {
      throw new AckError("the event ID was not delivered to this subscription yet");
    }
    let i = 0;
    while (i < this.unacked.length && compare(epochs, this.unacked[i]!, p) <= 0) i++;
    this.unacked.splice(0, i);
    this.lastAcked = p;
    this.waiter?.wake();
    return true;
  }
}
