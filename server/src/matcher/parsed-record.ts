// A source record parsed for a scan with one filter (a backfill, a Count):
// the key as a string array (or null when it is not one) and the value as
// JSON (or `valueOk` false when it is not JSON); for a scan shared by several
// filters (a shared backfill), a record parsed at most once, on first need.
// The live matcher parses in its workers instead (topic-filters.ts).
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

/**
 * One record tested against several filters (a shared backfill's members):
 * the key and the value are parsed on first need, at most once, and a value
 * whose bytes no filter's prefilter passes is never parsed. Reused: reset()
 * for the next record.
 */
export class SharedParse {
  #record: SourceRecord | null = null;
  #key: string[] | null | undefined;
  /** 0: not parsed yet, 1: JSON, 2: not JSON. */
  #valueState = 0;
  #value: unknown;

  reset(record: SourceRecord): void {
    this.#record = record;
    this.#key = undefined;
    this.#valueState = 0;
    this.#value = undefined;
  }

  /** matchesParsed(f, parseRecordFor(f, record)), parsing less. */
  matches(f: CompiledFilter): boolean {
    const r = this.#record!;
    if (f.needsKey) {
      if (this.#key === undefined) this.#key = parseKey(r.key);
      if (this.#key === null || !f.matchesKey(this.#key)) return false;
    }
    if (!f.needsValue) return true;
    if (!mayMatchBytes(f, r)) return false;
    if (this.#valueState === 0) {
      const p = parse(r, false, true);
      this.#valueState = p.valueOk ? 1 : 2;
      this.#value = p.value;
    }
    return this.#valueState === 1 && f.matchesValue(this.#value);
  }
}
