// What ends a subscription's delivery (the client went, the server shuts
// down, a deadline passed), and writing with backpressure until then. A Stop
// is what an AbortController gives the cursor, without an EventTarget, its
// listener Map and an AbortSignal per subscriber (bench/fanout-memory.mjs).
import type { StopSignal } from "../cursor/cursor.js";
import type { Reply } from "./transport/reply.js";

type Listener = { handleEvent(): void };

export class Stop implements StopSignal {
  aborted = false;
  #listeners: Listener[] | null = null;

  addEventListener(_type: "abort", listener: Listener): void {
    if (this.aborted) return;
    (this.#listeners ??= []).push(listener);
  }

  removeEventListener(_type: "abort", listener: Listener): void {
    const ls = this.#listeners;
    const i = ls === null ? -1 : ls.indexOf(listener);
    if (i >= 0) ls!.splice(i, 1);
  }

  /** As a listener of another signal (the server's shutdown): stops with it, without a closure. */
  handleEvent(): void {
    this.abort();
  }

  /** Stops, once: every listener is told (each at most once). */
  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    const ls = this.#listeners;
    this.#listeners = null;
    if (ls !== null) for (const l of ls) l.handleEvent();
  }
}

/** Writes and waits for the stream to drain (or the stop): a slow reader holds only its cursor, never a growing buffer. */
export function write(res: Reply, chunk: string | Uint8Array, stop: StopSignal): Promise<void> {
  if (res.write(chunk)) return Promise.resolve();
  return new Promise((resolve) => {
    const waiter = {
      handleEvent: () => {
        res.off("drain", waiter.handleEvent);
        stop.removeEventListener("abort", waiter);
        resolve();
      },
    };
    res.on("drain", waiter.handleEvent);
    stop.addEventListener("abort", waiter);
  });
}
