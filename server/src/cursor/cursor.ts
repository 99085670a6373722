// A cursor: one per subscription. Walks the stream's index in position order
// from a start position, attaches payloads (from the live tail, or read from
// the source by address), reports gaps, progress and heartbeats, and respects
// the subscriber's ack window. It holds at most one page in memory; the
// consumer pulls, so a slow client slows only its own cursor.
import type { Source, SourceRecord } from "../source/types.js";
import type { IndexStore } from "../sequencer/index-store.js";
import { headEpoch, type Epoch, type MatchRow, type StreamRecord } from "../sequencer/types.js";
import type { LiveTail, TailWaiter } from "./live-tail.js";
import type { IdleClock, IdleMember } from "./idle-clock.js";
import type { SequencedMatch } from "../sequencer/sequencer.js";
import { AckWindow } from "./ack-window.js";
import { lagAfter, nextEpoch, type Position } from "./position.js";
import { readPayloads } from "./payloads.js";
import { etaMs } from "../util/eta.js";

export interface ScanProgress {
  readonly scanned: number;
  readonly total: number;
  readonly matched: number;
  readonly startedAt: number;
}

/** What a cursor needs of its stream. */
export interface CursorStream {
  readonly record: StreamRecord;
  readonly tail: LiveTail;
  /** Progress of the scan filling `epoch`, while it runs. */
  scanProgress(epoch: number): ScanProgress | undefined;
}

export type CursorItem =
  | { readonly kind: "event"; readonly row: MatchRow; readonly record: SourceRecord }
  | { readonly kind: "gap"; readonly from: Position; readonly to: Position; readonly count: number; readonly reason: string }
  | { readonly kind: "progress"; readonly epoch: number; readonly scanned: number; readonly total: number; readonly matched: number; readonly etaMs: number }
  | { readonly kind: "heartbeat"; readonly head: Position; readonly lag: number };

/** Where delivered payloads came from, for metrics and tests. */
export interface DeliveryStats {
  /** Live matches passed through from the matcher (no read). */
  fromTail: number;
  /** Replayed matches read from the source by address. */
  fromSource: number;
}

/**
 * What ends a cursor: an AbortSignal, or anything as small that has its
 * `aborted` and calls `handleEvent()` of a listener object on abort.
 */
export interface StopSignal {
  readonly aborted: boolean;
  addEventListener(type: "abort", listener: { handleEvent(): void }, options?: { once?: boolean }): void;
  removeEventListener(type: "abort", listener: { handleEvent(): void }): void;
}

/** A page as read: matches with their records (the live tail's entries are these), or a run of missing ones. */
type PageEntry = SequencedMatch | { readonly record: undefined; readonly gap: MatchRow[] };

/** Shared by every cursor of an engine (one object, not one per subscriber). */
export interface CursorOptions {
  readonly stats: DeliveryStats;
  readonly heartbeatMs: number;
  readonly progressMs: number;
  readonly pageSize: number;
  /** Ticks idle cursors, for their heartbeats (one timer for all cursors). */
  readonly clock: IdleClock;
}

export class Cursor implements TailWaiter, IdleMember {
  readonly window: AckWindow;
  private pos: Position;
  /** When the last item went out (heartbeats are due heartbeatMs after it). */
  private lastOutput = 0;
  /** Resolves the pending sleep(); null while the cursor runs. */
  private bell: (() => void) | null = null;

  constructor(
    private readonly stream: CursorStream,
    private readonly store: IndexStore,
    private readonly source: Source,
    start: Position,
    /** At most this many unacknowledged events; 0: no window. */
    window: number,
    private readonly opts: CursorOptions,
  ) {
    this.pos = start;
    this.window = new AckWindow(window, stream.record, this);
  }

  /** The position after the last item delivered. */
  get position(): Position {
    return this.pos;
  }

  /** Ends the current sleep (a commit, an ack, the clock, an abort). */
  wake(): void {
    const b = this.bell;
    this.bell = null;
    b?.();
  }

  /** The idle clock's tick: wakes a sleeping cursor whose heartbeat is due. */
  tick(now: number): void {
    if (this.bell !== null && now - this.lastOutput >= this.opts.heartbeatMs) this.wake();
  }

  /**
   * Waits for the next wake(). Only the idle clock bounds it: no timer per
   * wait, unless `ms` asks for one (progress reports while a scan runs).
   */
  private sleep(ms?: number): Promise<void> {
    return new Promise((resolve) => {
      if (ms === undefined) {
        this.bell = resolve;
        return;
      }
      const timer = setTimeout(() => this.wake(), ms);
      this.bell = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /** The items, until `signal` aborts. */
  async *items(signal: StopSignal): AsyncGenerator<CursorItem> {
    signal.addEventListener("abort", this, { once: true });
    this.opts.clock.add(this);
    this.lastOutput = this.opts.clock.now();
    let lastProgress = 0;
    try {
      while (!signal.aborted) {
        const epochs = this.stream.record.epochs;
        const epoch = epochs.find((e) => e.epoch === this.pos.epoch);
        if (!epoch) throw new Error(`epoch ${this.pos.epoch} of stream ${this.stream.record.streamId} is gone`);

        // While a scan fills this epoch, its progress goes out every progressMs:
        // between pages too (a scan that finds much keeps a slow subscriber
        // busy delivering until it ends), not only once caught up.
        const scan = epoch.kind === "backfill" ? this.stream.scanProgress(epoch.epoch) : undefined;
        if (scan && this.opts.clock.now() - lastProgress >= this.opts.progressMs) {
          lastProgress = this.lastOutput = this.opts.clock.now();
          yield progressOf(epoch, scan);
        }

        if (this.pos.seq < epoch.lastSeq) {
          if (this.window.full) {
            // An ack, the clock (heartbeat) or an abort wakes it.
            await this.sleep();
            if (this.window.full && this.opts.clock.now() - this.lastOutput >= this.opts.heartbeatMs) {
              this.lastOutput = this.opts.clock.now();
              yield this.heartbeat();
            }
            continue;
          }
          const room = this.window.size > 0 ? this.window.size - this.window.pending : this.opts.pageSize;
          const max = Math.min(room, this.opts.pageSize);
          const live = epoch.kind === "head" ? this.stream.tail.after(epoch.epoch, this.pos.seq, max) : null;
          if (live) this.opts.stats.fromTail += live.length;
          const entries: readonly PageEntry[] = live ?? (await this.fromIndex(epoch, max));
          // Delivered (position, window) as each is pulled, not as the page is read.
          for (const e of entries) {
            this.lastOutput = this.opts.clock.now();
            yield e.record ? this.deliver(e.row, e.record) : this.gap(e.gap);
            if (signal.aborted) return;
          }
          continue;
        }

        // A complete epoch (a scanned backfill, or the head of a parked stream, closed at its frontier) leads to the next.
        if (epoch.complete) {
          const next = nextEpoch(epochs, epoch.epoch);
          if (next) {
            this.pos = { epoch: next.epoch, seq: 0 };
            continue;
          }
        }

        // Caught up with what is numbered so far: wait for the next commit (or the next progress report, or a heartbeat).
        this.stream.tail.notify(this);
        await this.sleep(scan ? this.opts.progressMs : undefined);
        if (!signal.aborted && this.opts.clock.now() - this.lastOutput >= this.opts.heartbeatMs) {
          this.lastOutput = this.opts.clock.now();
          yield this.heartbeat();
        }
      }
    } finally {
      signal.removeEventListener("abort", this);
      this.opts.clock.delete(this);
      this.stream.tail.forget(this);
      this.bell = null;
    }
  }

  /** The abort listener (an object, so that no closure per subscriber is needed). */
  handleEvent(): void {
    this.wake();
  }

  private heartbeat(): CursorItem {
    const epochs = this.stream.record.epochs;
    const head = headEpoch(this.stream.record);
    return { kind: "heartbeat", head: { epoch: head.epoch, seq: head.lastSeq }, lag: lagAfter(epochs, this.pos) };
  }

  /**
   * A page of index rows after the current position in `epoch`, with
   * payloads read from the source; each run of rows whose record is gone is
   * one gap entry.
   */
  private async fromIndex(epoch: Epoch, max: number): Promise<PageEntry[]> {
    const rows = this.store.readMatches(this.stream.record.sid, epoch.epoch, this.pos.seq, max);
    const records = await readPayloads(this.source, rows);
    this.opts.stats.fromSource += rows.length;
    const out: PageEntry[] = [];
    let missing: MatchRow[] = [];
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i]!;
      const record = records[i];
      if (!record) {
        missing.push(row);
        continue;
      }
      if (missing.length > 0) {
        out.push({ record: undefined, gap: missing });
        missing = [];
      }
      out.push({ row, record });
    }
    if (missing.length > 0) out.push({ record: undefined, gap: missing });
    return out;
  }

  private deliver(row: MatchRow, record: SourceRecord): CursorItem {
    // A row is a position (epoch, seq): no copy per event.
    this.pos = row;
    this.window.delivered(row);
    return { kind: "event", row, record };
  }

  private gap(rows: MatchRow[]): CursorItem {
    const first = rows[0]!;
    const last = rows[rows.length - 1]!;
    this.pos = { epoch: last.epoch, seq: last.seq };
    return {
      kind: "gap",
      from: { epoch: first.epoch, seq: first.seq },
      to: { epoch: last.epoch, seq: last.seq },
      count: rows.length,
      reason: "deleted by the source's retention before delivery",
    };
  }
}

function progressOf(epoch: Epoch, p: ScanProgress): CursorItem {
  const fraction = p.total > 0 ? Math.min(1, p.scanned / p.total) : 1;
  return { kind: "progress", epoch: epoch.epoch, scanned: p.scanned, total: p.total, matched: p.matched, etaMs: etaMs(Date.now() - p.startedAt, fraction) };
}
