// A source record parsed for a scan with one filter (a Count): the key as a
// string array (or null when it is not one) and the value as
// JSON (or `valueOk` false when it is not JSON); for a scan shared by several
// filters (a shared backfill), a record parsed at most once, on first need.
// The live matcher parses in its workers instead (topic-filters.ts).
import { parseKey, type StringFinder } from "../filter/index.js";
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
 * Parses only what `f` looks at (a topic-only filter: nothing): for a
 * Count, which also counts the values that are not JSON. Parts not parsed
 * read as absent.
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

/** Whether the filter matches, given the topic already matched. */
export function matchesParsed(f: CompiledFilter, p: ParsedRecord): boolean {
  if (f.needsKey && (p.key === null || !f.matchesKey(p.key))) return false;
  if (f.needsValue && (!p.valueOk || !f.matchesValue(p.value))) return false;
  return true;
}

/**
 * One record tested against one or several filters (a backfill's members):
 * the key parsed and the value decoded and parsed on first need, at most
 * once; a value whose text no filter's literal prefilter passes
 * (CompiledFilter.valueLiterals) is never parsed. With many filters a
 * StringFinder of all their strings searches the text once, and each looks
 * its own up in what it found. Reused: reset() for the next record.
 */
export class SharedParse {
  #record: SourceRecord | null = null;
  #key: string[] | null | undefined;
  /** The value's text; undefined: not decoded yet; null: no value, or not UTF-8. */
  #text: string | null | undefined;
  /** 0: not parsed yet, 1: JSON, 2: not JSON. */
  #valueState = 0;
  #value: unknown;
  #found: Set<string> | undefined;
  /** Knows the strings of every filter this record is tested against; null: each searches the text itself. */
  finder: StringFinder | null = null;

  reset(record: SourceRecord): void {
    this.#record = record;
    this.#key = undefined;
    this.#text = undefined;
    this.#found = undefined;
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
    if (this.#text === undefined) this.#text = decodeValue(r.value);
    const text = this.#text;
    if (text === null) return false;
    const literals = f.valueLiterals;
    if (literals !== null && !(this.finder !== null ? literals.testFound(text, (this.#found ??= this.finder.find(text))) : literals.test(text))) return false;
    if (this.#valueState === 0) {
      try {
        this.#value = JSON.parse(text);
        this.#valueState = 1;
      } catch {
        this.#valueState = 2;
      }
    }
    return this.#valueState === 1 && f.matchesValue(this.#value);
  }
}

function decodeValue(value: Uint8Array | null): string | null {
  if (value === null) return null;
  try {
    return decoder.decode(value);
  } catch {
    return null; // not UTF-8: not JSON either
  }
}
