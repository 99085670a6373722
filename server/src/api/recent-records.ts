// What the API derives from a record once for every subscriber that gets it
// (its decoded payload, its encoded event, its SSE data line), kept for the
// most recent records only. A live record goes to every subscriber of every
// stream it matched within moments of its commit, so a small window serves
// the fan-out. A WeakMap keyed by the record would keep these as long as
// the record lives, which is as long as any live tail holds it: several
// times the record's own size, which the tails' budget does not see.
import type { SourceRecord } from "../source/types.js";

/** Records whose derived values each cache keeps (the newest). */
export const RECENT_RECORDS = 8192;

export class RecentRecords<V> {
  // A Map keeps insertion order: the first key is the oldest.
  readonly #values = new Map<SourceRecord, V>();

  constructor(private readonly capacity = RECENT_RECORDS) {}

  get(record: SourceRecord): V | undefined {
    return this.#values.get(record);
  }

  set(record: SourceRecord, value: V): void {
    this.#values.set(record, value);
    if (this.#values.size > this.capacity) this.#values.delete(this.#values.keys().next().value!);
  }

  get size(): number {
    return this.#values.size;
  }
}
