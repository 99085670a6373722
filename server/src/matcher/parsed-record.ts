// A source record parsed for a scan with one filter (a backfill, a Count):
// the key as a string array (or null when it is not one) and the value as
// JSON (or `valueOk` false when it is not JSON). The live matcher parses in
// its workers instead (topic-filters.ts).
import { parseKey } from "../filter/index.js";
import type { SourceRecord } from "../source/types.js";
import type { CompiledFilter } from "../filter/index.js";

const decoder = new TextDecoder("utf-8", { fatal: true });

export interface ParsedRecord {
  readonly record: SourceRecord;
  readonly key: string[] | null;
  readonly value: unknown;
  readonly valueOk: boolean;
}

/**
 * Parses only what `f` looks at (a topic-only filter: nothing): for a scan
 * with one filter (a backfill, a Count). Parts not parsed read as absent.
 */
export function parseRecordFor(f: CompiledFilter, record: SourceRecord): ParsedRecord {
  return parse(record, f.needsKey, f.needsValue);
}

function parse(record: SourceRecord, wantKey: boolean, wantValue: boolean): ParsedRecord {
  let value: unknown = undefined;
  let valueOk = false;
  if (wantValue && record.value !== null) {
    try {
      value = JSON.parse(decoder.decode(record.value));
      valueOk = true;
    } catch {
      // Not UTF-8 or not JSON: filters with a query skip it; it is counted.
    }
  }
  return { record, key: wantKey ? parseKey(record.key) : null, value, valueOk };
}

/**
 * false when the record's value cannot match the query, from its bytes alone
 * (CompiledFilter.valuePrefilter): a scan then neither parses nor matches it.
 */
export function mayMatchBytes(f: CompiledFilter, record: SourceRecord): boolean {
  if (f.valuePrefilter === null) return true;
  return record.value !== null && f.valuePrefilter(record.value);
}

/** Whether the filter matches, given the topic already matched. */
export function matchesParsed(f: CompiledFilter, p: ParsedRecord): boolean {
  if (f.needsKey && (p.key === null || !f.matchesKey(p.key))) return false;
  if (f.needsValue && (!p.valueOk || !f.matchesValue(p.value))) return false;
  return true;
}
