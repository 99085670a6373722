// The filters of one topic and the work a match worker does for a batch of
// its records: parse each record once (only the parts some filter reads),
// ask the filter index for candidates, and test each candidate. Kept apart
// from the worker's message loop so that it can be tested and measured on
// the main thread.
import { compileFilter, parseKey, type CompiledFilter, type FilterSpec } from "../filter/index.js";
import { FilterIndex } from "./filter-index.js";
import type { PackedBatch } from "./match-batch.js";
import { FALLBACK, INVALID, PathTrie, ValueScanner } from "./value-scan.js";

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
  readonly #scanner = new ValueScanner();
  #trieCache: PathTrie | null = null;
  #trieVersion = -1;
  /** Records scanned, and of those the ones that needed a parse after all (see #scanThisBatch). */
  #scanned = 0;
  #parsedAfterScan = 0;
  #sinceProbe = 0;

  /** @param scanning whether values are scanned (value-scan.ts) or parsed: "auto" decides by what pays (tests force one). */
  constructor(readonly scanning: "auto" | "always" | "never" = "auto") {}

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
    const scan = wantValue && this.#scanThisBatch();
    const trie = scan ? this.#trie() : null;
    const data = scan ? batch.buffer() : null;
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
      /** The scanner's partial value, until (unless) a predicate needs the whole one. */
      let partial: object | null = null;
      if (wantValue) {
        const len = batch.valueLength(i);
        if (len >= 0 && trie !== null) {
          const start = batch.valueStart(i);
          const r = this.#scanner.scan(data!, start, start + len, trie);
          if (r === FALLBACK) value = parseValue(batch.value(i)!);
          else if (r !== INVALID) partial = r;
          valueOk = r !== INVALID && value !== NOT_JSON;
          if (!valueOk) nonJson++; // not UTF-8 or not JSON: filters with a query skip it
        } else if (len >= 0) {
          value = parseValue(batch.value(i)!);
          valueOk = value !== NOT_JSON;
          if (!valueOk) nonJson++; // not UTF-8 or not JSON: filters with a query skip it
        }
      }
      candidates.length = 0;
      sure.length = 0;
      this.#index.candidates(valueOk ? (partial ?? value) : undefined, candidates, sure);
      if (partial !== null) {
        this.#scanned++;
        // A candidate whose predicate runs needs the whole value: parsed now (the scanner validated it).
        for (let c = 0; c < candidates.length; c++) {
          if (candidates[c]!.filter.needsValue) {
            value = parseValue(batch.value(i)!);
            // (It validated: NOT_JSON here would be a scanner bug; then no predicate matches.)
            if (value === NOT_JSON) valueOk = false;
            this.#parsedAfterScan++;
            break;
          }
        }
      }
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

  /**
   * Whether to scan this batch's values (value-scan.ts) rather than parse
   * them: scanning saves the parse only for records without a candidate
   * whose predicate must run, and costs extra for the others. So it is used
   * while fewer than half the scanned records needed a parse anyway, and
   * tried again every SCAN_PROBE batches when it was not.
   */
  #scanThisBatch(): boolean {
    if (this.scanning !== "auto") return this.scanning === "always";
    if (this.#scanned > SCAN_WINDOW) {
      this.#scanned >>= 1;
      this.#parsedAfterScan >>= 1;
    }
    const worth = this.#scanned < SCAN_MIN_SAMPLE || this.#parsedAfterScan * 2 < this.#scanned;
    return worth || ++this.#sinceProbe % SCAN_PROBE === 0;
  }

  /** The index's paths as a trie, rebuilt when they change. */
  #trie(): PathTrie {
    const v = this.#index.pathsVersion;
    if (this.#trieVersion !== v || this.#trieCache === null) {
      this.#trieCache = PathTrie.of(this.#index.paths());
      this.#trieVersion = v;
    }
    return this.#trieCache;
  }
}

/** Scanned records over which the share that needed a parse is judged (then halved). */
const SCAN_WINDOW = 4096;
const SCAN_MIN_SAMPLE = 64;
/** While scanning does not pay, every this many batches are scanned anyway (to notice when it does again). */
const SCAN_PROBE = 16;

/** What parseValue returns for bytes that are not UTF-8 or not JSON. */
const NOT_JSON = Symbol("not JSON");

function parseValue(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(decoder.decode(bytes));
  } catch {
    return NOT_JSON;
  }
}
