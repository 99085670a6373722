// A position in a stream: after event (epoch, seq). Epochs are ordered by
// their position in the source (ord), not by number, so comparisons need the
// stream's epochs.
import type { Epoch } from "../sequencer/types.js";

export interface Position {
  readonly epoch: number;
  readonly seq: number;
}

export function compare(epochs: readonly Epoch[], a: Position, b: Position): number {
  if (a.epoch !== b.epoch) return ordOf(epochs, a.epoch) - ordOf(epochs, b.epoch);
  return a.seq - b.seq;
}

export function ordOf(epochs: readonly Epoch[], epoch: number): number {
  const e = epochs.find((x) => x.epoch === epoch);
  if (!e) throw new Error(`unknown epoch ${epoch}`);
  return e.ord;
}

/** The epoch after `epoch` in position order, if any. */
export function nextEpoch(epochs: readonly Epoch[], epoch: number): Epoch | undefined {
  const ord = ordOf(epochs, epoch);
  let best: Epoch | undefined;
  for (const e of epochs) if (e.ord > ord && (!best || e.ord < best.ord)) best = e;
  return best;
}

/** Matches after `pos` in the whole stream (the subscriber's lag). */
export function lagAfter(epochs: readonly Epoch[], pos: Position): number {
  const ord = ordOf(epochs, pos.epoch);
  let lag = 0;
  for (const e of epochs) {
    if (e.ord > ord) lag += e.lastSeq;
    else if (e.epoch === pos.epoch) lag += Math.max(0, e.lastSeq - pos.seq);
  }
  return lag;
}
