// A cursor: one per subscription. Walks the stream's index in position order
// from a start position, attaches payloads (from the live tail, or read from
// the source by address), reports gaps, progress and heartbeats, and respects
// the subscriber's ack window. It holds at most one page in memory; the
// consumer pulls, so a slow client slows only its own cursor.
import type { Source, SourceRecord } from "../source/types.js";
import type { IndexStore } from "../sequencer/index-store.js";
import type { Epoch, MatchRow, StreamRecord } from "../sequencer/types.js";
import type { LiveTail } from "./live-tail.js";
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

export interface CursorOptions {
  readonly stats: DeliveryStats;
  readonly window: number;
  readonly heartbeatMs: number;
  readonly progressMs: number;
  readonly pageSize: number;
}

export class Cursor {
  readonly window: AckWindow;
  private pos: Position;

  constructor(
    private readonly stream: CursorStream,
    private readonly store: IndexStore,
    private readonly source: Source,
    start: Position,
    private readonly opts: CursorOptions,
  ) {
    this.pos = start;
    this.window = new AckWindow(opts.window, () => stream.record.epochs);
  }

  /** The position after the last item delivered. */
  get position(): Position {
    return this.pos;
  }

  async *items(signal: AbortSignal): AsyncGenerator<CursorItem> {
    let lastOutput = Date.now();
    let lastProgress = 0;
    while (!signal.aborted) {
      const epochs = this.stream.record.epochs;
      const epoch = epochs.find((e) => e.epoch === this.pos.epoch);
      if (!epoch) throw new Error(`epoch ${this.pos.epoch} of stream ${this.stream.record.streamId} is gone`);

      // While a scan fills this epoch, its progress goes out every progressMs:
      // between pages too (a scan that finds much keeps a slow subscriber
      // busy delivering until it ends), not only once caught up.
      const scan = epoch.kind === "backfill" ? this.stream.scanProgress(epoch.epoch) : undefined;
      if (scan && Date.now() - lastProgress >= this.opts.progressMs) {
        lastProgress = lastOutput = Date.now();
        yield progressOf(epoch, scan);
      }

      if (this.pos.seq < epoch.lastSeq) {
        if (this.window.full) {
          await this.window.wait(this.opts.heartbeatMs, signal);
          if (this.window.full && Date.now() - lastOutput >= this.opts.heartbeatMs) {
            lastOutput = Date.now();
            yield this.heartbeat();
          }
          continue;
        }
        const room = this.opts.window > 0 ? this.opts.window - this.window.pending : this.opts.pageSize;
        for await (const item of this.page(epoch, Math.min(room, this.opts.pageSize))) {
          lastOutput = Date.now();
          yield item;
          if (signal.aborted) return;
        }
        continue;
      }

      if (epoch.kind === "backfill" && epoch.complete) {
        const next = nextEpoch(epochs, epoch.epoch);
        if (next) {
          this.pos = { epoch: next.epoch, seq: 0 };
          continue;
        }
      }

      // Caught up with what is numbered so far: wait for more (or the next progress report).
      await this.stream.tail.wait(scan ? this.opts.progressMs : this.opts.heartbeatMs, signal);
      if (!signal.aborted && Date.now() - lastOutput >= this.opts.heartbeatMs) {
        lastOutput = Date.now();
        yield this.heartbeat();
      }
    }
  }

  private heartbeat(): CursorItem {
    const epochs = this.stream.record.epochs;
    const head = epochs.find((e) => e.kind === "head")!;
    return { kind: "heartbeat", head: { epoch: head.epoch, seq: head.lastSeq }, lag: lagAfter(epochs, this.pos) };
  }

  /** Up to `max` items after the current position in `epoch`. */
  private async *page(epoch: Epoch, max: number): AsyncGenerator<CursorItem> {
    const live = epoch.kind === "head" ? this.stream.tail.after(epoch.epoch, this.pos.seq, max) : null;
    if (live) {
      this.opts.stats.fromTail += live.length;
      for (const m of live) yield this.deliver(m.row, m.record);
      return;
    }
    const rows = this.store.readMatches(this.stream.record.sid, epoch.epoch, this.pos.seq, max);
    const records = await readPayloads(this.source, rows);
    this.opts.stats.fromSource += rows.length;
    let missing: MatchRow[] = [];
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i]!;
      const record = records[i];
      if (!record) {
        missing.push(row);
        continue;
      }
      if (missing.length > 0) {
        yield this.gap(missing);
        missing = [];
      }
      yield this.deliver(row, record);
    }
    if (missing.length > 0) yield this.gap(missing);
  }

  private deliver(row: MatchRow, record: SourceRecord): CursorItem {
    this.pos = { epoch: row.epoch, seq: row.seq };
    this.window.delivered(this.pos);
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
