// Append notices of the embedded log, coalesced per turn of the event loop.
// Every produce touches up to all partitions of a topic, and each notice
// makes a reader read, match and commit one index transaction (an fsync).
// Told synchronously, each produce call would cost a commit per partition,
// however many calls are waiting: under load, the commits would be the
// bottleneck. Told once per turn (setImmediate: after the I/O callbacks of
// this turn, so every produce that arrived in it has appended), each
// partition gets one notice with its newest end: batches grow with the load
// and the latency added is at most the rest of the current turn, never a
// timer period.

export type AppendSink = (topic: string, partition: number, end: number) => void;

export class AppendNotices {
  /** topic -> partition -> newest end not yet told. */
  #pending = new Map<string, Map<number, number>>();
  #scheduled: NodeJS.Immediate | undefined;

  constructor(private readonly sink: AppendSink) {}

  /** Notes the new ends of the partitions a produce touched; they are told on the next check phase. */
  add(topic: string, ends: ReadonlyArray<readonly [partition: number, end: number]>): void {
    if (ends.length === 0) return;
    let byPartition = this.#pending.get(topic);
    if (byPartition === undefined) this.#pending.set(topic, (byPartition = new Map()));
    for (const [partition, end] of ends) if (end > (byPartition.get(partition) ?? -1)) byPartition.set(partition, end);
    this.#scheduled ??= setImmediate(() => this.flush());
  }

  /** Tells everything pending now (also what the scheduled turn calls). */
  flush(): void {
    if (this.#scheduled !== undefined) clearImmediate(this.#scheduled);
    this.#scheduled = undefined;
    const pending = this.#pending;
    this.#pending = new Map();
    for (const [topic, byPartition] of pending) {
      // By partition number, as a produce's `ends` are.
      for (const partition of [...byPartition.keys()].sort((a, b) => a - b)) this.sink(topic, partition, byPartition.get(partition)!);
    }
  }

  /** Drops what is pending (the log is closing: nobody may read it any more). */
  cancel(): void {
    if (this.#scheduled !== undefined) clearImmediate(this.#scheduled);
    this.#scheduled = undefined;
    this.#pending.clear();
  }
}
