// Scans one backfill epoch of one stream: history from the epoch's start to
// its end, partition after partition, resuming at the epoch's frontier after a
// restart. Each batch is committed with its frontier, so numbering is
// exactly-once; the last commit marks the epoch complete.
import type { Source } from "../source/types.js";
import type { Sequencer } from "../sequencer/sequencer.js";
import { splitPartitionKey, startOf, type Epoch, type PartitionKey } from "../sequencer/types.js";
import { matchesParsed, parseRecord } from "./parsed-record.js";
import type { MatcherStream } from "./types.js";

export interface BackfillProgress {
  scanned: number;
  total: number;
  matched: number;
  readonly startedAt: number;
}

export interface BackfillOptions {
  readonly batchSize: number;
  readonly signal: AbortSignal;
  /** Updated in place as the scan goes. */
  readonly progress: BackfillProgress;
}

export async function runBackfill(source: Source, sequencer: Sequencer, stream: MatcherStream, epoch: Epoch, opts: BackfillOptions): Promise<void> {
  if (epoch.complete || !epoch.end) return;
  const end = epoch.end;
  const keys: PartitionKey[] = [...new Set([...epoch.start.keys(), ...end.keys()])].sort();
  const ranges = keys
    .map((pk) => ({ pk, from: epoch.frontier.get(pk) ?? startOf(epoch.start, pk), to: startOf(end, pk) }))
    .filter((r) => r.from < r.to);
  opts.progress.total = ranges.reduce((n, r) => n + (r.to - r.from), 0);
  if (ranges.length === 0) {
    // Nothing to scan (the range is empty or already scanned): just close the epoch.
    const pk = keys[0] ?? "";
    sequencer.commitEpoch(stream.record, epoch, pk, epoch.frontier.get(pk) ?? startOf(epoch.start, pk), [], true);
    return;
  }
  for (let i = 0; i < ranges.length; i++) {
    const { pk, to } = ranges[i]!;
    let from = ranges[i]!.from;
    const last = i === ranges.length - 1;
    const { topic, partition } = splitPartitionKey(pk);
    while (from < to) {
      opts.signal.throwIfAborted();
      const records = (await source.read(topic, partition, from, Math.min(opts.batchSize, to - from))).filter((r) => r.offset < to);
      // Nothing left below `to` (deleted by retention, or fewer records than offsets): the range is done.
      const next = records.length === 0 ? to : records[records.length - 1]!.offset + 1;
      const matched = records.filter((r) => matchesParsed(stream.filter, parseRecord(r)));
      sequencer.commitEpoch(stream.record, epoch, pk, next, matched, last && next >= to);
      opts.progress.scanned += next - from;
      opts.progress.matched += matched.length;
      from = next;
    }
  }
}
