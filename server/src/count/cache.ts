// Results of counts by plan key (filter, times, bucket width and the exact
// offsets the range resolved to, open ranges too): the same offsets hold the
// same records, so a repeated count is answered at once. Least recently used entries go first.
import type { CountResult } from "./types.js";

export class CountCache {
  private readonly entries = new Map<string, CountResult>();

  constructor(private readonly capacity = 256) {}

  get(key: string): CountResult | undefined {
    const hit = this.entries.get(key);
    if (hit) {
      this.entries.delete(key);
      this.entries.set(key, hit);
    }
    return hit;
  }

  set(key: string, result: CountResult): void {
    this.entries.delete(key);
    this.entries.set(key, result);
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value!);
  }
}
