// Assembles a running grep-streams: the source, the engine and the API, and
// tears them down in order (stop accepting, end streams, stop scans, close
// the index, close the source).
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { ServerConfig } from "../config.js";
import { EmbeddedLog } from "../source/embedded/embedded-log.js";
import { KafkaSource } from "../source/kafka/index.js";
import type { Source } from "../source/types.js";
import { Engine } from "../pipeline/engine.js";
import { startApi } from "../api/server.js";
import { startDemoFeed } from "../demo/feeder.js";
import type { Logger } from "../util/log.js";

export interface App {
  readonly url: string;
  readonly port: number;
  readonly engine: Engine;
  readonly source: Source;
  close(graceMs?: number): Promise<void>;
}

/** Kafka when brokers are configured, else the embedded log in the data directory. */
function openSource(config: ServerConfig, log: Logger): Source {
  if (config.kafka) {
    const k = config.kafka;
    return new KafkaSource({
      brokers: k.brokers,
      clientId: k.clientId,
      tls: k.tls,
      ...(k.sasl ? { sasl: k.sasl } : {}),
      defaultPartitions: config.partitions,
      log: log.child({ source: "kafka" }),
    });
  }
  const embedded = new EmbeddedLog({
    path: join(config.dataDir, "log.db"),
    defaultPartitions: config.partitions,
    retentionMs: config.retentionMs,
    retentionBytes: config.retentionBytes,
  });
  embedded.start();
  return embedded;
}

export async function startApp(config: ServerConfig, log: Logger): Promise<App> {
  mkdirSync(config.dataDir, { recursive: true });
  const source = openSource(config, log);
  let engine: Engine | undefined;
  try {
    engine = await Engine.open({
      dataDir: config.dataDir,
      source,
      log,
      heartbeatMs: config.heartbeatMs,
      indexBudgetBytes: config.indexBudgetBytes,
      streamIdleMs: config.streamIdleMs,
      evictionIntervalMs: config.housekeepingMs,
      tailBudgetBytes: config.tailBudgetBytes,
      maxScans: config.maxScans,
      ...(config.matchWorkers !== undefined ? { matchWorkers: config.matchWorkers } : {}),
    });
    const api = await startApi(engine, log, { host: config.host, port: config.port, corsOrigins: config.corsOrigins });
    const stopDemo = config.demo ? startDemoFeed(source, log.child({ component: "demo" })) : () => {};
    const e = engine;
    let closing: Promise<void> | undefined;
    return {
      url: api.url,
      port: api.port,
      engine: e,
      source,
      close: (graceMs) =>
        (closing ??= (async () => {
          stopDemo();
          await api.close(graceMs);
          await e.close();
          await source.close();
        })()),
    };
  } catch (err) {
    await engine?.close().catch(() => {});
    await source.close().catch(() => {});
    throw err;
  }
}
