// Every SQL statement the embedded log runs, prepared once per connection.

import type Database from "better-sqlite3";
import type { Db } from "./schema.js";

export interface TopicRow {
  readonly id: number;
  readonly name: string;
  readonly partitions: number;
}

export interface MessageRow {
  readonly offset: number;
  readonly timestamp: number;
  readonly key: Uint8Array | null;
  readonly value: Uint8Array | null;
  readonly headers: Uint8Array | null;
}

export interface PartitionOffsetsRow {
  readonly partition: number;
  readonly start: number;
  readonly end: number;
}

export interface PartitionTail {
  readonly next_offset: number;
  readonly bytes: number;
  /** Null while the partition holds no message. */
  readonly max_timestamp: number | null;
}

export interface PartitionRow {
  readonly topic: number;
  readonly partition: number;
  readonly start_offset: number;
  readonly next_offset: number;
  readonly bytes: number;
}

// The bytes a message counts for against retentionBytes: its payload as
// stored. length() of a BLOB column reads the record header, not the data.
const MESSAGE_SIZE = `ifnull(length(key), 0) + ifnull(length(value), 0) + ifnull(length(headers), 0)`;

type Stmt<Params extends unknown[] | {}, Result = unknown> = Database.Statement<Params, Result>;
type Ids = [topic: number, partition: number];
type Bytes = Uint8Array | null;

/** Spelled out because declaration emit cannot name better-sqlite3's inferred statement type. */
export interface Statements {
  readonly topicByName: Stmt<[name: string], TopicRow>;
  readonly insertTopic: Stmt<[name: string, partitions: number, created: number]>;
  readonly insertPartition: Stmt<Ids>;
  readonly partitionOffsets: Stmt<[topic: number], PartitionOffsetsRow>;
  readonly allPartitionOffsets: Stmt<[], PartitionOffsetsRow & { readonly name: string }>;
  readonly partitionTail: Stmt<Ids, PartitionTail>;
  readonly insertMessage: Stmt<
    [...Ids, offset: number, timestamp: number, maxTimestamp: number, key: Bytes, value: Bytes, headers: Bytes]
  >;
  readonly updateTail: Stmt<[nextOffset: number, bytes: number, ...Ids]>;
  readonly readFrom: Stmt<[...Ids, offset: number, limit: number], MessageRow>;
  readonly readOne: Stmt<[...Ids, offset: number], MessageRow>;
  /** Plucked. */
  readonly offsetForTimestamp: Stmt<{ topic: number; partition: number; timestamp: number }, number>;
  readonly retentionCandidates: Stmt<[], PartitionRow>;
  /** Plucked. */
  readonly firstOffsetReaching: Stmt<[...Ids, timestamp: number], number>;
  readonly messageSizesFrom: Stmt<[...Ids, offset: number], { readonly offset: number; readonly size: number }>;
  readonly deleteBefore: Stmt<[...Ids, offset: number]>;
  readonly advanceStart: Stmt<[startOffset: number, freedBytes: number, ...Ids]>;
}

export function prepareStatements(db: Db): Statements {
  return {
    topicByName: db.prepare(`SELECT id, name, partitions FROM topics WHERE name = ?`),
    insertTopic: db.prepare(`INSERT INTO topics (name, partitions, created) VALUES (?, ?, ?)`),
    insertPartition: db.prepare(
      `INSERT INTO partitions (topic, partition, start_offset, next_offset, bytes) VALUES (?, ?, 0, 0, 0)`,
    ),

    partitionOffsets: db.prepare(
      `SELECT partition, start_offset AS start, next_offset AS end FROM partitions WHERE topic = ? ORDER BY partition`,
    ),
    allPartitionOffsets: db.prepare(
      `SELECT t.name, p.partition, p.start_offset AS start, p.next_offset AS end
         FROM topics t JOIN partitions p ON p.topic = t.id
        ORDER BY t.name, p.partition`,
    ),

    partitionTail: db.prepare(
      `SELECT p.next_offset, p.bytes,
              (SELECT m.max_timestamp FROM messages m
                WHERE m.topic = p.topic AND m.partition = p.partition AND m."offset" = p.next_offset - 1) AS max_timestamp
         FROM partitions p WHERE p.topic = ? AND p.partition = ?`,
    ),
    insertMessage: db.prepare(
      `INSERT INTO messages (topic, partition, "offset", timestamp, max_timestamp, key, value, headers)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    updateTail: db.prepare(
      `UPDATE partitions SET next_offset = ?, bytes = ? WHERE topic = ? AND partition = ?`,
    ),

    readFrom: db.prepare(
      `SELECT "offset", timestamp, key, value, headers FROM messages
        WHERE topic = ? AND partition = ? AND "offset" >= ? ORDER BY "offset" LIMIT ?`,
    ),
    readOne: db.prepare(
      `SELECT "offset", timestamp, key, value, headers FROM messages WHERE topic = ? AND partition = ? AND "offset" = ?`,
    ),
    // The inner query seeks (by index) the first offset whose running maximum
    // reaches the timestamp: no earlier message can qualify. The outer one
    // walks on from there by primary key to the first message that does
    // qualify; that is the same message unless retention deleted the message
    // that set the running maximum. With no such message: the end offset.
    offsetForTimestamp: db
      .prepare<{ topic: number; partition: number; timestamp: number }, number>(
        `SELECT coalesce(
           (SELECT "offset" FROM messages
             WHERE topic = $topic AND partition = $partition AND timestamp >= $timestamp
               AND "offset" >= (SELECT "offset" FROM messages
                                 WHERE topic = $topic AND partition = $partition AND max_timestamp >= $timestamp
                                 ORDER BY max_timestamp, "offset" LIMIT 1)
             ORDER BY "offset" LIMIT 1),
           (SELECT next_offset FROM partitions WHERE topic = $topic AND partition = $partition))`,
      )
      .pluck(),

    // Retention: partitions holding more than the one message it always keeps.
    retentionCandidates: db.prepare(
      `SELECT topic, partition, start_offset, next_offset, bytes FROM partitions WHERE next_offset - start_offset > 1`,
    ),
    firstOffsetReaching: db
      .prepare<[...Ids, timestamp: number], number>(
        `SELECT "offset" FROM messages WHERE topic = ? AND partition = ? AND max_timestamp >= ?
          ORDER BY max_timestamp, "offset" LIMIT 1`,
      )
      .pluck(),
    messageSizesFrom: db.prepare(
      `SELECT "offset", ${MESSAGE_SIZE} AS size FROM messages WHERE topic = ? AND partition = ? AND "offset" >= ? ORDER BY "offset"`,
    ),
    deleteBefore: db.prepare(`DELETE FROM messages WHERE topic = ? AND partition = ? AND "offset" < ?`),
    advanceStart: db.prepare(
      `UPDATE partitions SET start_offset = ?, bytes = bytes - ? WHERE topic = ? AND partition = ?`,
    ),
  };
}
