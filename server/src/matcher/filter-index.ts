// A percolator-style index of compiled filters (as in Luwak / Elasticsearch's
// percolator): instead of testing every filter on every message, filters with
// an index term (an equality the value must satisfy) are filed under that
// term's path and values, and a message only reaches the filters whose term
// it has. Filters without a term are always candidates.
//
// Correctness: candidates() returns a superset of the filters that match. A
// filter's term is a necessary condition of its query (see
// filter/index-term.ts), and the value's keys at a path cover everything the
// query evaluator can compare equal there (forEachIndexKey).

import { forEachIndexKey, indexKey, type CompiledFilter, type IndexTerm } from "../filter/index.js";

interface Entry<T> {
  readonly id: string;
  readonly item: T;
  /** The term the entry is filed under (null: always a candidate). */
  readonly path: string | null;
  readonly keys: readonly string[];
  /** Last candidates() call that returned this entry (deduplication). */
  mark: number;
}

export class FilterIndex<T> {
  readonly #entries = new Map<string, Entry<T>>();
  /** Entries without a term. */
  readonly #unindexed = new Set<Entry<T>>();
  /** path -> value key -> entries. */
  readonly #byPath = new Map<string, Map<string, Set<Entry<T>>>>();
  #epoch = 0;

  /**
   * Adds (or replaces) a filter. When it has several sound terms, it is filed
   * under the one whose postings are currently shortest, so that e.g. a
   * filter on {type, user} lands under the rare user rather than the common
   * type.
   */
  add(id: string, f: CompiledFilter, item: T): void {
    this.remove(id);
    const term = this.#choose(f);
    const keys = term ? [...new Set(term.values.map(indexKey))] : [];
    const entry: Entry<T> = { id, item, path: term ? term.path : null, keys, mark: 0 };
    this.#entries.set(id, entry);
    if (!term) {
      this.#unindexed.add(entry);
      return;
    }
    let byKey = this.#byPath.get(term.path);
    if (!byKey) {
      byKey = new Map();
      this.#byPath.set(term.path, byKey);
    }
    for (const k of keys) {
      let set = byKey.get(k);
      if (!set) {
        set = new Set();
        byKey.set(k, set);
      }
      set.add(entry);
    }
  }

  remove(id: string): void {
    const entry = this.#entries.get(id);
    if (!entry) return;
    this.#entries.delete(id);
    if (entry.path === null) {
      this.#unindexed.delete(entry);
      return;
    }
    const byKey = this.#byPath.get(entry.path);
    if (!byKey) return;
    for (const k of entry.keys) {
      const set = byKey.get(k);
      if (!set) continue;
      set.delete(entry);
      if (set.size === 0) byKey.delete(k);
    }
    if (byKey.size === 0) this.#byPath.delete(entry.path);
  }

  /**
   * Appends to `out` the items whose filter MAY match this parsed value
   * (undefined when the value is not JSON): every filter without a term,
   * and those whose term's path holds one of the term's values.
   */
  candidates(value: unknown, out: T[]): void {
    for (const e of this.#unindexed) out.push(e.item);
    if (this.#byPath.size === 0) return;
    const epoch = ++this.#epoch;
    for (const [path, byKey] of this.#byPath) {
      forEachIndexKey(value, path, (key) => {
        const set = byKey.get(key);
        if (!set) return;
        for (const e of set) {
          if (e.mark === epoch) continue;
          e.mark = epoch;
          out.push(e.item);
        }
      });
    }
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The term with the shortest postings now (then fewest values, then the filter's own order). */
  #choose(f: CompiledFilter): IndexTerm | null {
    const terms: readonly IndexTerm[] = f.indexTerms.length > 0 ? f.indexTerms : f.indexTerm ? [f.indexTerm] : [];
    let best: IndexTerm | null = null;
    let bestCost = Infinity;
    for (const t of terms) {
      const byKey = this.#byPath.get(t.path);
      let cost = t.values.length; // an empty posting still costs a lookup per value
      if (byKey) for (const v of t.values) cost += byKey.get(indexKey(v))?.size ?? 0;
      if (cost < bestCost) {
        best = t;
        bestCost = cost;
      }
    }
    return best;
  }
}
