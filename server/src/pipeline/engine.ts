// The engine wires the pipeline stages: source -> matcher -> sequencer ->
// cursor. The API layer talks only to this: compile a filter, subscribe, ack.
import { defaultMatchWorkers } from "../util/cores.js";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { compileFilter, FilterError, type CompiledFilter, type FilterSpec } from "../filter/index.js";
import type { Logger } from "../util/log.js";
import type { Source } from "../source/types.js";
import { IndexStore, SEAL_AGE_MS } from "../sequencer/index-store.js";
import { Sequencer } from "../sequencer/sequencer.js";
import { encodeEventId } from "../sequencer/event-id.js";
import { headEpoch } from "../sequencer/types.js";
import { Matcher } from "../matcher/matcher.js";
import { Cursor, type CursorOptions, type DeliveryStats } from "../cursor/cursor.js";
import { AckError } from "../cursor/ack-window.js";
import { IdleClock, tickFor } from "../cursor/idle-clock.js";
import { defaultTailBudgetBytes, TailBudget } from "../cursor/live-tail.js";
import { lagAfter, type Position } from "../cursor/position.js";
import { RequestError } from "../util/request-error.js";
import { DEFAULT_MAX_SCANS, StreamRegistry, type ActiveStream } from "./streams.js";
import { planCount } from "../count/plan.js";
import { scanCount } from "../count/scan.js";
import { countFromIndex } from "../count/from-index.js";
import { CountCache } from "../count/cache.js";
import type { CountOutput, CountRange } from "../count/types.js";
import { parseEventId, resolveStart, type StartSpec } from "./start.js";

export interface EngineOptions {
  readonly dataDir: string;
  readonly source: Source;
  readonly log: Logger;
  readonly heartbeatMs?: number;
  readonly progressMs?: number;
  /** Records read per source request. */
  readonly batchSize?: number;
  /** Recent matches kept per stream for live delivery (at most). */
  readonly tailCapacity?: number;
  /** Memory all live tails share, in bytes (default defaultTailBudgetBytes()). */
  readonly tailBudgetBytes?: number;
  readonly checkpointMs?: number;
  /** Disk budget of the index: least recently used idle streams are evicted above it. */
  readonly indexBudgetBytes?: number;
  /** A stream nobody subscribed to for this long is parked (no longer matched), and may be evicted. */
  readonly streamIdleMs?: number;
  readonly evictionIntervalMs?: number;
  /** Worker threads that parse and match live records (default: defaultMatchWorkers()). */
  readonly matchWorkers?: number;
  /** Backfill scans that read at once (default DEFAULT_MAX_SCANS). */
  readonly maxScans?: number;
}

/** What the server holds now: subscriptions, streams by state, live tails, memory. */
export interface Holdings {
  readonly subscriptions: number;
  readonly streamsActive: number;
  readonly streamsParked: number;
  readonly streamsParkedTotal: number;
  readonly streamsResumedTotal: number;
  readonly streamsEvictedTotal: number;
  /** Bytes the live tails hold, records shared by several streams counted once. */
  readonly tailBytes: number;
  readonly tailBudgetBytes: number;
  /** Tails of streams with subscribers (the budget is shared among them). */
  readonly activeTails: number;
  readonly rssBytes: number;
}

export interface SubscribeOptions {
  readonly start: StartSpec;
  readonly window: number;
  readonly durableName?: string;
}

/** An open subscription. A class, not an object with closures: one lives per subscriber. */
export class Subscription {
  #closed = false;

  constructor(
    readonly id: string,
    readonly stream: ActiveStream,
    readonly cursor: Cursor,
    /** Where it starts (after this position). */
    readonly start: Position,
    readonly durableName: string | undefined,
    private readonly engine: Engine,
  ) {}

  /** Ends it (idempotent): the stream may be evicted once nobody subscribes. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.engine.closed(this);
  }
}

export class Engine {
  readonly store: IndexStore;
  readonly sequencer: Sequencer;
  readonly matcher: Matcher;
  readonly registry: StreamRegistry;
  private readonly subs = new Map<string, Subscription>();
  private readonly countCache = new CountCache();
  /** Where delivered payloads came from (live tail or the source). */
  readonly delivery: DeliveryStats = { fromTail: 0, fromSource: 0 };
  private readonly checkpointTimer: NodeJS.Timeout;
  private readonly evictionTimer: NodeJS.Timeout;
  private housekeeping = false;
  /** The memory all live tails share. */
  readonly tailBudget: TailBudget;
  private readonly sealTimer: NodeJS.Timeout;
  private sealing = false;
  private shut = false;
  /** Heartbeats of every open cursor: one timer, not one per waiting subscriber. */
  private readonly idleClock: IdleClock;
  private readonly cursorOptions: CursorOptions;
  private readonly opts: Required<Omit<EngineOptions, "source" | "log" | "dataDir">>;

  private constructor(readonly source: Source, dataDir: string, private readonly log: Logger, options: EngineOptions) {
    this.opts = {
      heartbeatMs: options.heartbeatMs ?? 10_000,
      progressMs: options.progressMs ?? 500,
      batchSize: options.batchSize ?? 500,
      tailCapacity: options.tailCapacity ?? 1024,
      tailBudgetBytes: options.tailBudgetBytes ?? defaultTailBudgetBytes(),
      checkpointMs: options.checkpointMs ?? 5_000,
      indexBudgetBytes: options.indexBudgetBytes ?? 1024 ** 3,
      streamIdleMs: options.streamIdleMs ?? 3_600_000,
      evictionIntervalMs: options.evictionIntervalMs ?? 30_000,
      matchWorkers: options.matchWorkers ?? defaultMatchWorkers(),
      maxScans: options.maxScans ?? DEFAULT_MAX_SCANS,
    };
    this.idleClock = new IdleClock(tickFor(this.opts.heartbeatMs));
    this.cursorOptions = { stats: this.delivery, heartbeatMs: this.opts.heartbeatMs, progressMs: this.opts.progressMs, pageSize: 256, clock: this.idleClock };
    this.store = new IndexStore(join(dataDir, "index.db"));
    this.sequencer = new Sequencer(this.store, (stream, epoch, matches) => {
      this.registry.get(stream.streamId)?.tail.push(epoch.epoch, epoch.kind === "head", matches);
    });
    this.matcher = new Matcher(source, this.sequencer, { batchSize: this.opts.batchSize, retryMs: 1000, workers: this.opts.matchWorkers }, log.child({ stage: "matcher" }));
    this.tailBudget = new TailBudget(this.opts.tailBudgetBytes);
    this.registry = new StreamRegistry(this.store, this.sequencer, this.matcher, source, {
      tailCapacity: this.opts.tailCapacity,
      tailBudget: this.tailBudget,
      maxScans: this.opts.maxScans,
      batchSize: this.opts.batchSize,
      now: Date.now,
    }, log.child({ stage: "streams" }));
    this.checkpointTimer = setInterval(() => {
      try {
        this.sequencer.checkpoint();
      } catch (err) {
        this.log.error("checkpoint of scan frontiers failed", { err });
      }
    }, this.opts.checkpointMs).unref();
    // Seals the index's pending matches once they are old enough, a few epochs a turn (index-store.ts).
    this.sealTimer = setInterval(() => this.sealAged(), SEAL_AGE_MS / 4).unref();
    this.evictionTimer = setInterval(() => {
      if (this.housekeeping) return; // (the last round still runs)
      this.housekeeping = true;
      this.parkIdleStreams()
        .catch((err) => this.log.error("parking idle streams failed", { err }))
        .then(() => this.evictIdleStreams())
        .catch((err) => this.log.error("evicting streams failed", { err }))
        .finally(() => (this.housekeeping = false));
    }, this.opts.evictionIntervalMs).unref();
  }

  private sealAged(): void {
    if (this.sealing) return;
    this.sealing = true;
    const step = () => {
      if (this.shut) return;
      let more = false;
      try {
        more = this.store.sealAged();
      } catch (err) {
        this.log.error("sealing index segments failed", { err });
      }
      if (more && !this.shut) setImmediate(step);
      else this.sealing = false;
    };
    step();
  }

  /** Parks the streams nobody subscribed to for streamIdleMs (runs on a timer, before eviction). */
  parkIdleStreams(): Promise<string[]> {
    return this.registry.park(this.opts.streamIdleMs);
  }

  /** Evicts idle streams while the index is above its budget (runs on a timer). */
  evictIdleStreams(): Promise<string[]> {
    return this.registry.evict(this.opts.indexBudgetBytes, this.opts.streamIdleMs);
  }

  static async open(options: EngineOptions): Promise<Engine> {
    const engine = new Engine(options.source, options.dataDir, options.log, options);
    await engine.registry.load();
    return engine;
  }

  /** Compiles a filter; a bad one is an invalid_argument RequestError saying what and where. */
  compile(spec: FilterSpec): CompiledFilter {
    try {
      return compileFilter(spec);
    } catch (err) {
      if (err instanceof FilterError) throw new RequestError("invalid_argument", `filter.${err.message}`, { cause: err });
      throw err;
    }
  }

  /**
   * Checks a filter as compile() would, without opening anything: the filter,
   * or the problem (field, location and the message compile() would throw).
   */
  validate(spec: FilterSpec): { ok: true; filter: CompiledFilter } | { ok: false; field: string; location: string; message: string } {
    try {
      return { ok: true, filter: compileFilter(spec) };
    } catch (err) {
      if (err instanceof FilterError) return { ok: false, field: err.field, location: err.location, message: `filter.${err.message}` };
      throw err;
    }
  }

  async subscribe(filter: CompiledFilter, o: SubscribeOptions): Promise<Subscription> {
    // Counted in as a subscriber by open(); counted out by closed(), or below if it does not start.
    const stream = await this.registry.open(filter);
    try {
      return await this.start(stream, filter, o);
    } catch (err) {
      this.registry.release(stream);
      throw err;
    }
  }

  private async start(stream: ActiveStream, filter: CompiledFilter, o: SubscribeOptions): Promise<Subscription> {
    let start = o.start;
    if (o.durableName) {
      const saved = this.store.getDurable(o.durableName);
      if (saved && saved.streamId !== filter.streamId) {
        throw new RequestError(
          "failed_precondition",
          `durable subscription "${o.durableName}" belongs to stream ${saved.streamId}, not this filter's stream ${filter.streamId}; use another name or the same filter`,
        );
      }
      if (saved) start = { kind: "after", eventId: saved.lastAck };
    }
    const pos = await resolveStart(this.registry, this.source, this.store, stream, start);
    if (o.durableName && !this.store.getDurable(o.durableName)) {
      this.store.putDurable(o.durableName, filter.streamId, this.eventId(stream, pos), Date.now());
    }
    const cursor = new Cursor(stream, this.store, this.source, pos, o.window, this.cursorOptions);
    const id = randomBytes(12).toString("base64url");
    const sub = new Subscription(id, stream, cursor, pos, o.durableName, this);
    this.subs.set(id, sub);
    return sub;
  }

  /** Called once by Subscription.close(). */
  closed(sub: Subscription): void {
    this.subs.delete(sub.id);
    this.registry.release(sub.stream);
  }

  /** Cumulative ack; returns how many delivered events remain unacknowledged. */
  ack(subscriptionId: string, eventId: string): number {
    const sub = this.subs.get(subscriptionId);
    if (!sub) throw new RequestError("not_found", `subscription "${subscriptionId}" is not open on this server (it ended, or the server restarted); subscribe again`);
    const a = parseEventId("event_id", eventId);
    if (a.streamId !== sub.stream.record.streamId || !sub.stream.record.epochs.some((e) => e.epoch === a.epoch)) {
      throw new RequestError("invalid_argument", "event_id: not an event of this subscription's stream");
    }
    let advanced: boolean;
    try {
      advanced = sub.cursor.window.ack({ epoch: a.epoch, seq: a.seq });
    } catch (err) {
      if (err instanceof AckError) throw new RequestError("invalid_argument", `event_id: ${err.message}`, { cause: err });
      throw err;
    }
    // Only forward: a late, older ack must not move a durable subscription back.
    if (advanced && sub.durableName) this.store.putDurable(sub.durableName, a.streamId, eventId, Date.now());
    return sub.cursor.window.pending;
  }

  /** What a subscriber should know about its filter's topics (e.g. none exists yet). */
  async warningsFor(f: CompiledFilter): Promise<string[]> {
    const names = new Set((await this.source.listTopics()).map((t) => t.name));
    if (f.spec.topicRegex) {
      return [...names].some((n) => f.matchesTopic(n))
        ? []
        : [`no topic matches topic_regex ${JSON.stringify(f.spec.topicRegex)} yet; events flow once one is created`];
    }
    return f.spec.topics.filter((t) => !names.has(t)).map((t) => `topic "${t}" does not exist yet; its events flow once it is created`);
  }

  /**
   * Counts a filter's matches over a time range: from the cache when the same
   * offsets were counted before, from the stream's index when its epochs cover
   * the range, else by scanning the source.
   */
  async *count(filter: CompiledFilter, range: CountRange, signal?: AbortSignal): AsyncGenerator<CountOutput> {
    const started = Date.now();
    const plan = await planCount(this.source, filter, range);
    const cached = this.countCache.get(plan.cacheKey);
    const stream = cached ? undefined : this.registry.get(filter.streamId);
    // (Whether the index covers the plan depends on head frontiers: bring them up to date.)
    if (stream) this.sequencer.settleFrontiers();
    const answer = cached ?? (stream ? countFromIndex(this.store, stream.record, plan) : null);
    if (answer) {
      const total = plan.parts.reduce((n, p) => n + p.to - p.from, 0);
      yield { kind: "progress", messagesScanned: 0, bytesScanned: 0, matched: answer.matched, messagesTotal: total, fraction: 1, etaMs: 0, partitions: answer.partitions };
      yield { ...answer, answeredFrom: cached ? "cache" : "index", elapsedMs: Date.now() - started };
      if (!cached) this.countCache.set(plan.cacheKey, answer);
      return;
    }
    for await (const out of scanCount(this.source, filter, plan, signal ? { signal } : {})) {
      if (out.kind === "result") this.countCache.set(plan.cacheKey, out);
      yield out;
    }
  }

  eventId(stream: ActiveStream, p: Position): string {
    return encodeEventId({ streamId: stream.record.streamId, epoch: p.epoch, seq: p.seq });
  }

  headPosition(stream: ActiveStream): Position {
    const head = headEpoch(stream.record);
    return { epoch: head.epoch, seq: head.lastSeq };
  }

  /** What the server holds now (metrics, ListTopics). */
  holdings(): Holdings {
    const parked = this.registry.parkedCount;
    return {
      subscriptions: this.subs.size,
      streamsActive: this.registry.size - parked,
      streamsParked: parked,
      streamsParkedTotal: this.registry.parkedTotal,
      streamsResumedTotal: this.registry.resumedTotal,
      streamsEvictedTotal: this.registry.evictedTotal,
      tailBytes: this.tailBudget.bytes,
      tailBudgetBytes: this.tailBudget.limitBytes,
      activeTails: this.tailBudget.activeTails,
      rssBytes: process.memoryUsage.rss(),
    };
  }

  get subscriptionCount(): number {
    return this.subs.size;
  }

  /** Each open subscription: its stream, the position delivered so far and its lag in events. */
  subscriptions(): Array<{ id: string; streamId: string; delivered: Position; lag: number; unacked: number }> {
    return [...this.subs.values()].map((s) => ({
      id: s.id,
      streamId: s.stream.record.streamId,
      delivered: s.cursor.position,
      lag: lagAfter(s.stream.record.epochs, s.cursor.position),
      unacked: s.cursor.window.pending,
    }));
  }

  async close(): Promise<void> {
    clearInterval(this.checkpointTimer);
    clearInterval(this.evictionTimer);
    clearInterval(this.sealTimer);
    this.shut = true;
    this.idleClock.close();
    await this.registry.close();
    await this.matcher.close();
    try {
      this.sequencer.checkpoint();
    } finally {
      this.store.close();
    }
  }
}
