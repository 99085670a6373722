// Reads one source partition once for every stream that wants it. Reading
// and committing happen here, on the main thread; parsing and matching in the
// match worker the reader is bound to (each record parsed once, the filter
// index picks the candidate streams). A stream only takes records at or
// after its own head frontier, so streams that joined at different offsets
// share one reader.
import type { Logger } from "../util/log.js";
import type { Source } from "../source/types.js";
import { MAX_GROUP_MATCHES, type Sequencer } from "../sequencer/sequencer.js";
import { headEpoch, partitionKey, type PartitionKey, type StreamRecord } from "../sequencer/types.js";
import type { SourceRecord } from "../source/types.js";
import type { MatchPool } from "./match-pool.js";
import type { MatcherStream, SkipCounts } from "./types.js";

export interface TopicMembers {
  readonly streams: Set<MatcherStream>;
  readonly skips: SkipCounts;
  /** Changed by whoever adds or removes a stream (readers skip per-member work while it stays the same). */
  version: number;
}

/** The members of the last committed batch, when all of them took part (see process()). */
interface Steady {
  readonly version: number;
  /** Where the batch ended: every member's frontier on this partition. */
  readonly next: number;
  readonly members: readonly StreamRecord[];
  readonly keys: boolean;
  readonly values: boolean;
}

/** Where the reader's batches are matched: a worker of the pool, and the streams by filter slot. */
export interface MatchTarget {
  readonly pool: MatchPool;
  /** The matcher's streams by the slot their filter has in the workers. */
  readonly bySlot: ReadonlyMap<number, MatcherStream>;
}

export interface ReaderOptions {
  readonly batchSize: number;
  /** Delay before retrying after a source or index error. */
  readonly retryMs: number;
}

export class PartitionReader {
  readonly pk: PartitionKey;
  private position: number;
  private rewindTo = Infinity;
  private dataPending = true;
  /**
   * The largest end the source announced (onAppend). Once a read has come
   * back empty (endKnown), every later append is announced, so a batch that
   * reaches knownEnd needs no second, empty read to find that out.
   */
  private knownEnd = 0;
  private endKnown = false;
  private wake: (() => void) | null = null;
  private stopped = false;
  private steady: Steady | null = null;
  private readonly worker: number;
  readonly done: Promise<void>;

  constructor(
    private readonly source: Source,
    private readonly sequencer: Sequencer,
    readonly topic: string,
    readonly partition: number,
    from: number,
    private readonly members: TopicMembers,
    private readonly target: MatchTarget,
    private readonly opts: ReaderOptions,
    private readonly log: Logger,
  ) {
    this.pk = partitionKey(topic, partition);
    this.position = from;
    this.worker = target.pool.acquire();
    this.done = this.loop().finally(() => target.pool.release(this.worker));
  }

  /** The next offset this reader will scan. */
  get next(): number {
    return Math.min(this.position, this.rewindTo);
  }

  /** A member joined with an older frontier: scan again from there (applied between batches). */
  scanFrom(offset: number): void {
    if (offset < this.next) {
      this.rewindTo = offset;
      this.notify();
    }
  }

  /**
   * The source appended data up to `end` (or, without `end`, something else
   * changed): read again. Ends only grow, and every append is announced, so
   * the largest announced end bounds what a read can find.
   */
  notify(end?: number): void {
    if (end === undefined) this.endKnown = false;
    else if (end > this.knownEnd) this.knownEnd = end;
    this.dataPending = true;
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  stop(): Promise<void> {
    this.stopped = true;
    this.notify();
    return this.done;
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      if (this.rewindTo < this.position) this.position = this.rewindTo;
      this.rewindTo = Infinity;
      if (!this.dataPending) {
        await new Promise<void>((resolve) => (this.wake = resolve));
        continue;
      }
      this.dataPending = false;
      let records: SourceRecord[];
      try {
        records = await this.source.read(this.topic, this.partition, this.position, this.opts.batchSize);
      } catch (err) {
        this.log.warn("source read failed; retrying", { topic: this.topic, partition: this.partition, offset: this.position, err });
        await this.pause();
        continue;
      }
      if (this.stopped) break;
      if (records.length === 0) {
        // At the end (an append announced meanwhile has raised knownEnd and asked for a read).
        this.endKnown = true;
        continue;
      }
      // Another read is due at once unless the batch reached the announced end.
      if (!this.endKnown || records.length >= this.opts.batchSize || records[records.length - 1]!.offset + 1 < this.knownEnd) this.dataPending = true;
      const first = records[0]!;
      if (first.offset > this.position) {
        this.log.warn("source deleted records before they were scanned (retention)", {
          topic: this.topic, partition: this.partition, from: this.position, to: first.offset - 1,
        });
      }
      try {
        await this.process(this.position, records);
      } catch (err) {
        this.log.error("matching a batch or writing its matches to the index failed; retrying the batch", { topic: this.topic, partition: this.partition, err });
        await this.pause();
        continue;
      }
      this.position = records[records.length - 1]!.offset + 1;
    }
  }

  /**
   * Matches a batch read from `batchStart`. A member whose frontier is below
   * `batchStart` joined while the read was in flight: it has not seen
   * [frontier, batchStart) yet, so it takes no part in this batch (neither
   * matches nor a frontier move) and gets everything, in order, from the
   * rewind its join requested.
   *
   * The members that take part are fixed when the batch is posted: a stream
   * that joins later has its filter added to the worker after the batch, so
   * the worker did not test it, and it must not see its frontier moved past
   * the batch either. A member that left meanwhile is dropped from the commit.
   */
  private async process(batchStart: number, records: readonly SourceRecord[]): Promise<void> {
    const { skips, streams } = this.members;
    const version = this.members.version;
    // Steady state: nobody joined or left since the last batch, and every
    // member took part in it, so all frontiers are at batchStart. Then the
    // per-member work (a thousand streams, for batches of a few records) is
    // skipped: the members are those of the last batch.
    const steady = this.steady;
    this.steady = null;
    const isSteady = steady !== null && steady.version === version && steady.next === batchStart;
    /** The members when the batch is posted (those the worker tests). */
    let posted: readonly StreamRecord[];
    /** Their frontiers (null when steady: all at batchStart). */
    let frontiers: Map<StreamRecord, number> | null = null;
    let keys = false;
    let values = false;
    /** The highest frontier among them: steady after this batch only if none is beyond its end. */
    let highest = batchStart;
    if (isSteady) {
      ({ members: posted, keys, values } = steady);
    } else {
      // The members' frontiers are read: apply the moves the sequencer kept lazily.
      this.sequencer.settleFrontiers(this.pk);
      const list: StreamRecord[] = [];
      frontiers = new Map();
      for (const s of streams) {
        const frontier = headEpoch(s.record).frontier.get(this.pk) ?? 0;
        if (frontier < batchStart) continue;
        list.push(s.record);
        frontiers.set(s.record, frontier);
        if (frontier > highest) highest = frontier;
        keys ||= s.filter.needsKey;
        values ||= s.filter.needsValue;
      }
      if (list.length === 0) return;
      posted = list;
    }
    // The group commit may wait for this batch while the worker matches it.
    const submitted = this.sequencer.expect();
    let result;
    try {
      result = await this.target.pool.match(this.worker, this.topic, records, { keys, values });
    } finally {
      submitted(); // (before commitHead below, in the same turn: the wait ends once every announced batch is in)
    }
    if (this.stopped) return;
    skips.nonJson += result.nonJson;
    skips.badKey += result.badKey;
    // A member that left meanwhile is dropped from the commit (a stream that
    // joined was not tested by the worker: its filter came after the batch).
    const present = this.members.version === version ? null : new Set([...streams].map((s) => s.record));
    // The matches, in chunks of whole records of at most MAX_GROUP_MATCHES
    // (a chunk with its frontier is as atomic as a batch): a catch-up batch
    // can match thousands, and one commit of those would stall the event loop.
    const chunks: Array<{ end: number; matches: Map<StreamRecord, SourceRecord[]> }> = [];
    let matches = new Map<StreamRecord, SourceRecord[]>();
    let inChunk = 0;
    let lastAt = -1;
    const { pairs } = result;
    for (let i = 0; i < pairs.length; i += 2) {
      const at = pairs[i]!;
      const record = records[at]!;
      const s = this.target.bySlot.get(pairs[i + 1]!);
      if (s === undefined) continue;
      if (frontiers !== null) {
        const frontier = frontiers.get(s.record);
        if (frontier === undefined || record.offset < frontier) continue;
      }
      if (present !== null && !present.has(s.record)) continue;
      // (Pairs come in record order: a record's matches stay in one chunk.)
      if (inChunk >= MAX_GROUP_MATCHES && at !== lastAt) {
        chunks.push({ end: at, matches });
        matches = new Map();
        inChunk = 0;
      }
      let list = matches.get(s.record);
      if (!list) matches.set(s.record, (list = []));
      list.push(record);
      inChunk++;
      lastAt = at;
    }
    chunks.push({ end: records.length, matches });
    const members = present === null ? posted : posted.filter((r) => present.has(r));
    const next = records[records.length - 1]!.offset + 1;
    // A member may also leave before a group commit: then it takes no part.
    let current: Set<StreamRecord> | null = null;
    let currentVersion = version;
    const isMember = (r: StreamRecord): boolean => {
      if (this.members.version === version) return true;
      if (current === null || currentVersion !== this.members.version) {
        current = new Set([...streams].map((s) => s.record));
        currentVersion = this.members.version;
      }
      return current.has(r);
    };
    const allMembers = () => this.members.version === version;
    for (const c of chunks) {
      await this.sequencer.commitHead(this.pk, records[c.end - 1]!.offset + 1, members, c.matches, isMember, allMembers);
      if (this.stopped) return;
    }
    const unchanged = this.members.version === version;
    // (The commit moved every member's frontier to `next`, unless it was beyond it.)
    if (unchanged && members.length === streams.size && highest <= next) this.steady = { version, next, members, keys, values };
    if (isSteady && unchanged) return;
    // A stream that joined while the batch was being matched, with a frontier
    // inside it, was not tested on it and asked for no rewind (the reader had
    // not moved past its frontier yet). Scan again from there, or it would
    // never take part.
    const wasPosted = frontiers ?? new Set(posted);
    this.sequencer.settleFrontiers(this.pk);
    for (const s of streams) {
      if (wasPosted.has(s.record)) continue;
      const frontier = headEpoch(s.record).frontier.get(this.pk) ?? 0;
      // Not scanFrom(): the position only moves to `next` after this returns.
      if (frontier < next) this.rewindTo = Math.min(this.rewindTo, frontier);
    }
  }

  private pause(): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, this.opts.retryMs);
      this.wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }
}
