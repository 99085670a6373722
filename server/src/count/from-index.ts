// Counts from a stream's index when its epochs cover every planned offset
// range: the index holds each match's address, time and size, which is all a
// Count result needs, so nothing is read from the source.
import type { IndexStore } from "../sequencer/index-store.js";
import { partitionKey, startOf, type Epoch, type StreamRecord } from "../sequencer/types.js";
import type { CountPlan } from "./plan.js";
import { Tally } from "./tally.js";
import type { CountResult } from "./types.js";

/** The offsets [from, to) of one partition that an epoch has scanned. */
function scanned(e: Epoch, pk: string): [number, number] {
  const from = startOf(e.start, pk);
  if (e.kind === "backfill" && e.complete) return [from, startOf(e.end!, pk)];
  return [from, Math.max(from, e.frontier.get(pk) ?? from)];
}

/** Whether the union of the epochs' scanned ranges contains [from, to). */
export function covers(epochs: readonly Epoch[], pk: string, from: number, to: number): boolean {
  const spans = epochs.map((e) => scanned(e, pk)).filter(([a, b]) => b > a).sort((x, y) => x[0] - y[0]);
  let reached = from;
  for (const [a, b] of spans) {
    if (a > reached) break;
    reached = Math.max(reached, b);
    if (reached >= to) return true;
  }
  return reached >= to;
}

export function countFromIndex(store: IndexStore, stream: StreamRecord, plan: CountPlan): CountResult | null {
  for (const p of plan.parts) if (!covers(stream.epochs, partitionKey(p.topic, p.partition), p.from, p.to)) return null;
  const tally = new Tally(plan);
  const ranges = new Map(plan.parts.map((p) => [partitionKey(p.topic, p.partition), p]));
  for (const row of store.iterateMatches(stream.sid, plan.range.fromMs, plan.range.toMs)) {
    const p = ranges.get(partitionKey(row.topic, row.partition));
    if (!p || row.offset < p.from || row.offset >= p.to || !tally.inRange(row.timestamp)) continue;
    tally.match(tally.partition(row.topic, row.partition), row.size, row.timestamp);
  }
  return tally.result("index");
}
