// The watchers of a source. Notification is synchronous and each listener is
// guarded: a listener that throws is logged and cannot fail the produce or
// poll that triggered it or starve the listeners after it.

import type { Logger } from "../util/log.js";
import type { SourceListener } from "./types.js";

export class Listeners {
  // One entry per watch() call, so registering the same listener twice
  // gives two independent registrations.
  readonly #entries = new Set<{ readonly listener: SourceListener }>();

  constructor(
    private readonly log: Logger,
    private readonly what: string,
  ) {}

  get size(): number {
    return this.#entries.size;
  }

  /** Registers a listener; the returned function removes it (true if it was registered). */
  add(listener: SourceListener): () => boolean {
    const entry = { listener };
    this.#entries.add(entry);
    return () => this.#entries.delete(entry);
  }

  clear(): void {
    this.#entries.clear();
  }

  topic(topic: string): void {
    this.#each((l) => l.onTopic?.(topic));
  }

  append(topic: string, partition: number, end: number): void {
    this.#each((l) => l.onAppend?.(topic, partition, end));
  }

  #each(call: (listener: SourceListener) => void): void {
    // A snapshot: listeners added or removed by a listener take effect next time.
    for (const { listener } of [...this.#entries]) {
      try {
        call(listener);
      } catch (err) {
        this.log.error(`${this.what} listener threw`, { err });
      }
    }
  }
}
