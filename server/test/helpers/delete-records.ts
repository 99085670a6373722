// Deletes the start of a partition the way each source's retention would:
// the embedded log's age retention, or Kafka's DeleteRecords (what retention
// does to a log start, deterministically).
import { Admin } from "@platformatic/kafka";
import type { EmbeddedLog } from "../../src/source/embedded/embedded-log.js";
import type { TestServer } from "./server.js";
import { testKafka } from "./server.js";

/** Deletes records before `offset` of partition `partition` (embedded: they must be older than the retention). */
export async function deleteBefore(server: TestServer, topic: string, partition: number, offset: number): Promise<void> {
  if (server.source === "embedded") {
    (server.app.source as EmbeddedLog).applyRetention();
    const p = (await server.app.source.describeTopic(topic)).partitions[partition]!;
    if (p.start !== offset) throw new Error(`embedded retention moved the start to ${p.start}, not ${offset}: produce older timestamps`);
    return;
  }
  const admin = new Admin({ clientId: "grep-streams-test-admin", bootstrapBrokers: [testKafka!] });
  try {
    await admin.deleteRecords({ topics: [{ name: topic, partitions: [{ partition, offset: BigInt(offset) }] }] });
  } finally {
    await admin.close();
  }
}
