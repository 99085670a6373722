// The sequencer numbers each stream's matches densely per epoch and writes
// them to the index together with the scan frontier, in one transaction.
// In-memory counters change only after the transaction committed, so a failed
// write leaves memory and disk agreeing.
import type { SourceRecord } from "../source/types.js";
import { GroupCommit } from "./group-commit.js";
import type { IndexStore } from "./index-store.js";
import { headEpoch, type Epoch, type MatchRow, type PartitionKey, type StreamRecord } from "./types.js";

export interface SequencedMatch {
  readonly row: MatchRow;
  /** The record the match came from: live cursors deliver it without re-reading the source. */
  readonly record: SourceRecord;
}

/** One scanned batch of a backfill epoch (Sequencer.commitEpochs). */
export interface EpochBatch {
  readonly stream: StreamRecord;
  readonly epoch: Epoch;
  /** The new next offsets of the partitions the batch consumed. */
  readonly frontiers: ReadonlyMap<PartitionKey, number>;
  readonly records: readonly SourceRecord[];
  /** Closes the epoch. */
  readonly complete: boolean;
}

/** Told after each commit, with the new matches in seq order (possibly none when a backfill epoch completed). */
export type AppendListener = (stream: StreamRecord, epoch: Epoch, matches: readonly SequencedMatch[]) => void;

const sizeOf = (r: SourceRecord): number => r.value?.byteLength ?? 0;

/**
 * A group commit takes queued batches until it holds this many matches (and
 * always at least one batch); the rest wait for the next turn. A commit of
 * 256 matches over 1,000 streams blocks the event loop for about 2 ms on
 * this machine (p50; bench/index-commit.mjs), so this keeps a catch-up's
 * commits, which carry hundreds of matches per partition, from adding up to
 * tens of milliseconds in one turn.
 */
export const MAX_GROUP_MATCHES = 256;

/**
 * How long a group commit may wait for batches that are still being matched
 * (announced with expect()): the batches of one append, matched by the
 * workers in parallel, then share one transaction and its fsync.
 */
export const MAX_GROUP_WAIT_MS = 1;

/** A batch of the live head waiting for the next group commit. */
interface HeadBatch {
  readonly pk: PartitionKey;
  readonly nextOffset: number;
  readonly members: readonly StreamRecord[];
  readonly matches: ReadonlyMap<StreamRecord, SourceRecord[]>;
  readonly isMember: (s: StreamRecord) => boolean;
  /** Whether every one of `members` still is one (then their frontier move may be applied lazily). */
  readonly allMembers: (() => boolean) | undefined;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
  /** When it was submitted (performance.now()). */
  readonly at: number;
}

/** What one group commit writes for one stream's head epoch. */
interface HeadWrite {
  readonly head: Epoch;
  /** The partitions the commit moves, with their new next offsets. */
  readonly frontier: Map<PartitionKey, number>;
  readonly matches: SequencedMatch[];
}

export class Sequencer {
  /** Member lists of batches that moved head frontiers without matches: persisted by checkpoint(). */
  private readonly dirty = new Set<readonly StreamRecord[]>();
  /** Per partition, a frontier move of every member of a list, not applied yet (see settleFrontiers). */
  private readonly lazy = new Map<PartitionKey, { readonly members: readonly StreamRecord[]; next: number }>();
  /** The head epochs of a member list (a reader passes the same list while its members stay the same). */
  private readonly heads = new WeakMap<readonly StreamRecord[], Epoch[]>();
  /** Head batches waiting for their group commit. */
  private readonly group: GroupCommit<HeadBatch>;

  /** @param options.groupWaitMs how long a group commit may wait for announced batches (default MAX_GROUP_WAIT_MS). */
  constructor(
    private readonly store: IndexStore,
    private readonly onAppend: AppendListener,
    options: { groupWaitMs?: number } = {},
  ) {
    this.group = new GroupCommit(options.groupWaitMs ?? MAX_GROUP_WAIT_MS, (queue) => this.flush(queue));
  }

  /**
   * Commits one scanned batch of partition `pk` of the live head: `members`
   * scanned it up to `nextOffset`; `matches` holds, per stream, the matching
   * records in offset order. Resolves once committed (rejects, with nothing
   * written, when the transaction failed).
   *
   * Group commit: the batches of every partition submitted in one turn of
   * the event loop are written in one transaction (up to MAX_GROUP_MATCHES
   * matches; the rest in the next turn). A commit costs per transaction (an
   * fsync) and per page it dirties, so this is cheaper than a transaction
   * per batch; it adds at most the rest of the turn, or, while batches
   * announced with expect() are still being matched, up to
   * MAX_GROUP_WAIT_MS. A stream that is no longer a member (`isMember`) when
   * the batch is committed takes no part in it.
   */
  commitHead(
    pk: PartitionKey,
    nextOffset: number,
    members: readonly StreamRecord[],
    matches: ReadonlyMap<StreamRecord, SourceRecord[]>,
    isMember: (s: StreamRecord) => boolean = () => true,
    allMembers?: () => boolean,
  ): Promise<void> {
    return new Promise((resolve, reject) => {
      this.group.submit({ pk, nextOffset, members, matches, isMember, allMembers, resolve, reject, at: performance.now() });
    });
  }

  /**
   * A reader is about to match a batch of the live head: the next group
   * commit may wait for it (MAX_GROUP_WAIT_MS at most), so that the batches
   * of one append, matched in parallel, share a transaction. Call the
   * returned function once the batch is submitted with commitHead (just
   * before) or given up.
   */
  expect(): () => void {
    return this.group.expect();
  }

  /** Writes the queued head batches (up to MAX_GROUP_MATCHES matches) in one transaction, then updates memory and tells the listener. */
  private flush(queue: HeadBatch[]): void {
    let take = 0;
    let rows = 0;
    while (take < queue.length && (take === 0 || rows < MAX_GROUP_MATCHES)) {
      for (const records of queue[take]!.matches.values()) rows += records.length;
      take++;
    }
    const batches = queue.slice(0, take);
    this.group.requeue(queue.slice(take));
    const writes = new Map<StreamRecord, HeadWrite>();
    try {
      for (const b of batches) {
        for (const [stream, records] of b.matches) {
          if (!b.isMember(stream)) continue;
          const head = headEpoch(stream);
          // A batch read for a head the stream has left (it was parked and
          // resumed while the batch was matched) belongs to the backfill of
          // the unwatched range, not to the new head, which starts after it.
          if (records.length > 0 && records[0]!.offset < (head.frontier.get(b.pk) ?? 0)) continue;
          let w = writes.get(stream);
          if (!w) writes.set(stream, (w = { head, frontier: new Map(), matches: [] }));
          w.frontier.set(b.pk, Math.max(b.nextOffset, w.frontier.get(b.pk) ?? 0));
          numberMatches(w.head, records, w.matches);
        }
      }
      this.store.append([...writes].map(([stream, w]) => ({ sid: stream.sid, epoch: w.head, rows: w.matches.map((m) => m.row), frontier: w.frontier, complete: false })));
    } catch (err) {
      for (const b of batches) b.reject(err);
      return;
    }
    // Every member's frontier moves. The streams that matched at once: their
    // new frontier is in the journal record, and memory must never be behind
    // what is written with a match. The others, a thousand streams for
    // batches of a few records, lazily while the same members read the
    // partition (settleFrontiers()).
    for (const w of writes.values()) for (const [pk, next] of w.frontier) moveFrontier(w.head, pk, next);
    for (const b of batches) {
      const { members, pk, nextOffset, isMember } = b;
      if (b.allMembers?.() === true) {
        const lazy = this.lazy.get(pk);
        if (lazy !== undefined && lazy.members === members) lazy.next = Math.max(lazy.next, nextOffset);
        else {
          this.settleFrontiers(pk);
          this.lazy.set(pk, { members, next: nextOffset });
        }
      } else {
        this.settleFrontiers(pk);
        const heads = this.headsOf(members);
        for (let i = 0; i < members.length; i++) if (isMember(members[i]!)) moveFrontier(heads[i]!, pk, nextOffset);
      }
      // Their epoch rows hold this partition's frontier only where they had matches here.
      if (members.length > b.matches.size) this.dirty.add(members);
    }
    this.publish([...writes].map(([stream, w]) => [stream, w.head, w.matches]));
    for (const b of batches) b.resolve();
  }

  /**
   * Commits one scanned batch of a backfill epoch: `frontiers` are the new
   * next offsets of the partitions it consumed; `complete` closes the epoch.
   */
  commitEpoch(stream: StreamRecord, epoch: Epoch, frontiers: ReadonlyMap<PartitionKey, number>, records: readonly SourceRecord[], complete: boolean): void {
    this.commitEpochs([{ stream, epoch, frontiers, records, complete }]);
  }

  /** Commits scanned batches of several backfill epochs (a shared scan's round) in one transaction. */
  commitEpochs(batches: readonly EpochBatch[]): void {
    const numbered = batches.map((b) => numberMatches(b.epoch, b.records, []));
    this.store.append(batches.map((b, i) => ({ sid: b.stream.sid, epoch: b.epoch, rows: numbered[i]!.map((m) => m.row), frontier: b.frontiers, complete: b.complete })));
    for (const b of batches) {
      for (const [pk, next] of b.frontiers) b.epoch.frontier.set(pk, next);
      b.epoch.complete = b.complete;
    }
    this.publish(batches.map((b, i) => [b.stream, b.epoch, numbered[i]!]));
  }

  /**
   * Applies the frontier moves of partition `pk` (every partition when
   * omitted) that were kept lazily: call before reading the head frontiers
   * of streams without matches there. Until then such a frontier is behind,
   * but only over records in which the stream had no match, so saving or
   * rescanning from it loses and repeats nothing.
   */
  settleFrontiers(pk?: PartitionKey): void {
    if (pk === undefined) {
      for (const k of [...this.lazy.keys()]) this.settleFrontiers(k);
      return;
    }
    const lazy = this.lazy.get(pk);
    if (lazy === undefined) return;
    this.lazy.delete(pk);
    const heads = this.headsOf(lazy.members);
    for (let i = 0; i < heads.length; i++) moveFrontier(heads[i]!, pk, lazy.next);
  }

  private headsOf(members: readonly StreamRecord[]): Epoch[] {
    let heads = this.heads.get(members);
    if (!heads) this.heads.set(members, (heads = members.map(headEpoch)));
    return heads;
  }

  /** Persists head frontiers that moved without matches, so a restart rescans less. */
  checkpoint(): void {
    this.settleFrontiers();
    if (this.dirty.size === 0) return;
    const streams = new Set<StreamRecord>();
    for (const list of this.dirty) for (const s of list) streams.add(s);
    this.dirty.clear();
    // (A stream that left or was evicted since is saved as it is in memory, or not at all: both are right.)
    this.store.tx(() => {
      for (const s of streams) this.store.saveEpoch(s.sid, headEpoch(s));
    });
  }

  private publish(written: Array<[StreamRecord, Epoch, SequencedMatch[]]>): void {
    for (const [stream, epoch, matches] of written) {
      epoch.lastSeq += matches.length;
      if (matches.length > 0 || epoch.complete) this.onAppend(stream, epoch, matches);
    }
  }
}

/** Numbers `records` after epoch.lastSeq and the matches already in `out`, and appends them to `out`. */
function numberMatches(epoch: Epoch, records: readonly SourceRecord[], out: SequencedMatch[]): SequencedMatch[] {
  let seq = epoch.lastSeq + out.length;
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
    out.push({ row, record });
  }
  return out;
}

function moveFrontier(head: Epoch, pk: PartitionKey, next: number): void {
  if ((head.frontier.get(pk) ?? 0) < next) head.frontier.set(pk, next);
}
