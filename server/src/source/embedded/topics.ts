// Topic name -> row, cached: a topic's id and partition count never change
// and topics are never deleted, so a cached entry cannot go stale.

import { UnknownTopicError } from "../types.js";
import type { Statements, TopicRow } from "./statements.js";

export class TopicDirectory {
  readonly #s: Statements;
  readonly #cache = new Map<string, TopicRow>();

  constructor(statements: Statements) {
    this.#s = statements;
  }

  find(name: string): TopicRow | undefined {
    let row = this.#cache.get(name);
    if (row === undefined) {
      row = this.#s.topicByName.get(name);
      if (row !== undefined) this.#cache.set(name, row);
    }
    return row;
  }

  get(name: string): TopicRow {
    const row = this.find(name);
    if (row === undefined) throw new UnknownTopicError(name);
    return row;
  }

  /**
   * Inserts the topic and its partitions. Call inside a transaction; the row
   * is cached only by `remember` once that transaction has committed.
   */
  insert(name: string, partitions: number, created: number): TopicRow {
    const id = Number(this.#s.insertTopic.run(name, partitions, created).lastInsertRowid);
    for (let p = 0; p < partitions; p++) this.#s.insertPartition.run(id, p);
    return { id, name, partitions };
  }

  remember(row: TopicRow): void {
    this.#cache.set(row.name, row);
  }
}
