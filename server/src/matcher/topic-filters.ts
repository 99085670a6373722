// The filters of one topic and the work a match worker does for a batch of
// its records: parse each record once (only the parts some filter reads),
// ask the filter index for candidates, and test each candidate. Kept apart
// from the worker's message loop so that it can be tested and measured on
// the main thread.
import { compileFilter, parseKey, type CompiledFilter, type FilterSpec } from "../filter/index.js";
import { FilterIndex } from "./filter-index.js";
import type { PackedBatch } from "./match-batch.js";

/** What one batch matched: (record index, filter slot) pairs in record order, and what could not be parsed. */
export interface BatchMatches {
  readonly pairs: Uint32Array;
  /** Values that were read (some filter needs them) and are not JSON. */
  readonly nonJson: number;
  /** Keys that were read and are not a JSON array of strings. */
  readonly badKey: number;
}

interface Member {
  readonly slot: number;
  readonly filter: CompiledFilter;
}

const decoder = new TextDecoder("utf-8", { fatal: true });

export class TopicFilters {
  readonly #index = new FilterIndex<Member>();
  readonly #members = new Map<number, Member>();
  #needValue = 0;
  #needKey = 0;
  readonly #candidates: Member[] = [];
  /** Candidates the index proved to match the value (their predicate is not run). */
  readonly #sure: Member[] = [];
  #pairs = new Uint32Array(1024);

  get size(): number {
    return this.#members.size;
  }

  /** `spec` is a normalised spec that compiled before (on the main thread), so it compiles again. */
  add(slot: number, spec: FilterSpec): void {
    this.remove(slot);
    const filter = compileFilter(spec);
    const m: Member = { slot, filter };
    this.#members.set(slot, m);
    this.#index.add(String(slot), filter, m);
    if (filter.needsValue) this.#needValue++;
    if (filter.needsKey) this.#needKey++;
  }

  remove(slot: number): void {
    const m = this.#members.get(slot);
    if (!m) return;
    this.#members.delete(slot);
    this.#index.remove(String(slot));
    if (m.filter.needsValue) this.#needValue--;
    if (m.filter.needsKey) this.#needKey--;
  }

  match(batch: PackedBatch): BatchMatches {
    const wantValue = this.#needValue > 0;
    const wantKey = this.#needKey > 0;
    const candidates = this.#candidates;
    const sure = this.#sure;
    let pairs = this.#pairs;
    let n = 0;
    let nonJson = 0;
    let badKey = 0;
    for (let i = 0; i < batch.count; i++) {
      let key: string[] | null = null;
      if (wantKey) {
        const bytes = batch.key(i);
        if (bytes !== null) {
          key = parseKey(bytes);
          if (key === null) badKey++;
        }
      }
      let value: unknown = undefined;
      let valueOk = false;
      if (wantValue) {
        const bytes = batch.value(i);
        if (bytes !== null) {
          try {
            value = JSON.parse(decoder.decode(bytes));
            valueOk = true;
          } catch {
            nonJson++; // not UTF-8 or not JSON: filters with a query skip it
          }
        }
      }
      candidates.length = 0;
      sure.length = 0;
      this.#index.candidates(valueOk ? value : undefined, candidates, sure);
      const total = candidates.length + sure.length;
      if (n + 2 * total > pairs.length) {
        const bigger = new Uint32Array(Math.max(pairs.length * 2, n + 2 * total));
        bigger.set(pairs);
        pairs = this.#pairs = bigger;
      }
      for (let c = 0; c < total; c++) {
        const proven = c < sure.length;
        const m = proven ? sure[c]! : candidates[c - sure.length]!;
        const f = m.filter;
        if (f.needsKey && (key === null || !f.matchesKey(key))) continue;
        if (!proven && f.needsValue && (!valueOk || !f.matchesValue(value))) continue;
        pairs[n++] = i;
        pairs[n++] = m.slot;
      }
    }
    // A copy sized to the result: it is transferred, the scratch array stays.
    return { pairs: pairs.slice(0, n), nonJson, badKey };
  }
}
