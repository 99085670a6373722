// Starts a real grep-streams server (the same code `serve` runs) on a free
// loopback port with a fresh data directory, for end-to-end tests.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient, type Client, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { GrepService } from "@grep-streams/sdk/gen/grepstreams/v1/grep_pb.js";
import { startApp, type App } from "../../src/app/app.js";
import { createLogger } from "../../src/util/log.js";
import type { ServerConfig } from "../../src/config.js";

export interface TestServer {
  readonly app: App;
  readonly url: string;
  readonly dataDir: string;
  /** Stops the server; the data directory stays (for restart tests). */
  stop(): Promise<void>;
  /** Stops the server and deletes the data directory. */
  close(): Promise<void>;
}

export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "grep-streams-test-"));
}

export async function startServer(o: { dataDir?: string; heartbeatMs?: number; retentionMs?: number; retentionBytes?: number } = {}): Promise<TestServer> {
  const dataDir = o.dataDir ?? tempDir();
  const config: ServerConfig = {
    host: "127.0.0.1",
    port: 0,
    dataDir,
    demo: false,
    partitions: 4,
    retentionMs: o.retentionMs ?? 0,
    retentionBytes: o.retentionBytes ?? 0,
    heartbeatMs: o.heartbeatMs ?? 200,
    corsOrigins: ["*"],
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
