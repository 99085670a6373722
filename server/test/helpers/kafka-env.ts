// The Kafka broker the Kafka source tests run against, and small helpers for
// them: GREP_STREAMS_TEST_KAFKA (default 127.0.0.1:19092, the broker that
// `bash scripts/kafka.sh up` starts). Tests share the broker: every topic
// name gets a random suffix.
import { randomBytes } from "node:crypto";
import { connect } from "node:net";
import { Admin, Producer, ProduceAcks, type MessageToProduce } from "@platformatic/kafka";

export const KAFKA_BROKER = process.env.GREP_STREAMS_TEST_KAFKA || "127.0.0.1:19092";

/** Resolves when something listens at the broker address; rejects with what to do otherwise. */
export async function requireKafka(timeoutMs = 3_000): Promise<void> {
  const i = KAFKA_BROKER.lastIndexOf(":");
  const host = KAFKA_BROKER.slice(0, i).replace(/^\[|\]$/g, "");
  const port = Number(KAFKA_BROKER.slice(i + 1));
  await new Promise<void>((resolve, reject) => {
    const socket = connect({ host, port, timeout: timeoutMs });
    const fail = (why: string) => {
      socket.destroy();
      reject(
        new Error(
          `no Kafka broker at ${KAFKA_BROKER} (${why}): start one with \`bash scripts/kafka.sh up\` ` +
            `from the repository root, or point GREP_STREAMS_TEST_KAFKA at a broker`,
        ),
      );
    };
    socket.once("connect", () => {
      socket.destroy();
      resolve();
    });
    socket.once("timeout", () => fail(`no answer within ${timeoutMs} ms`));
    socket.once("error", (err) => fail(err.message));
  });
}

/** A topic name no other test (or test run) uses. */
export function uniqueTopic(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(4).toString("hex")}`;
}

export function testAdmin(): Admin {
  return new Admin({ clientId: "grep-streams-test-admin", bootstrapBrokers: [KAFKA_BROKER] });
}

export async function withAdmin<T>(use: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = testAdmin();
  try {
    return await use(admin);
  } finally {
    await admin.close();
  }
}

export async function createTestTopic(name: string, partitions: number, configs: Record<string, string> = {}): Promise<void> {
  await withAdmin((admin) =>
    admin.createTopics({
      topics: [name],
      partitions,
      configs: Object.entries(configs).map(([k, v]) => ({ name: k, value: v })),
    }),
  );
}

export async function deleteTestTopics(...names: string[]): Promise<void> {
  if (names.length === 0) return;
  await withAdmin((admin) => admin.deleteTopics({ topics: names })).catch(() => {});
}

/** A producer that is not the source's (a "foreign" client); transactional when given an id. */
export function foreignProducer(transactionalId?: string): Producer {
  return new Producer({
    clientId: "grep-streams-test-producer",
    bootstrapBrokers: [KAFKA_BROKER],
    idempotent: true,
    acks: ProduceAcks.ALL,
    ...(transactionalId !== undefined ? { transactionalId } : {}),
  });
}

export function message(topic: string, partition: number, value: string, key?: string): MessageToProduce {
  return { topic, partition, value: Buffer.from(value), ...(key !== undefined ? { key: Buffer.from(key) } : {}) };
}
