// Scans one backfill epoch of one stream: history from the epoch's start to
// its end, resuming at the epoch's frontier after a restart. Partitions are
// merged by timestamp (a k-way merge over one batch per partition), so a
// subscriber replaying history sees it in time order. Each commit carries the
// frontier of every partition it consumed, so numbering is exactly-once; the
// last commit marks the epoch complete.
import type { Source, SourceRecord } from "../source/types.js";
import type { Sequencer } from "../sequencer/sequencer.js";
import { splitPartitionKey, startOf, type Epoch, type PartitionKey } from "../sequencer/types.js";
import { matchesParsed, mayMatchBytes, parseRecordFor } from "./parsed-record.js";
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

interface Cursor {
  readonly pk: PartitionKey;
  readonly topic: string;
  readonly partition: number;
  /** Next offset to consume. */
  next: number;
  readonly to: number;
  /** Read but not yet consumed, in offset order. */
  buffer: SourceRecord[];
}

export async function runBackfill(source: Source, sequencer: Sequencer, stream: MatcherStream, epoch: Epoch, opts: BackfillOptions): Promise<void> {
  if (epoch.complete || !epoch.end) return;
  const end = epoch.end;
  const keys: PartitionKey[] = [...new Set([...epoch.start.keys(), ...end.keys()])].sort();
  const parts: Cursor[] = keys
    .map((pk) => ({ pk, ...splitPartitionKey(pk), next: epoch.frontier.get(pk) ?? startOf(epoch.start, pk), to: startOf(end, pk), buffer: [] }))
    .filter((c) => c.next < c.to);
  opts.progress.total = parts.reduce((n, c) => n + (c.to - c.next), 0);
  if (parts.length === 0) {
    sequencer.commitEpoch(stream.record, epoch, new Map(), [], true);
    return;
  }
  const pending = (c: Cursor) => c.buffer.length > 0 || c.next < c.to;
  while (parts.some(pending)) {
    opts.signal.throwIfAborted();
    for (const c of parts) {
      if (c.buffer.length > 0 || c.next >= c.to) continue;
      opts.progress.waitingFor = `${c.topic}/${c.partition}@${c.next}`;
      c.buffer = (await source.read(c.topic, c.partition, c.next, Math.min(opts.batchSize, c.to - c.next))).filter((r) => r.offset < c.to);
      opts.progress.waitingFor = "";
      // Nothing left below `to` (deleted by retention): the partition is done.
      if (c.buffer.length === 0) {
        opts.progress.scanned += c.to - c.next;
        c.next = c.to;
      }
    }
    const consumed = new Map<PartitionKey, number>();
    const matched: SourceRecord[] = [];
    // Take the oldest head record until some partition needs a new read.
    for (let taken = 0; taken < opts.batchSize; taken++) {
      let min: Cursor | undefined;
      for (const c of parts) if (c.buffer.length > 0 && (!min || c.buffer[0]!.timestamp < min.buffer[0]!.timestamp)) min = c;
      if (!min) break;
      const r = min.buffer.shift()!;
      opts.progress.scanned += r.offset + 1 - min.next;
      min.next = r.offset + 1;
      consumed.set(min.pk, min.next);
      // Most records lack the literals every match contains: those are not parsed.
      if (mayMatchBytes(stream.filter, r) && matchesParsed(stream.filter, parseRecordFor(stream.filter, r))) matched.push(r);
      // The rest of this partition's range is unread, so its next timestamp is unknown: read first.
      if (min.buffer.length === 0 && min.next < min.to) break;
    }
    for (const c of parts) if (c.next >= c.to) consumed.set(c.pk, c.to);
    opts.progress.matched += matched.length;
    sequencer.commitEpoch(stream.record, epoch, consumed, matched, !parts.some(pending));
  }
}
