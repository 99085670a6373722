// Scans backfill epochs: history from each epoch's start to its end,
// resuming at the epoch's frontier after a restart. One scan serves every
// epoch that needs the same range at about the same time (streams resuming
// together after a network blip or a restart, each with the range it did not
// watch while parked): each record is read and decoded once, its value parsed
// at most once and only when some member's literal prefilter passes it, and
// matched against each member whose range holds it.
//
// Partitions are merged by timestamp (a k-way merge over one batch per
// partition), so a subscriber replaying history sees it in time order. Each
// round commits, in one transaction, every member's matches together with the
// frontier of every partition it consumed, so numbering is exactly-once; a
// member's last commit marks its epoch complete.
//
// Joining a running scan: a member whose start is within JOIN_WINDOW of the
// scan's position in every partition they share joins it. Behind it, the
// scan re-reads from the member's start (the others skip what they already
// have); ahead, the member waits for the scan to reach it. Farther away it
// would stall the others or itself, so it gets a scan of its own.
import type { Source, SourceRecord } from "../source/types.js";
import type { EpochBatch, Sequencer } from "../sequencer/sequencer.js";
import { splitPartitionKey, startOf, type Epoch, type PartitionKey } from "../sequencer/types.js";
import { StringFinder } from "../filter/index.js";
import { SharedParse } from "./parsed-record.js";
import type { MatcherStream } from "./types.js";

export interface BackfillProgress {
  scanned: number;
  total: number;
  matched: number;
  readonly startedAt: number;
  /** The source read the scan awaits now ("topic/partition@offset"), for the stall warning; "" between reads. */
  waitingFor: string;
}

export interface BackfillOptions {
  readonly batchSize: number;
  readonly signal: AbortSignal;
  /** Updated in place as the scan goes. */
  readonly progress: BackfillProgress;
}

/** How far (in offsets, per partition, in batches) a member's start may be from a running scan's position to join it. */
export const JOIN_WINDOW_BATCHES = 32;

/**
 * Members of a partition from which one StringFinder searches each record's
 * text for the strings of all of them, rather than each searching it
 * (parsed-record.ts): the finder costs about two searches.
 */
const FINDER_FROM = 3;

/** One epoch scanned by a shared scan. */
export interface BackfillMember {
  readonly stream: MatcherStream;
  readonly epoch: Epoch;
  /** Stops this member's part of the scan (the others go on). */
  readonly signal: AbortSignal;
  /** Updated in place as the scan goes. */
  readonly progress: BackfillProgress;
}

/** A member's range in one partition. */
interface MemberPart {
  readonly m: Member;
  /** Next offset this member consumes. */
  next: number;
  readonly to: number;
}

class Member {
  readonly parts = new Map<PartitionKey, MemberPart>();
  /** This round's frontier moves and matches, committed at its end. */
  consumed = new Map<PartitionKey, number>();
  matched: SourceRecord[] = [];
  done = false;
  readonly settled: Promise<void>;
  resolve!: () => void;
  reject!: (err: unknown) => void;

  constructor(readonly spec: BackfillMember) {
    this.settled = new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }
}

/** One partition as the scan reads it. */
interface Part {
  readonly pk: PartitionKey;
  readonly topic: string;
  readonly partition: number;
  /** The members that still consume here. */
  readonly members: MemberPart[];
  /** Offset after the last record merged (or where the scan starts). */
  next: number;
  /** Read but not yet merged, in offset order, all at or after `next`. */
  buffer: SourceRecord[];
  /** Where the next read starts: after the buffer. */
  readFrom: number;
  /** The largest end of its members' ranges here. */
  to: number;
  /** Bumped when a joining member moves `next` back: a read in flight then is stale. */
  generation: number;
}

export class SharedBackfill {
  private readonly members = new Set<Member>();
  private readonly parts = new Map<PartitionKey, Part>();
  private readonly parse = new SharedParse();
  /** Of every member's strings; null after a member came (made again on use; one that left only makes it find more). */
  private strings: StringFinder | null = null;
  private finished = false;

  constructor(
    private readonly source: Source,
    private readonly sequencer: Sequencer,
    private readonly batchSize: number,
    /** Counts the records this scan reads from the source (once, however many epochs share them). */
    private readonly stats: { recordsRead: number } = { recordsRead: 0 },
  ) {}

  /** Whether this epoch may join (see the top of this file). */
  canJoin(epoch: Epoch): boolean {
    if (this.finished) return false;
    const window = JOIN_WINDOW_BATCHES * this.batchSize;
    for (const [pk, { next, to }] of ranges(epoch)) {
      const part = this.parts.get(pk);
      if (part !== undefined && next < to && Math.abs(next - part.next) > window) return false;
    }
    return true;
  }

  /**
   * Scans this member's epoch with the others: resolves once it is complete,
   * rejects when its signal aborts or a read fails. Call canJoin() first.
   */
  add(spec: BackfillMember): Promise<void> {
    if (this.finished) throw new Error("a finished backfill scan cannot take members");
    const m = new Member(spec);
    const { epoch, progress, signal } = spec;
    if (epoch.complete || !epoch.end) {
      m.resolve();
      return m.settled;
    }
    if (signal.aborted) {
      m.reject(signal.reason);
      return m.settled;
    }
    let total = 0;
    for (const [pk, { next, to }] of ranges(epoch)) {
      if (next >= to) continue;
      total += to - next;
      const mp: MemberPart = { m, next, to };
      m.parts.set(pk, mp);
      let part = this.parts.get(pk);
      if (part === undefined) {
        const { topic, partition } = splitPartitionKey(pk);
        part = { pk, topic, partition, members: [], next, buffer: [], readFrom: next, to, generation: 0 };
        this.parts.set(pk, part);
      } else if (next < part.next) {
        // Behind the scan here: read again from this member's start.
        part.next = next;
        part.buffer = [];
        part.readFrom = next;
        part.generation++;
      }
      part.members.push(mp);
      if (to > part.to) part.to = to;
    }
    progress.total = total;
    if (m.parts.size === 0) {
      // Nothing to read: the epoch is complete as it is.
      this.sequencer.commitEpoch(spec.stream.record, epoch, new Map(), [], true);
      m.resolve();
      return m.settled;
    }
    const onAbort = () => this.drop(m, signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    void m.settled.then(
      () => signal.removeEventListener("abort", onAbort),
      () => signal.removeEventListener("abort", onAbort),
    );
    this.members.add(m);
    this.strings = null;
    return m.settled;
  }

  /**
   * Reads until every member is complete or gone. A failed read fails every
   * member of the moment (they retry from their frontiers) and ends the scan.
   */
  async run(): Promise<void> {
    try {
      while (this.members.size > 0) {
        // The embedded log reads without I/O: its promises are resolved, so
        // without this a whole scan would run in one go, holding back every
        // request (and the epochs that would join it) until its end. Before
        // the first read too: epochs of a burst of resumes join first.
        await yieldToEventLoop();
        await this.fill();
        this.round();
      }
    } catch (err) {
      for (const m of [...this.members]) this.drop(m, err);
    } finally {
      this.finished = true;
    }
  }

  /** Reads every partition that has members and an empty buffer, all at once. */
  private async fill(): Promise<void> {
    const reads: Array<Promise<void>> = [];
    for (const part of this.parts.values()) {
      if (part.buffer.length > 0) continue;
      const { generation, readFrom, to } = part;
      if (readFrom >= to) continue;
      const where = `${part.topic}/${part.partition}@${readFrom}`;
      for (const mp of part.members) mp.m.spec.progress.waitingFor = where;
      reads.push(
        this.source.read(part.topic, part.partition, readFrom, Math.min(this.batchSize, to - readFrom)).then((records) => {
          this.stats.recordsRead += records.length;
          if (part.generation !== generation || this.parts.get(part.pk) !== part) return; // moved back meanwhile: read again
          const buffer = records.filter((r) => r.offset >= readFrom && r.offset < to);
          if (buffer.length === 0) {
            // Nothing left below `to` (deleted by retention): every member is done here.
            part.readFrom = to;
            this.exhaust(part);
            return;
          }
          part.buffer = buffer;
          part.readFrom = buffer[buffer.length - 1]!.offset + 1;
        }),
      );
    }
    await Promise.all(reads);
    for (const m of this.members) m.spec.progress.waitingFor = "";
  }

  /** Merges up to a batch of records by time, matches them, and commits every member's share. */
  private round(): void {
    const parse = this.parse;
    for (let taken = 0; taken < this.batchSize; taken++) {
      let min: Part | undefined;
      for (const part of this.parts.values()) {
        if (part.buffer.length > 0) {
          if (!min || part.buffer[0]!.timestamp < min.buffer[0]!.timestamp) min = part;
        } else if (part.readFrom < part.to) {
          // This partition's next timestamp is unknown until it is read: read first.
          min = undefined;
          break;
        }
      }
      if (!min) break;
      const r = min.buffer.shift()!;
      min.next = r.offset + 1;
      parse.reset(r);
      const members = min.members;
      parse.finder = members.length >= FINDER_FROM ? this.finder() : null;
      for (let i = 0; i < members.length; i++) {
        const mp = members[i]!;
        if (r.offset < mp.next) continue; // this member started later here
        const m = mp.m;
        const upTo = Math.min(r.offset + 1, mp.to);
        m.spec.progress.scanned += upTo - mp.next;
        mp.next = upTo;
        m.consumed.set(min.pk, upTo);
        if (r.offset < mp.to && parse.matches(m.spec.stream.filter)) m.matched.push(r);
        if (mp.next >= mp.to) {
          this.leave(min, mp);
          i--;
        }
      }
      if (min.members.length === 0) this.parts.delete(min.pk);
    }
    // A partition read to its end with members left: they are done there.
    for (const part of [...this.parts.values()]) if (part.buffer.length === 0 && part.readFrom >= part.to) this.exhaust(part);
    this.commit();
  }

  /** Every member of this partition has consumed all of its range there. */
  private exhaust(part: Part): void {
    for (const mp of [...part.members]) {
      mp.m.spec.progress.scanned += mp.to - mp.next;
      mp.next = mp.to;
      mp.m.consumed.set(part.pk, mp.to);
      this.leave(part, mp);
    }
    this.parts.delete(part.pk);
  }

  private leave(part: Part, mp: MemberPart): void {
    part.members.splice(part.members.indexOf(mp), 1);
    if (mp.to === part.to) part.to = part.members.reduce((to, o) => Math.max(to, o.to), 0);
    mp.m.parts.delete(part.pk);
    if (mp.m.parts.size === 0) mp.m.done = true;
  }

  /** One transaction for every member that moved this round. */
  private commit(): void {
    const batches: EpochBatch[] = [];
    const moved: Member[] = [];
    for (const m of this.members) {
      if (m.consumed.size === 0 && !m.done) continue;
      batches.push({ stream: m.spec.stream.record, epoch: m.spec.epoch, frontiers: m.consumed, records: m.matched, complete: m.done });
      moved.push(m);
    }
    if (batches.length === 0) return;
    this.sequencer.commitEpochs(batches);
    for (const m of moved) {
      m.spec.progress.matched += m.matched.length;
      m.consumed = new Map();
      m.matched = [];
      if (m.done) {
        this.members.delete(m);
        m.resolve();
      }
    }
  }

  private finder(): StringFinder {
    return (this.strings ??= new StringFinder([...this.members].flatMap((m) => m.spec.stream.filter.valueLiterals?.strings ?? [])));
  }

  /** Removes a member without committing what it consumed since its last commit (it rescans that). */
  private drop(m: Member, err: unknown): void {
    this.members.delete(m);
    for (const [pk, mp] of [...m.parts]) {
      const part = this.parts.get(pk);
      if (part === undefined) continue;
      this.leave(part, mp);
      if (part.members.length === 0) this.parts.delete(pk);
    }
    m.reject(err);
  }
}

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Each partition's next offset and end for this epoch. */
function ranges(epoch: Epoch): Map<PartitionKey, { next: number; to: number }> {
  const end = epoch.end ?? new Map<PartitionKey, number>();
  const out = new Map<PartitionKey, { next: number; to: number }>();
  for (const pk of [...new Set([...epoch.start.keys(), ...end.keys()])].sort()) {
    out.set(pk, { next: epoch.frontier.get(pk) ?? startOf(epoch.start, pk), to: startOf(end, pk) });
  }
  return out;
}

/** Scans one stream's backfill epoch on its own. */
export async function runBackfill(source: Source, sequencer: Sequencer, stream: MatcherStream, epoch: Epoch, opts: BackfillOptions): Promise<void> {
  const scan = new SharedBackfill(source, sequencer, opts.batchSize);
  const done = scan.add({ stream, epoch, signal: opts.signal, progress: opts.progress });
  await Promise.all([done, scan.run()]);
}
