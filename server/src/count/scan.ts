// Counts by reading the source: every record of the planned offset ranges is
// parsed and tested, with progress every `progressMs`.
import type { Source } from "../source/types.js";
import type { CompiledFilter } from "../filter/index.js";
import { matchesParsed, parseRecordFor } from "../matcher/parsed-record.js";
import type { CountPlan } from "./plan.js";
import { Tally } from "./tally.js";
import type { CountOutput } from "./types.js";

export interface ScanOptions {
  readonly batchSize?: number;
  readonly progressMs?: number;
  readonly signal?: AbortSignal;
}

export async function* scanCount(source: Source, filter: CompiledFilter, plan: CountPlan, o: ScanOptions = {}): AsyncGenerator<CountOutput> {
  const batchSize = o.batchSize ?? 1000;
  const progressMs = o.progressMs ?? 250;
  const tally = new Tally(plan);
  let lastReport = Date.now();
  yield tally.progress();
  for (const part of plan.parts) {
    const p = tally.partition(part.topic, part.partition);
    let offset = part.from;
    while (offset < part.to) {
      o.signal?.throwIfAborted();
      const records = await source.read(part.topic, part.partition, offset, Math.min(batchSize, part.to - offset));
      const next = records.length === 0 ? part.to : Math.min(part.to, records[records.length - 1]!.offset + 1);
      for (const r of records) {
        if (r.offset >= part.to) break;
        const size = r.value?.byteLength ?? 0;
        tally.bytes += size + (r.key?.byteLength ?? 0);
        if (!tally.inRange(r.timestamp)) continue;
        const parsed = parseRecordFor(filter, r);
        if (r.value !== null && !parsed.valueOk && filter.needsValue) tally.nonJson++;
        if (r.key !== null && parsed.key === null && filter.needsKey) tally.badKey++;
        if (matchesParsed(filter, parsed)) tally.match(p, size, r.timestamp);
      }
      tally.scanned += next - offset;
      p.scanned += next - offset;
      offset = next;
      if (Date.now() - lastReport >= progressMs) {
        lastReport = Date.now();
        yield tally.progress();
      }
    }
  }
  yield tally.progress();
  yield tally.result("scan");
}
