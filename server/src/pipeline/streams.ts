// The stream registry: one ActiveStream per distinct filter, shared by all of
// its subscribers. Creates streams (head epoch at the source's current end),
// reloads them after a restart, and creates and runs backfill epochs.
import { compileFilter, type CompiledFilter, type FilterSpec } from "../filter/index.js";
import type { Logger } from "../util/log.js";
import type { Source } from "../source/types.js";
import type { IndexStore } from "../sequencer/index-store.js";
import type { Sequencer } from "../sequencer/sequencer.js";
import { startOf, type Epoch, type OffsetMap, type StreamRecord } from "../sequencer/types.js";
import type { Matcher } from "../matcher/matcher.js";
import { runBackfill, type BackfillProgress } from "../matcher/backfill.js";
import { LiveTail } from "../cursor/live-tail.js";
import type { CursorStream } from "../cursor/cursor.js";

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

  /** Stops this stream's backfills. */
  stop(): void {
    this.#stopped = true;
    this.#abort?.abort();
  }
}

export interface RegistryOptions {
  readonly tailCapacity: number;
  readonly batchSize: number;
  readonly now: () => number;
  /** How often a running backfill is checked for progress: a warning when none since the last check. Default 15 s. */
  readonly stallCheckMs?: number;
}

export class StreamRegistry {
  private readonly byId = new Map<string, StreamState>();
  private readonly creating = new Map<string, Promise<StreamState>>();
  private readonly evicting = new Map<string, Promise<void>>();
  /** Running backfill scans, with their stream id. */
  private readonly scans = new Map<Promise<void>, string>();

  constructor(
    private readonly store: IndexStore,
    private readonly sequencer: Sequencer,
    private readonly matcher: Matcher,
    private readonly source: Source,
    private readonly opts: RegistryOptions,
    private readonly log: Logger,
  ) {}

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
      await this.matcher.attach(s);
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

  /** The stream of this (compiled) filter, created if new. */
  async open(filter: CompiledFilter): Promise<ActiveStream> {
    const s = this.byId.get(filter.streamId) ?? (await this.create(filter));
    this.touch(s);
    return s;
  }

  /** Counts a subscriber in (while any is open the stream is never evicted); release() counts it out, once per retain(). */
  retain(stream: ActiveStream): void {
    const s = this.byId.get(stream.record.streamId);
    if (s) s.subscribers++;
  }

  release(stream: ActiveStream): void {
    // The stream object itself: an evicted and recreated stream of the same id is another one.
    const s = this.byId.get(stream.record.streamId);
    if (!s || s !== stream) return;
    s.subscribers--;
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
      .filter((s) => s.subscribers === 0 && now - s.record.lastUsedAt >= idleMs)
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
    return new StreamState(record, filter, new LiveTail(this.opts.tailCapacity));
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
    const scan = async () => {
      // A failed scan (source unreachable, disk full) retries from its frontier: cursors wait on it.
      for (let attempt = 1; !signal.aborted; attempt++) {
        try {
          await runBackfill(this.source, this.sequencer, s, epoch, { batchSize: this.opts.batchSize, signal, progress });
          this.log.info("backfill complete", { stream: s.record.streamId, epoch: epoch.epoch, scanned: progress.scanned, matched: progress.matched });
          return;
        } catch (err) {
          if (signal.aborted) return;
          const delay = Math.min(30_000, 500 * 2 ** Math.min(attempt, 6));
          this.log.error("backfill failed; retrying from its frontier", { stream: s.record.streamId, epoch: epoch.epoch, attempt, delayMs: delay, err });
          await new Promise((r) => setTimeout(r, delay));
        }
      }
    };
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
