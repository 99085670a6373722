// Flow control: with a window of N, at most N delivered events are
// unacknowledged. Acks are cumulative. Memory is bounded by the window.
import { compare, type Position } from "./position.js";
import type { Epoch } from "../sequencer/types.js";

export class AckError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AckError";
  }
}

export class AckWindow {
  private readonly unacked: Position[] = [];
  private bell: (() => void) | null = null;
  lastAcked: Position | null = null;
  private lastDelivered: Position | null = null;

  constructor(
    readonly size: number,
    private readonly epochs: () => readonly Epoch[],
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
    const epochs = this.epochs();
    if (this.lastAcked && compare(epochs, p, this.lastAcked) <= 0) return false; // an old ack: nothing to do
    if (!this.lastDelivered || compare(epochs, p, this.lastDelivered) > 0) {
      throw new AckError("the event ID was not delivered to this subscription yet");
    }
    let i = 0;
    while (i < this.unacked.length && compare(epochs, this.unacked[i]!, p) <= 0) i++;
    this.unacked.splice(0, i);
    this.lastAcked = p;
    const b = this.bell;
    this.bell = null;
    b?.();
    return true;
  }

  /** Resolves after the next ack, `ms`, or abort. */
  wait(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(t);
        signal.removeEventListener("abort", done);
        resolve();
      };
      const t = setTimeout(done, ms);
      signal.addEventListener("abort", done, { once: true });
      this.bell = done;
    });
  }
}
