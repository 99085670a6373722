// One running subscription of the console. Pause stops taking items from
// the SDK: the SDK stops acking, and with the window the server stops
// sending after at most WINDOW unacknowledged events. The page holds those
// few; the rest wait in the server's index, not in the browser.
import type { GrepClient, GrepFilter, GrepStreamsError, ProgressItem, Start, Subscription } from "@grep-streams/sdk";
import { rowOf, type Row } from "./rows";

export const WINDOW = 1000;

export type StreamState =
  | { readonly kind: "connecting" }
  | { readonly kind: "live" }
  | { readonly kind: "paused" }
  | { readonly kind: "reconnecting"; readonly attempt: number; readonly error: GrepStreamsError }
  | { readonly kind: "stopped" }
  | { readonly kind: "error"; readonly error: unknown };

export interface StreamHandlers {
  onRows(rows: Row[]): void;
  /** A gap's last ID is a resume point like an event's. */
  onGap(count: number, reason: string, toEventId: string): void;
  onProgress(p: ProgressItem): void;
  onStarted(warnings: readonly string[], reconnected: boolean): void;
  onState(s: StreamState): void;
}

export class LiveStream {
  private paused = false;
  private wake: (() => void) | undefined;
  private readonly sub: Subscription;
  private stopped = false;

  constructor(client: GrepClient, filter: GrepFilter, start: Start, private readonly h: StreamHandlers) {
    this.sub = client.subscribe(filter, {
      start,
      window: WINDOW,
      includeStarted: true,
      onReconnect: (attempt, error) => h.onState({ kind: "reconnecting", attempt, error }),
    });
    h.onState({ kind: "connecting" });
    void this.run();
  }

  get isPaused(): boolean {
    return this.paused;
  }

  pause(): void {
    if (this.stopped || this.paused) return;
    this.paused = true;
    this.h.onState({ kind: "paused" });
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.h.onState({ kind: "live" });
    this.wake?.();
  }

  stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    return this.sub.close();
  }

  private async run(): Promise<void> {
    // Items arrive one at a time; rows go to the table in batches, one per
    // turn of the event loop at most, so a burst costs one redraw.
    let batch: Row[] = [];
    let flushing = false;
    const flush = () => {
      flushing = false;
      // After stop() nothing more is shown: the resume point is the last row shown.
      if (batch.length === 0 || this.stopped) return;
      const rows = batch;
      batch = [];
      this.h.onRows(rows);
    };
    try {
      for await (const item of this.sub) {
        if (this.paused) {
          flush();
          await new Promise<void>((resolve) => (this.wake = resolve));
          this.wake = undefined;
        }
        if (this.stopped) break;
        switch (item.type) {
          case "event":
            batch.push(rowOf(item.event));
            if (!flushing) {
              flushing = true;
              setTimeout(flush, 0);
            }
            break;
          case "gap":
            flush();
            this.h.onGap(item.count, item.reason, item.toEventId);
            break;
          case "progress":
            this.h.onProgress(item);
            break;
          case "started":
            this.h.onStarted(item.warnings, item.reconnected);
            if (!this.paused) this.h.onState({ kind: "live" });
            break;
        }
      }
      flush();
      this.h.onState({ kind: "stopped" });
    } catch (err) {
      flush();
      this.h.onState(this.stopped ? { kind: "stopped" } : { kind: "error", error: err });
    }
  }
}
