// Reads one source partition once for every stream that wants it. Each record
// is parsed once; the filter index picks the candidate streams; a stream only
// takes records at or after its own head frontier, so streams that joined at
// different offsets share one reader.
import type { Logger } from "../util/log.js";
import type { Source } from "../source/types.js";
import type { Sequencer } from "../sequencer/sequencer.js";
import { headEpoch, partitionKey, type PartitionKey, type StreamRecord } from "../sequencer/types.js";
import type { SourceRecord } from "../source/types.js";
import type { FilterIndex } from "./filter-index.js";
import { matchesParsed, parseRecord } from "./parsed-record.js";
import type { MatcherStream, SkipCounts } from "./types.js";

export interface TopicMembers {
  readonly streams: Set<MatcherStream>;
  readonly index: FilterIndex<MatcherStream>;
  readonly skips: SkipCounts;
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
  private wake: (() => void) | null = null;
  private stopped = false;
  private readonly candidates: MatcherStream[] = [];
  readonly done: Promise<void>;

  constructor(
    private readonly source: Source,
    private readonly sequencer: Sequencer,
    readonly topic: string,
    readonly partition: number,
    from: number,
    private readonly members: TopicMembers,
    private readonly opts: ReaderOptions,
    private readonly log: Logger,
  ) {
    this.pk = partitionKey(topic, partition);
    this.position = from;
    this.done = this.loop();
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

  /** The source appended data (or something else changed): read again. */
  notify(): void {
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
      if (records.length === 0) continue;
      // Another read is due at once: the batch may not have reached the end.
      this.dataPending = true;
      const first = records[0]!;
      if (first.offset > this.position) {
        this.log.warn("source deleted records before they were scanned (retention)", {
          topic: this.topic, partition: this.partition, from: this.position, to: first.offset - 1,
        });
      }
      try {
        this.process(this.position, records);
      } catch (err) {
        this.log.error("writing matches to the index failed; retrying the batch", { topic: this.topic, partition: this.partition, err });
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
   */
  private process(batchStart: number, records: readonly SourceRecord[]): void {
    const matches = new Map<StreamRecord, SourceRecord[]>();
    const { index, skips, streams } = this.members;
    const candidates = this.candidates;
    // The members that take part, with their frontiers: looked up once a batch, not per record.
    const eligible = new Map<MatcherStream, number>();
    for (const s of streams) {
      const frontier = headEpoch(s.record).frontier.get(this.pk) ?? 0;
      if (frontier >= batchStart) eligible.set(s, frontier);
    }
    for (const record of records) {
      const parsed = parseRecord(record);
      if (record.value !== null && !parsed.valueOk) skips.nonJson++;
      if (record.key !== null && parsed.key === null) skips.badKey++;
      candidates.length = 0;
      index.candidates(parsed.valueOk ? parsed.value : undefined, candidates);
      for (const s of candidates) {
        const frontier = eligible.get(s);
        if (frontier === undefined || record.offset < frontier) continue;
        if (!matchesParsed(s.filter, parsed)) continue;
        let list = matches.get(s.record);
        if (!list) matches.set(s.record, (list = []));
        list.push(record);
      }
    }
    const next = records[records.length - 1]!.offset + 1;
    this.sequencer.commitHead(this.pk, next, [...eligible.keys()].map((s) => s.record), matches);
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
