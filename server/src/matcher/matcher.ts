// The matcher: keeps one PartitionReader per partition that at least one
// stream wants, and per topic the filter index of the streams that read it.
// New topics (a produce, or a broker-side creation), and topics that got more
// partitions, are offered to every stream whose topic filter matches.
import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "../util/log.js";
import type { Source, TopicMeta } from "../source/types.js";
import type { Sequencer } from "../sequencer/sequencer.js";
import { headEpoch, partitionKey, type OffsetMap } from "../sequencer/types.js";
import { MatchPool } from "./match-pool.js";
import { PartitionReader, type MatchTarget, type ReaderOptions, type TopicMembers } from "./partition-reader.js";
import type { MatcherStream, SkipCounts } from "./types.js";
import type { CompiledFilter } from "../filter/index.js";

interface TopicState extends TopicMembers {
  readonly readers: Map<number, PartitionReader>;
}

export interface MatcherOptions extends ReaderOptions {
  /** Worker threads that parse and match (at least 1). */
  readonly workers: number;
  /** The worker's script, when not the real one (tests). */
  readonly workerUrl?: URL;
}

export class Matcher {
  private readonly streams = new Set<MatcherStream>();
  /** Each attached stream's filter slot in the match workers. */
  private readonly slots = new Map<MatcherStream, number>();
  private readonly bySlot = new Map<number, MatcherStream>();
  private nextSlot = 1;
  private readonly target: MatchTarget;
  private readonly topics = new Map<string, TopicState>();
  private readonly skipCounts = new Map<string, SkipCounts>();
  private readonly unwatch: () => void;
  /** Serialises topic membership changes: they await the source. */
  private chain: Promise<void> = Promise.resolve();
  /** Ends the retries of membership changes (close). */
  private readonly closing = new AbortController();

  constructor(
    private readonly source: Source,
    private readonly sequencer: Sequencer,
    private readonly opts: MatcherOptions,
    private readonly log: Logger,
  ) {
    this.target = { pool: new MatchPool(opts.workers, log, opts.workerUrl ? { workerUrl: opts.workerUrl } : {}), bySlot: this.bySlot };
    this.unwatch = source.watch({
      onAppend: (topic, partition, end) => this.topics.get(topic)?.readers.get(partition)?.notify(end),
      // The watcher announces a topic once: offering it must not give up on a failed lookup.
      onTopic: (topic) => void this.serial(() => this.untilDone("offer a new topic", () => this.offerTopic(topic), () => true, { topic })),
    });
  }

  /**
   * Where a new stream's head epoch starts: the end of every partition of the
   * topics the filter matches now. Partitions not listed start at 0 (they did
   * not exist when the stream was created).
   */
  async headStart(filter: CompiledFilter): Promise<OffsetMap> {
    const start: OffsetMap = new Map();
    for (const t of await this.matchingTopics(filter)) {
      for (const p of t.partitions) start.set(partitionKey(t.name, p.partition), p.end);
    }
    return start;
  }

  /**
   * Starts scanning for a stream from its head frontier. Retries while the
   * source cannot list its topics: a stream that is never joined would stay
   * silent (its frontier keeps what it has not read, so joining late loses nothing).
   */
  attach(stream: MatcherStream): Promise<void> {
    this.streams.add(stream);
    if (!this.slots.has(stream)) {
      const slot = this.nextSlot++;
      this.slots.set(stream, slot);
      this.bySlot.set(slot, stream);
    }
    return this.serial(() =>
      this.untilDone(
        "attach a stream",
        async () => {
          for (const t of await this.matchingTopics(stream.filter)) this.join(t, stream);
        },
        () => this.streams.has(stream),
        { stream: stream.record.streamId },
      ),
    );
  }

  detach(stream: MatcherStream): Promise<void> {
    this.streams.delete(stream);
    return this.serial(async () => {
      const slot = this.slots.get(stream);
      for (const [name, t] of this.topics) {
        if (!t.streams.delete(stream)) continue;
        t.version++;
        if (slot !== undefined) this.target.pool.remove(name, slot);
        if (t.streams.size === 0) {
          this.topics.delete(name);
          await Promise.all([...t.readers.values()].map((r) => r.stop()));
        }
      }
      // Not re-attached while this waited: forget its slot (results still in flight for it are dropped).
      if (slot !== undefined && !this.streams.has(stream)) {
        this.slots.delete(stream);
        this.bySlot.delete(slot);
      }
    });
  }

  /** Per topic, messages whose value was not JSON / whose key was not a string array. */
  skips(topic: string): SkipCounts {
    return this.skipCounts.get(topic) ?? { nonJson: 0, badKey: 0 };
  }

  /** The next offset the live scan reads per partition (for lag reports). */
  positions(): Map<string, number> {
    const out = new Map<string, number>();
    for (const t of this.topics.values()) for (const r of t.readers.values()) out.set(r.pk, r.next);
    return out;
  }

  async close(): Promise<void> {
    this.closing.abort();
    this.unwatch();
    await this.chain;
    const readers = [...this.topics.values()].flatMap((t) => [...t.readers.values()]);
    this.topics.clear();
    await Promise.all(readers.map((r) => r.stop()));
    await this.target.pool.close();
  }

  private serial(fn: () => Promise<void>): Promise<void> {
    const next = this.chain.then(fn, fn);
    this.chain = next.catch((err) => this.log.error("matcher topic update failed", { err }));
    return next;
  }

  /** Runs `fn` until it succeeds, the change is no longer `wanted`, or the matcher closes. */
  private async untilDone(what: string, fn: () => Promise<void>, wanted: () => boolean, fields: Record<string, unknown>): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (err) {
        if (this.closing.signal.aborted || !wanted()) throw err;
        const delayMs = Math.min(this.opts.retryMs * 5, 100 * 2 ** attempt);
        this.log.warn(`matcher could not ${what}; retrying`, { err, attempt, delayMs, ...fields });
        await sleep(delayMs, undefined, { signal: this.closing.signal }).catch(() => {});
      }
    }
  }

  private async matchingTopics(filter: CompiledFilter): Promise<TopicMeta[]> {
    return (await this.source.listTopics()).filter((t) => filter.matchesTopic(t.name));
  }

  private async offerTopic(topic: string): Promise<void> {
    const wanting = [...this.streams].filter((s) => s.filter.matchesTopic(topic));
    if (wanting.length === 0) return;
    const meta = await this.source.describeTopic(topic);
    for (const s of wanting) this.join(meta, s);
  }

  private join(meta: TopicMeta, stream: MatcherStream): void {
    if (!this.streams.has(stream)) return; // detached meanwhile
    let t = this.topics.get(meta.name);
    if (!t) {
      let skips = this.skipCounts.get(meta.name);
      if (!skips) this.skipCounts.set(meta.name, (skips = { nonJson: 0, badKey: 0 }));
      t = { streams: new Set(), skips, readers: new Map(), version: 0 };
      this.topics.set(meta.name, t);
    }
    // A member is offered its topic again when the topic got more partitions:
    // only the new partitions need readers then.
    const member = t.streams.has(stream);
    if (!member) {
      t.streams.add(stream);
      t.version++;
      // Posted to the workers now: before any batch this member takes part in.
      this.target.pool.add(meta.name, this.slots.get(stream)!, stream.filter.spec);
    }
    const frontier = headEpoch(stream.record).frontier;
    for (const p of meta.partitions) {
      // A partition the stream's frontier does not name came after the stream: all of it is new.
      const from = frontier.get(partitionKey(meta.name, p.partition)) ?? 0;
      const reader = t.readers.get(p.partition);
      if (!reader) t.readers.set(p.partition, new PartitionReader(this.source, this.sequencer, meta.name, p.partition, from, t, this.target, this.opts, this.log));
      else if (!member) reader.scanFrom(from);
    }
  }
}
