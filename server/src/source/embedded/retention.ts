// Retention: per partition, delete a prefix of the log and advance its start
// offset, as Kafka deletes its oldest segments. Like Kafka, it only ever
// deletes from the start, so the log stays dense from start to end:
//  - by age: the longest prefix whose messages are all older than retentionMs
//    (a message that is old enough but follows a newer one waits for it, as
//    a Kafka segment waits for its newest record);
//  - by size: then the oldest messages while the partition holds more than
//    retentionBytes of payload (key + value + encoded headers).
// The newest message is always kept, as Kafka keeps its active segment, so a
// partition's last offset and timestamp survive.
//
// The server applies it in steps of at most a few thousand messages, one
// short transaction each, and lets the event loop run between steps: a
// partition with half a minute of a busy feed to delete would otherwise hold
// the (single) thread, and every live delivery, for hundreds of milliseconds.

import type { Db } from "./schema.js";
import type { PartitionRow, Statements } from "./statements.js";

export interface RetentionPolicy {
  /** 0 keeps messages whatever their age. */
  readonly retentionMs: number;
  /** Per partition; 0 means unlimited. */
  readonly retentionBytes: number;
}

export class Retention {
  readonly #s: Statements;
  readonly #policy: RetentionPolicy;
  readonly #trim: (p: PartitionRow, now: number, maxMessages: number) => number;

  constructor(db: Db, statements: Statements, policy: RetentionPolicy) {
    this.#s = statements;
    this.#policy = policy;
    // One transaction per partition keeps each write-lock hold short.
    const tx = db.transaction(this.#trimPartition.bind(this));
    this.#trim = (...args) => tx.immediate(...args);
  }

  /** Applies the policy to every partition; returns how many messages it deleted. */
  apply(now: number): number {
    let deleted = 0;
    for (;;) {
      const s = this.step(now, Infinity);
      deleted += s.deleted;
      if (!s.more) return deleted;
    }
  }

  /**
   * One bounded step: deletes at most `maxMessages` messages of each
   * partition. `more` says whether some partition had more to delete (call
   * again; the end state is the same as apply()'s).
   */
  step(now: number, maxMessages: number): { deleted: number; more: boolean } {
    const { retentionMs, retentionBytes } = this.#policy;
    if (retentionMs === 0 && retentionBytes === 0) return { deleted: 0, more: false };
    let deleted = 0;
    let more = false;
    for (const p of this.#s.retentionCandidates.all()) {
      const n = this.#trim(p, now, maxMessages);
      deleted += n;
      if (n >= maxMessages) more = true;
    }
    return { deleted, more };
  }

  #trimPartition(p: PartitionRow, now: number, maxMessages: number): number {
    const { retentionMs, retentionBytes } = this.#policy;
    const last = p.next_offset - 1;
    // The messages before the first whose running maximum timestamp reaches
    // the cutoff are exactly the longest prefix older than the cutoff.
    const keepFromAge =
      retentionMs > 0
        ? (this.#s.firstOffsetReaching.get(p.topic, p.partition, now - retentionMs) ?? p.next_offset)
        : p.start_offset;
    if (keepFromAge <= p.start_offset && (retentionBytes === 0 || p.bytes <= retentionBytes)) return 0;

    let start = p.start_offset;
    let bytes = p.bytes;
    let count = 0;
    for (const m of this.#s.messageSizesFrom.iterate(p.topic, p.partition, p.start_offset)) {
      const tooOld = m.offset < keepFromAge;
      const tooBig = retentionBytes > 0 && bytes > retentionBytes;
      if (m.offset >= last || !(tooOld || tooBig) || count >= maxMessages) break;
      bytes -= m.size;
      start = m.offset + 1;
      count++;
    }
    if (start === p.start_offset) return 0;
    const deleted = this.#s.deleteBefore.run(p.topic, p.partition, start).changes;
    this.#s.advanceStart.run(start, p.bytes - bytes, p.topic, p.partition);
    return deleted;
  }
}
