// The on-disk layout of the embedded log and the connection settings it is
// opened with.

import Database from "better-sqlite3";

/** Stored in PRAGMA user_version so that a future layout change can migrate, and an old build refuses a newer file. */
const SCHEMA_VERSION = 1;

// messages.max_timestamp is the running maximum of `timestamp` over the
// partition up to and including the row (what Kafka's time index stores).
// Being monotonic in the offset, its index finds in O(log n) both the first
// offset that can have a timestamp >= T (offsetForTimestamp) and the longest
// prefix whose timestamps are all < T (retention by age), although message
// timestamps themselves need not be monotonic.
const DDL = `
CREATE TABLE IF NOT EXISTS topics (
  id         INTEGER PRIMARY KEY,
  name       TEXT NOT NULL UNIQUE,
  partitions INTEGER NOT NULL,
  created    INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS partitions (
  topic        INTEGER NOT NULL REFERENCES topics (id),
  partition    INTEGER NOT NULL,
  start_offset INTEGER NOT NULL,
  next_offset  INTEGER NOT NULL,
  bytes        INTEGER NOT NULL,
  PRIMARY KEY (topic, partition)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS messages (
  topic         INTEGER NOT NULL,
  partition     INTEGER NOT NULL,
  "offset"      INTEGER NOT NULL,
  timestamp     INTEGER NOT NULL,
  max_timestamp INTEGER NOT NULL,
  key           BLOB,
  value         BLOB,
  headers       BLOB,
  PRIMARY KEY (topic, partition, "offset")
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS messages_by_max_timestamp ON messages (topic, partition, max_timestamp);
`;

export type Db = Database.Database;

/** Opens (creating if needed) the log at `path`, a file or ':memory:'. */
export function openDatabase(path: string): Db {
  const db = new Database(path);
  try {
    // WAL lets reads proceed beside the writer; with NORMAL a power loss can
    // lose the last commits but never corrupts the file, and commits skip an fsync.
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = NORMAL");
    db.transaction(() => {
      const version = db.pragma("user_version", { simple: true }) as number;
      if (version > SCHEMA_VERSION) {
        throw new Error(`${path} has embedded log schema version ${version}; this build reads up to ${SCHEMA_VERSION}`);
      }
      db.exec(DDL);
      db.pragma(`user_version = ${SCHEMA_VERSION}`);
    }).immediate();
  } catch (err) {
    db.close();
    throw err;
  }
  return db;
}
