// Reads the records a page of index rows names, one readAt per partition
// (the source picks point lookups or range reads). A record the source no
// longer has (retention) comes back as null.
import type { Source, SourceRecord } from "../source/types.js";
import type { MatchRow } from "../sequencer/types.js";

export async function readPayloads(source: Source, rows: readonly MatchRow[]): Promise<Array<SourceRecord | null>> {
  const out = new Array<SourceRecord | null>(rows.length).fill(null);
  const groups = new Map<string, number[]>();
  rows.forEach((r, i) => {
    const k = `${r.topic}:${r.partition}`;
    const g = groups.get(k);
    if (g) g.push(i);
    else groups.set(k, [i]);
  });
  for (const indexes of groups.values()) {
    // Index order within a partition is offset order, which readAt wants
    // (epochs number each partition's matches in offset order).
    const { topic, partition } = rows[indexes[0]!]!;
    const records = await source.readAt(topic, partition, indexes.map((i) => rows[i]!.offset));
    indexes.forEach((i, k) => (out[i] = records[k] ?? null));
  }
  return out;
}
