// Starts a real grep-streams server (the same code `serve` runs) on a free
// loopback port with a fresh data directory, for end-to-end tests.
import { mkdtempSync, rmSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient, type Client, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { GrepService } from "@grep-streams/sdk/gen/grepstreams/v1/grep_pb.js";
import { startApp, type App } from "../../src/app/app.js";
import { createLogger } from "../../src/util/log.js";
import type { KafkaConfig, ServerConfig } from "../../src/config.js";

export type SourceName = "embedded" | "kafka";

/** The Kafka broker of the test run (`npm test` starts one and sets this). */
export const testKafka = process.env.GREP_STREAMS_TEST_KAFKA;

/** The sources the end-to-end suites run against. */
export function sources(): SourceName[] {
  if (testKafka) return ["embedded", "kafka"];
  if (!warned) {
    warned = true;
    process.stderr.write("\n*** GREP_STREAMS_TEST_KAFKA is not set: the Kafka variants of the end-to-end suites are NOT run. `npm test` starts a broker and sets it. ***\n\n");
  }
  return ["embedded"];
}
let warned = false;

export interface TestServer {
  readonly app: App;
  readonly url: string;
  readonly dataDir: string;
  readonly source: SourceName;
  /** A topic name unique to this server's test run: Kafka's topics outlive a server. */
  topic(name: string): string;
  /** Stops the server; the data directory stays (for restart tests). */
  stop(): Promise<void>;
  /** Stops the server and deletes the data directory. */
  close(): Promise<void>;
}

export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "grep-streams-test-"));
}

export interface StartOptions {
  readonly source?: SourceName;
  readonly dataDir?: string;
  /** Keeps topic names across restarts of the same logical server. */
  readonly topicSuffix?: string;
  readonly heartbeatMs?: number;
  readonly retentionMs?: number;
  readonly retentionBytes?: number;
  /** Another broker than the test run's. */
  readonly kafkaBrokers?: string[];
  readonly kafkaSasl?: KafkaConfig["sasl"];
  readonly kafkaTls?: KafkaConfig["tls"];
  readonly indexBudgetBytes?: number;
  readonly streamIdleMs?: number;
  readonly housekeepingMs?: number;
  readonly tailBudgetBytes?: number;
}

export async function startServer(o: StartOptions = {}): Promise<TestServer> {
  const dataDir = o.dataDir ?? tempDir();
  const source = o.source ?? "embedded";
  if (source === "kafka" && !testKafka) throw new Error("GREP_STREAMS_TEST_KAFKA is not set: run the tests with `npm test`, or `bash scripts/kafka.sh up` and set it");
  const suffix = o.topicSuffix ?? randomBytes(4).toString("hex");
  const config: ServerConfig = {
    host: "127.0.0.1",
    port: 0,
    dataDir,
    demo: false,
    partitions: 4,
    retentionMs: o.retentionMs ?? 0,
    retentionBytes: o.retentionBytes ?? 0,
    heartbeatMs: o.heartbeatMs ?? 200,
    indexBudgetBytes: o.indexBudgetBytes ?? 1024 ** 3,
    streamIdleMs: o.streamIdleMs ?? 3_600_000,
    housekeepingMs: o.housekeepingMs ?? 30_000,
    tailBudgetBytes: o.tailBudgetBytes ?? 64 * 1024 ** 2,
    maxScans: 4,
    corsOrigins: ["*"],
    kafka: source === "kafka" ? { brokers: o.kafkaBrokers ?? [testKafka!], clientId: "grep-streams-test", tls: o.kafkaTls ?? false, sasl: o.kafkaSasl ?? null } : null,
  };
  const log = createLogger({ test: true }, process.env.TEST_LOG ? (l) => process.stderr.write(l) : () => {});
  const app = await startApp(config, log);
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await app.close(500);
  };
  return {
    app,
    url: app.url,
    dataDir,
    source,
    topic: (name) => (source === "kafka" ? `${name}-${suffix}` : name),
    stop,
    close: async () => {
      await stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export type TransportName = "connect" | "grpc" | "grpc-web";

export function transportFor(name: TransportName, baseUrl: string): Transport {
  switch (name) {
    case "connect":
      return createConnectTransport({ baseUrl, httpVersion: "1.1" });
    case "grpc":
      return createGrpcTransport({ baseUrl });
    case "grpc-web":
      return createGrpcWebTransport({ baseUrl, httpVersion: "1.1" });
  }
}

export function clientFor(name: TransportName, baseUrl: string): Client<typeof GrepService> {
  return createClient(GrepService, transportFor(name, baseUrl));
}
