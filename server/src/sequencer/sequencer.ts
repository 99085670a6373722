// The sequencer numbers each stream's matches densely per epoch and writes
// them to the index together with the scan frontier, in one transaction.
// In-memory counters change only after the transaction committed, so a failed
// write leaves memory and disk agreeing.
import type { SourceRecord } from "../source/types.js";
import type { IndexStore } from "./index-store.js";
import { headEpoch, type Epoch, type MatchRow, type PartitionKey, type StreamRecord } from "./types.js";

export interface SequencedMatch {
  readonly row: MatchRow;
  /** The record the match came from: live cursors deliver it without re-reading the source. */
  readonly record: SourceRecord;
}

/** Told after each commit, with the new matches in seq order (possibly none when a backfill epoch completed). */
export type AppendListener = (stream: StreamRecord, epoch: Epoch, matches: readonly SequencedMatch[]) => void;

const sizeOf = (r: SourceRecord): number => r.value?.byteLength ?? 0;

export class Sequencer {
  /** Streams whose head frontier moved without matches: persisted by checkpoint(). */
  private readonly dirty = new Set<StreamRecord>();

  constructor(
    private readonly store: IndexStore,
    private readonly onAppend: AppendListener,
  ) {}

  /**
   * Commits one scanned batch of partition `pk` of the live head: `members`
   * scanned it up to `nextOffset`; `matches` holds, per stream, the matching
   * records in offset order.
   */
  commitHead(pk: PartitionKey, nextOffset: number, members: Iterable<StreamRecord>, matches: ReadonlyMap<StreamRecord, SourceRecord[]>): void {
    const written: Array<[StreamRecord, Epoch, SequencedMatch[]]> = [];
    if (matches.size > 0) {
      this.store.tx(() => {
        for (const [stream, records] of matches) {
          const head = headEpoch(stream);
          const frontier = new Map(head.frontier).set(pk, Math.max(nextOffset, head.frontier.get(pk) ?? 0));
          const seqd = this.writeMatches(stream, head, records);
          this.store.saveEpoch(stream.sid, { ...head, lastSeq: head.lastSeq + seqd.length, frontier });
          written.push([stream, head, seqd]);
        }
      });
    }
    const advance = (stream: StreamRecord) => {
      const head = headEpoch(stream);
      if ((head.frontier.get(pk) ?? 0) < nextOffset) head.frontier.set(pk, nextOffset);
    };
    for (const stream of members) {
      advance(stream);
      if (!matches.has(stream)) this.dirty.add(stream);
    }
    for (const stream of matches.keys()) advance(stream);
    this.publish(written);
  }

  /**
   * Commits one scanned batch of a backfill epoch: `frontiers` are the new
   * next offsets of the partitions it consumed; `complete` closes the epoch.
   */
  commitEpoch(stream: StreamRecord, epoch: Epoch, frontiers: ReadonlyMap<PartitionKey, number>, records: readonly SourceRecord[], complete: boolean): void {
    const written: Array<[StreamRecord, Epoch, SequencedMatch[]]> = [];
    this.store.tx(() => {
      const frontier = new Map(epoch.frontier);
      for (const [pk, next] of frontiers) frontier.set(pk, next);
      const seqd = this.writeMatches(stream, epoch, records);
      this.store.saveEpoch(stream.sid, { ...epoch, lastSeq: epoch.lastSeq + seqd.length, complete, frontier });
      written.push([stream, epoch, seqd]);
    });
    for (const [pk, next] of frontiers) epoch.frontier.set(pk, next);
    epoch.complete = complete;
    this.publish(written);
  }

  /** Persists head frontiers that moved without matches, so a restart rescans less. */
  checkpoint(): void {
    if (this.dirty.size === 0) return;
    const streams = [...this.dirty];
    this.dirty.clear();
    this.store.tx(() => {
      for (const s of streams) this.store.saveEpoch(s.sid, headEpoch(s));
    });
  }

  private writeMatches(stream: StreamRecord, epoch: Epoch, records: readonly SourceRecord[]): SequencedMatch[] {
    const out: SequencedMatch[] = [];
    let seq = epoch.lastSeq;
    for (const record of records) {
      const row: MatchRow = {
        epoch: epoch.epoch,
        seq: ++seq,
        topic: record.topic,
        partition: record.partition,
        offset: record.offset,
        timestamp: record.timestamp,
        size: sizeOf(record),
      };
      this.store.insertMatch(stream.sid, row);
      out.push({ row, record });
    }
    return out;
  }

  private publish(written: Array<[StreamRecord, Epoch, SequencedMatch[]]>): void {
    for (const [stream, epoch, matches] of written) {
      epoch.lastSeq += matches.length;
      if (matches.length > 0 || epoch.complete) this.onAppend(stream, epoch, matches);
    }
  }
}
