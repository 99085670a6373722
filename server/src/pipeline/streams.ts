// The stream registry: one ActiveStream per distinct filter, shared by all of
// its subscribers. Creates streams (head epoch at the source's current end),
// reloads them after a restart, creates and runs backfill epochs, and parks
// streams nobody subscribes to.
//
// Parking: a stream without subscribers for `streamIdleMs` is detached from
// the matcher (its filter costs nothing per message any more), and its head
// epoch is closed at its frontier (`complete` on a head epoch: it ends
// there). Its index and IDs stay. The next subscriber resumes it: a new head
// epoch starts at the source's end, and the range it did not watch, from the
// closed head's frontier to the new head's start, becomes a backfill epoch
// ordered between the two and scanned from history, so a cursor after an ID
// of the closed head reads on through it into the new head, every match once.
import { compileFilter, type CompiledFilter, type FilterSpec } from "../filter/index.js";
import type { Logger } from "../util/log.js";
import type { Source } from "../source/types.js";
import type { IndexStore } from "../sequencer/index-store.js";
import type { Sequencer } from "../sequencer/sequencer.js";
import { headEpoch, startOf, type Epoch, type OffsetMap, type StreamRecord } from "../sequencer/types.js";
import type { Matcher } from "../matcher/matcher.js";
import type { BackfillProgress } from "../matcher/backfill.js";
import { BackfillScans, WAITING_FOR_SLOT } from "../matcher/backfill-scans.js";
import { LiveTail, type TailBudget } from "../cursor/live-tail.js";
import type { CursorStream } from "../cursor/cursor.js";

/** Backfill scans that read at once by default (--max-scans). */
export const DEFAULT_MAX_SCANS = 4;

export interface ActiveStream extends CursorStream {
  readonly record: StreamRecord;
  readonly filter: CompiledFilter;
  readonly tail: LiveTail;
}

/**
 * A stream as the registry keeps it. A class whose parts for backfills are
 * made on first use: thousands of streams are open at once, most never
 * backfill (bench/fanout-memory.mjs).
 */
class StreamState implements ActiveStream {
  subscribers = 0;
  /** While the stream is being parked / resumed (an open() waits for either). */
  parking: Promise<void> | undefined;
  resuming: Promise<void> | undefined;
  #scans: Map<number, BackfillProgress> | undefined;
  #abort: AbortController | undefined;
  #stopped = false;

  constructor(
    readonly record: StreamRecord,
    readonly filter: CompiledFilter,
    readonly tail: LiveTail,
  ) {}

  scanProgress(epoch: number): BackfillProgress | undefined {
    return this.#scans?.get(epoch);
  }

  get scans(): Map<number, BackfillProgress> {
    return (this.#scans ??= new Map());
  }

  /** Aborts when the stream is stopped (evicted, or the registry closes), also if that came first. */
  get signal(): AbortSignal {
    if (this.#abort === undefined) {
      this.#abort = new AbortController();
      if (this.#stopped) this.#abort.abort();
    }
    return this.#abort.signal;
  }

  /** Parked: its head epoch is closed (it is not matched until a subscriber resumes it). */
  get parked(): boolean {
    return headEpoch(this.record).complete;
  }

  /** Stops this stream's backfills. */
  stop(): void {
    this.#stopped = true;
    this.#abort?.abort();
  }
}

export interface RegistryOptions {
  readonly tailCapacity: number;
  /** The memory all live tails share. */
  readonly tailBudget: TailBudget;
  readonly batchSize: number;
  readonly now: () => number;
  /** Backfill scans that read at once; the others wait for a slot. Default DEFAULT_MAX_SCANS. */
  readonly maxScans?: number;
  /** How often a running backfill is checked for progress: a warning when none since the last check. Default 15 s. */
  readonly stallCheckMs?: number;
}

export class StreamRegistry {
  private readonly byId = new Map<string, StreamState>();
  private readonly creating = new Map<string, Promise<StreamState>>();
  private readonly evicting = new Map<string, Promise<void>>();
  /** Backfill epochs, on scans they share (at most RegistryOptions.maxScans at once). */
  readonly backfills: BackfillScans;
  /** Running backfills, with their stream id. */
  private readonly scans = new Map<Promise<void>, string>();

  constructor(
    private readonly store: IndexStore,
    private readonly sequencer: Sequencer,
    private readonly matcher: Matcher,
    source: Source,
    private readonly opts: RegistryOptions,
    private readonly log: Logger,
  ) {
    this.backfills = new BackfillScans(source, sequencer, { batchSize: opts.batchSize, maxScans: opts.maxScans ?? DEFAULT_MAX_SCANS });
  }

  /** Reloads the streams of the index and resumes their scans (after a restart). */
  async load(): Promise<void> {
    for (const record of this.store.loadStreams()) {
      let filter: CompiledFilter;
      try {
        filter = compileFilter(JSON.parse(record.specJson) as FilterSpec);
      } catch (err) {
        this.log.error("a stored filter no longer compiles; its stream is not scanned", { stream: record.streamId, err });
        continue;
      }
      const s = this.wrap(record, filter);
      this.byId.set(record.streamId, s);
      // A parked stream stays parked until a subscriber comes.
      if (!s.parked) await this.matcher.attach(s);
      for (const e of record.epochs) if (e.kind === "backfill" && !e.complete) this.startScan(s, e);
    }
  }

  private scannedByFinishedRuns = 0;
  private readonly running = new Set<BackfillProgress>();

  /** Messages read from the source by backfill scans since the start (running ones included). */
  get historyScanned(): number {
    let n = this.scannedByFinishedRuns;
    for (const p of this.running) n += p.scanned;
    return n;
  }

  get size(): number {
    return this.byId.size;
  }

  get(streamId: string): ActiveStream | undefined {
    return this.byId.get(streamId);
  }

  /**
   * The stream of this (compiled) filter, created if new, resumed if parked,
   * with a subscriber counted in (release() counts it out, also when the
   * subscription fails to start): counted before anything is awaited, so
   * that the stream is not parked again while it is being opened.
   */
  async open(filter: CompiledFilter): Promise<ActiveStream> {
    const s = this.byId.get(filter.streamId) ?? (await this.create(filter));
    if (s.subscribers++ === 0) this.opts.tailBudget.activate(s.tail);
    this.touch(s);
    try {
      await s.parking;
      if (s.parked) await this.resume(s);
    } catch (err) {
      this.release(s);
      throw err;
    }
    return s;
  }

  /** Streams parked now, and parked / resumed since the start (for metrics). */
  get parkedCount(): number {
    let n = 0;
    for (const s of this.byId.values()) if (s.parked) n++;
    return n;
  }
  parkedTotal = 0;
  resumedTotal = 0;
  evictedTotal = 0;

  /**
   * Parks every stream that nobody subscribes to and nobody used for
   * `idleMs` (see the top of this file). Returns the parked stream ids.
   */
  async park(idleMs: number): Promise<string[]> {
    const now = this.opts.now();
    const idle = [...this.byId.values()].filter((s) => s.subscribers === 0 && !s.parked && !s.parking && !s.resuming && now - s.record.lastUsedAt >= idleMs);
    const parked: string[] = [];
    for (const s of idle) {
      // (Parking the ones before took turns: check again.)
      if (s.subscribers > 0 || s.parked || s.resuming || this.byId.get(s.record.streamId) !== s) continue;
      const id = s.record.streamId;
      s.parking = (async () => {
        await this.matcher.detach(s);
        // No batch commits for it any more; frontier moves kept lazily are
        // of batches committed before: apply them, then close the head there.
        this.sequencer.settleFrontiers();
        const head = headEpoch(s.record);
        head.complete = true;
        this.store.saveEpoch(s.record.sid, head);
      })();
      try {
        await s.parking;
      } finally {
        s.parking = undefined;
      }
      this.parkedTotal++;
      parked.push(id);
      this.log.info("stream parked: nobody subscribed to it for a while", { stream: id, idleMs, lastUsedAt: new Date(s.record.lastUsedAt).toISOString() });
    }
    return parked;
  }

  /** A parked stream gets a new head at the source's end and a backfill epoch for what it did not watch. */
  private async resume(s: StreamState): Promise<void> {
    s.resuming ??= (async () => {
      const closed = headEpoch(s.record);
      const now = await this.matcher.headStart(s.filter);
      const start: OffsetMap = new Map();
      const end: OffsetMap = new Map();
      for (const [pk, to] of now) {
        // A partition the closed head does not name came after it: all of it is unwatched.
        const from = closed.frontier.get(pk) ?? 0;
        if (from < to) {
          start.set(pk, from);
          end.set(pk, to);
        }
      }
      let number = Math.max(...s.record.epochs.map((e) => e.epoch)) + 1;
      const fill: Epoch | null =
        start.size === 0 ? null : { epoch: number++, ord: closed.ord + 1, kind: "backfill", start, end, lastSeq: 0, complete: false, frontier: new Map(start) };
      const head: Epoch = { epoch: number, ord: closed.ord + 2, kind: "head", start: new Map(now), end: null, lastSeq: 0, complete: false, frontier: new Map(now) };
      this.store.tx(() => {
        if (fill) this.store.insertEpoch(s.record.sid, fill);
        this.store.insertEpoch(s.record.sid, head);
      });
      if (fill) s.record.epochs.push(fill);
      s.record.epochs.push(head);
      await this.matcher.attach(s);
      if (fill) this.startScan(s, fill);
      this.resumedTotal++;
      this.log.info("parked stream resumed", { stream: s.record.streamId, unwatchedMessages: [...start].reduce((n, [pk, from]) => n + end.get(pk)! - from, 0), epoch: head.epoch });
    })();
    try {
      await s.resuming;
    } finally {
      s.resuming = undefined;
    }
  }

  /** Counts a subscriber out (once per open()): while any is counted in, the stream is neither parked nor evicted. */
  release(stream: ActiveStream): void {
    // The stream object itself: an evicted and recreated stream of the same id is another one.
    const s = this.byId.get(stream.record.streamId);
    if (!s || s !== stream) return;
    // Without subscribers a stream holds no tail: the next one reads the index until live matches fill it again.
    if (--s.subscribers === 0) this.opts.tailBudget.deactivate(s.tail);
    this.touch(s);
  }

  /**
   * Evicts least recently used streams that nobody subscribes to and nobody
   * used for `idleMs` until the index uses at most `budgetBytes`. Returns the
   * evicted stream ids.
   */
  async evict(budgetBytes: number, idleMs: number): Promise<string[]> {
    const evicted: string[] = [];
    if (this.store.usedBytes() <= budgetBytes) return evicted;
    const now = this.opts.now();
    const idle = [...this.byId.values()]
      .filter((s) => s.subscribers === 0 && !s.parking && !s.resuming && now - s.record.lastUsedAt >= idleMs)
      .sort((a, b) => a.record.lastUsedAt - b.record.lastUsedAt);
    for (const s of idle) {
      if (this.store.usedBytes() <= budgetBytes) break;
      const id = s.record.streamId;
      // Gone from the registry at once: a subscriber arriving meanwhile waits
      // for the eviction to finish and then gets a fresh stream.
      this.byId.delete(id);
      const done = (async () => {
        s.stop();
        await this.matcher.detach(s);
        await Promise.allSettled([...this.scans].filter(([, sid]) => sid === id).map(([p]) => p));
        this.store.evictStream(s.record, now);
      })();
      this.evicting.set(id, done);
      try {
        await done;
      } finally {
        this.evicting.delete(id);
      }
      this.evictedTotal++;
      this.log.info("stream evicted to stay within the index budget", { stream: id, lastUsedAt: new Date(s.record.lastUsedAt).toISOString(), budgetBytes });
      evicted.push(id);
    }
    return evicted;
  }

  private touch(s: StreamState): void {
    const now = this.opts.now();
    if (now - s.record.lastUsedAt > 1_000) {
      s.record.lastUsedAt = now;
      this.store.touch(s.record.sid, now);
    }
  }

  /**
   * Makes sure the stream covers the source from `from` on: when `from` is
   * before the oldest epoch's start in some partition, a backfill epoch
   * [from, oldest start) is created and scanned. Returns the oldest epoch.
   */
  coverFrom(stream: ActiveStream, from: OffsetMap): Epoch {
    const s = this.byId.get(stream.record.streamId)!;
    const epochs = s.record.epochs;
    const oldest = epochs[0]!;
    let needed = false;
    const start: OffsetMap = new Map();
    const end: OffsetMap = new Map();
    for (const [pk, offset] of from) {
      const oldestStart = startOf(oldest.start, pk);
      start.set(pk, Math.min(offset, oldestStart));
      end.set(pk, oldestStart);
      if (offset < oldestStart) needed = true;
    }
    if (!needed) return oldest;
    const epoch: Epoch = {
      epoch: Math.max(...epochs.map((e) => e.epoch)) + 1,
      ord: oldest.ord - 1,
      kind: "backfill",
      start,
      end,
      lastSeq: 0,
      complete: false,
      frontier: new Map(start),
    };
    this.store.insertEpoch(s.record.sid, epoch);
    epochs.unshift(epoch);
    this.startScan(s, epoch);
    return epoch;
  }

  async close(): Promise<void> {
    for (const s of this.byId.values()) s.stop();
    await Promise.allSettled([...this.scans.keys()]);
  }

  private async create(filter: CompiledFilter): Promise<StreamState> {
    const pending = this.creating.get(filter.streamId);
    if (pending) return pending;
    const p = (async () => {
      await this.evicting.get(filter.streamId)?.catch(() => {});
      const start = await this.matcher.headStart(filter);
      // The projection is per subscriber, not part of the stream.
      const specJson = JSON.stringify({ ...filter.spec, projection: "" });
      const record = this.store.createStream(filter.streamId, specJson, start, this.opts.now());
      const s = this.wrap(record, filter);
      this.byId.set(filter.streamId, s);
      await this.matcher.attach(s);
      this.log.info("stream created", { stream: filter.streamId, filter: filter.canonical });
      return s;
    })();
    this.creating.set(filter.streamId, p);
    try {
      return await p;
    } finally {
      this.creating.delete(filter.streamId);
    }
  }

  private wrap(record: StreamRecord, filter: CompiledFilter): StreamState {
    return new StreamState(record, filter, new LiveTail(this.opts.tailCapacity, this.opts.tailBudget));
  }

  /** Runs a backfill to its end; a failed scan (source unreachable, disk full) retries from its frontier: cursors wait on it. */
  private async scanUntilDone(s: StreamState, epoch: Epoch, signal: AbortSignal, progress: BackfillProgress): Promise<void> {
    for (let attempt = 1; !signal.aborted; attempt++) {
      try {
        await this.backfills.scan({ stream: s, epoch, signal, progress });
        this.log.info("backfill complete", { stream: s.record.streamId, epoch: epoch.epoch, scanned: progress.scanned, matched: progress.matched });
        return;
      } catch (err) {
        if (signal.aborted) return;
        const delay = Math.min(30_000, 500 * 2 ** Math.min(attempt, 6));
        this.log.error("backfill failed; retrying from its frontier", { stream: s.record.streamId, epoch: epoch.epoch, attempt, delayMs: delay, err });
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  private startScan(s: StreamState, epoch: Epoch): void {
    const progress: BackfillProgress = { scanned: 0, total: 0, matched: 0, startedAt: Date.now(), waitingFor: "" };
    s.scans.set(epoch.epoch, progress);
    const signal = s.signal;
    // A scan that stops moving says so, and on what it waits: its subscribers
    // see only progress that does not change.
    const every = this.opts.stallCheckMs ?? 15_000;
    let seen = -1;
    let still = 0;
    const watchdog = setInterval(() => {
      if (progress.waitingFor === WAITING_FOR_SLOT) return; // queued, not stalled
      if (progress.scanned !== seen) {
        seen = progress.scanned;
        still = 0;
        return;
      }
      still += every;
      this.log.warn("backfill made no progress", {
        stream: s.record.streamId, epoch: epoch.epoch, forMs: still, scanned: progress.scanned, total: progress.total,
        waitingFor: progress.waitingFor || "(not a source read)",
      });
    }, every);
    watchdog.unref();
    // On a scan it shares with other epochs of the same range, at most maxScans at once (backfill-scans.ts).
    const scan = () => this.scanUntilDone(s, epoch, signal, progress);
    this.running.add(progress);
    const run = scan()
      .finally(() => {
        clearInterval(watchdog);
        this.running.delete(progress);
        this.scannedByFinishedRuns += progress.scanned;
        s.scans.delete(epoch.epoch);
        this.scans.delete(run);
      });
    this.scans.set(run, s.record.streamId);
  }
}
