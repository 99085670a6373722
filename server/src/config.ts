// Server configuration from flags, then environment, then defaults that work
// on a fresh machine with nothing else installed.
import { parseArgs } from "node:util";
import { resolve } from "node:path";
import { readFileSync } from "node:fs";
import { defaultMatchWorkers } from "./util/cores.js";
import { defaultTailBudgetBytes } from "./cursor/live-tail.js";

export interface ServerConfig {
  readonly host: string;
  readonly port: number;
  readonly dataDir: string;
  readonly demo: boolean;
  /** Partitions of topics the embedded log creates on first produce. */
  readonly partitions: number;
  readonly retentionMs: number;
  readonly retentionBytes: number;
  readonly heartbeatMs: number;
  /** Disk budget of the index; idle streams are evicted (least recently used first) above it. */
  readonly indexBudgetBytes: number;
  /** How long a stream must go without subscribers before it is parked (and may be evicted). */
  readonly streamIdleMs: number;
  /** How often idle streams are parked and the index budget is checked. */
  readonly housekeepingMs: number;
  /** Memory all live tails share. */
  readonly tailBudgetBytes: number;
  /** Backfill scans that read at once. */
  readonly maxScans: number;
  /** Allowed CORS origins; ["*"] allows any. */
  readonly corsOrigins: string[];
  /** Kafka as the source when set; the embedded log otherwise. */
  readonly kafka: KafkaConfig | null;
  /** Worker threads that parse and match; default: cores - 1, at least 1. */
  readonly matchWorkers?: number;
}

export interface KafkaConfig {
  readonly brokers: string[];
  readonly clientId: string;
  readonly tls: boolean | { ca?: string; cert?: string; key?: string; rejectUnauthorized?: boolean };
  readonly sasl: { mechanism: "PLAIN" | "SCRAM-SHA-256" | "SCRAM-SHA-512"; username: string; password: string } | null;
}

export const SERVE_HELP = `grep-streams serve: run the server (Connect, gRPC-Web and gRPC on one port, SSE at /v1/subscribe)

Options (environment variable in brackets):
  --port N               port for all protocols, 0 picks a free one [GREP_STREAMS_PORT] (default 8080)
  --host ADDR            address to bind [GREP_STREAMS_HOST] (default 127.0.0.1)
  --data-dir DIR         where the embedded log and the index live [GREP_STREAMS_DATA_DIR] (default ./.grep-streams)
  --no-demo, --demo      feed the topic demo-orders with synthetic events [GREP_STREAMS_DEMO=0|1]
                         (default: on with the embedded log, off with Kafka)
  --partitions N         partitions of topics Produce creates (embedded log and Kafka) [GREP_STREAMS_PARTITIONS] (default 4)
  --retention-ms N       embedded log: delete messages older than this, 0 = never [GREP_STREAMS_RETENTION_MS] (default 7 days)
  --retention-bytes N    embedded log: bytes kept per partition, 0 = unlimited [GREP_STREAMS_RETENTION_BYTES] (default 1 GiB)
  --heartbeat-ms N       heartbeat interval of idle subscriptions [GREP_STREAMS_HEARTBEAT_MS] (default 10000)
  --index-budget-bytes N disk budget of the index; above it, streams unused for --stream-idle-ms are
                         evicted, least recently used first [GREP_STREAMS_INDEX_BUDGET_BYTES] (default 1 GiB)
  --stream-idle-ms N     a stream without subscribers this long is parked: no longer matched (its index
                         stays; the next subscriber resumes it and the unwatched range is scanned from
                         history) [GREP_STREAMS_STREAM_IDLE_MS] (default 3600000: one hour)
  --housekeeping-ms N    how often idle streams are parked and the index budget checked
                         [GREP_STREAMS_HOUSEKEEPING_MS] (default 30000)
  --tail-budget-bytes N  memory the live tails of all streams share (recent matches with their records,
                         served without a read) [GREP_STREAMS_TAIL_BUDGET_BYTES]
                         (default 256 MiB or an eighth of the memory, the smaller; here ${defaultTailBudgetBytes()})
  --max-scans N          backfill scans (history for a subscriber, the unwatched range of a resumed
                         stream) that read at once; the others wait their turn [GREP_STREAMS_MAX_SCANS] (default 4)
  --cors-origins LIST    comma-separated allowed browser origins, * for any [GREP_STREAMS_CORS_ORIGINS] (default *)
  --match-workers N      worker threads that parse and match live records [GREP_STREAMS_MATCH_WORKERS]
                         (default: cores - 1, at least 1; here ${defaultMatchWorkers()})
Kafka (the source is Kafka when brokers are given, else the embedded log):
  --kafka-brokers LIST   comma-separated host:port [GREP_STREAMS_KAFKA_BROKERS]
  --kafka-client-id ID   [GREP_STREAMS_KAFKA_CLIENT_ID] (default grep-streams)
  --kafka-tls            connect with TLS [GREP_STREAMS_KAFKA_TLS=1]
  --kafka-ca-file F, --kafka-cert-file F, --kafka-key-file F
                         PEM files for TLS [GREP_STREAMS_KAFKA_CA_FILE, _CERT_FILE, _KEY_FILE]
  --kafka-sasl-mechanism PLAIN|SCRAM-SHA-256|SCRAM-SHA-512 [GREP_STREAMS_KAFKA_SASL_MECHANISM]
  --kafka-sasl-username U [GREP_STREAMS_KAFKA_SASL_USERNAME]
                         the password only from GREP_STREAMS_KAFKA_SASL_PASSWORD (not a flag: it would show in ps)
  -h, --help             this help
Logs are JSON lines on stderr; GREP_STREAMS_LOG_LEVEL=debug|info|warn|error|silent.`;

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

function int(name: string, text: string | undefined, fallback: number, min: number): number {
  if (text === undefined || text === "") return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < min) throw new ConfigError(`--${name}: expected an integer >= ${min}, got ${JSON.stringify(text)}`);
  return n;
}

export function parseServeArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): ServerConfig | "help" {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: "string" },
      host: { type: "string" },
      "data-dir": { type: "string" },
      demo: { type: "boolean" },
      "no-demo": { type: "boolean" },
      partitions: { type: "string" },
      "retention-ms": { type: "string" },
      "retention-bytes": { type: "string" },
      "heartbeat-ms": { type: "string" },
      "cors-origins": { type: "string" },
      "index-budget-bytes": { type: "string" },
      "stream-idle-ms": { type: "string" },
      "housekeeping-ms": { type: "string" },
      "tail-budget-bytes": { type: "string" },
      "max-scans": { type: "string" },
      "match-workers": { type: "string" },
      "kafka-brokers": { type: "string" },
      "kafka-client-id": { type: "string" },
      "kafka-tls": { type: "boolean" },
      "kafka-ca-file": { type: "string" },
      "kafka-cert-file": { type: "string" },
      "kafka-key-file": { type: "string" },
      "kafka-sasl-mechanism": { type: "string" },
      "kafka-sasl-username": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) return "help";
  const demoEnv = env.GREP_STREAMS_DEMO;
  const kafka = kafkaConfig(values, env);
  // The demo feed writes to a topic: on by default only on the embedded log, never into someone's cluster unasked.
  const demoDefault = kafka === null;
  return {
    host: values.host ?? env.GREP_STREAMS_HOST ?? "127.0.0.1",
    port: int("port", values.port ?? env.GREP_STREAMS_PORT, 8080, 0),
    dataDir: resolve(values["data-dir"] ?? env.GREP_STREAMS_DATA_DIR ?? ".grep-streams"),
    demo: values["no-demo"] ? false : values.demo ? true : demoEnv === undefined || demoEnv === "" ? demoDefault : !(demoEnv === "0" || demoEnv === "false"),
    partitions: int("partitions", values.partitions ?? env.GREP_STREAMS_PARTITIONS, 4, 1),
    retentionMs: int("retention-ms", values["retention-ms"] ?? env.GREP_STREAMS_RETENTION_MS, 7 * 24 * 3600 * 1000, 0),
    retentionBytes: int("retention-bytes", values["retention-bytes"] ?? env.GREP_STREAMS_RETENTION_BYTES, 1024 ** 3, 0),
    heartbeatMs: int("heartbeat-ms", values["heartbeat-ms"] ?? env.GREP_STREAMS_HEARTBEAT_MS, 10_000, 50),
    indexBudgetBytes: int("index-budget-bytes", values["index-budget-bytes"] ?? env.GREP_STREAMS_INDEX_BUDGET_BYTES, 1024 ** 3, 0),
    streamIdleMs: int("stream-idle-ms", values["stream-idle-ms"] ?? env.GREP_STREAMS_STREAM_IDLE_MS, 3_600_000, 0),
    housekeepingMs: int("housekeeping-ms", values["housekeeping-ms"] ?? env.GREP_STREAMS_HOUSEKEEPING_MS, 30_000, 10),
    maxScans: int("max-scans", values["max-scans"] ?? env.GREP_STREAMS_MAX_SCANS, 4, 1),
    tailBudgetBytes: int("tail-budget-bytes", values["tail-budget-bytes"] ?? env.GREP_STREAMS_TAIL_BUDGET_BYTES, defaultTailBudgetBytes(), 0),
    corsOrigins: (values["cors-origins"] ?? env.GREP_STREAMS_CORS_ORIGINS ?? "*").split(",").map((s) => s.trim()).filter(Boolean),
    kafka,
    matchWorkers: int("match-workers", values["match-workers"] ?? env.GREP_STREAMS_MATCH_WORKERS, defaultMatchWorkers(), 1),
  };
}

function kafkaConfig(values: Record<string, string | boolean | undefined>, env: NodeJS.ProcessEnv): KafkaConfig | null {
  const str = (flag: string, name: string): string | undefined => (values[flag] as string | undefined) ?? (env[name] || undefined);
  const brokers = (str("kafka-brokers", "GREP_STREAMS_KAFKA_BROKERS") ?? "").split(",").map((b) => b.trim()).filter(Boolean);
  if (brokers.length === 0) return null;
  for (const b of brokers) {
    if (!/^[^:\s]+:\d+$/.test(b) && !/^\[[^\]]+\]:\d+$/.test(b)) throw new ConfigError(`--kafka-brokers: expected host:port, got ${JSON.stringify(b)}`);
  }
  const files = { ca: str("kafka-ca-file", "GREP_STREAMS_KAFKA_CA_FILE"), cert: str("kafka-cert-file", "GREP_STREAMS_KAFKA_CERT_FILE"), key: str("kafka-key-file", "GREP_STREAMS_KAFKA_KEY_FILE") };
  const read = (flag: string, path: string | undefined) => {
    if (path === undefined) return undefined;
    try {
      return readFileSync(path, "utf8");
    } catch (err) {
      throw new ConfigError(`--kafka-${flag}-file: cannot read ${path}: ${(err as Error).message}`);
    }
  };
  const tlsWanted = values["kafka-tls"] === true || env.GREP_STREAMS_KAFKA_TLS === "1" || env.GREP_STREAMS_KAFKA_TLS === "true" || Object.values(files).some(Boolean);
  const tls = !tlsWanted
    ? false
    : Object.values(files).some(Boolean)
      ? { ...(files.ca ? { ca: read("ca", files.ca)! } : {}), ...(files.cert ? { cert: read("cert", files.cert)! } : {}), ...(files.key ? { key: read("key", files.key)! } : {}) }
      : true;
  const mechanism = str("kafka-sasl-mechanism", "GREP_STREAMS_KAFKA_SASL_MECHANISM");
  let sasl: KafkaConfig["sasl"] = null;
  if (mechanism !== undefined) {
    const m = mechanism.toUpperCase();
    if (m !== "PLAIN" && m !== "SCRAM-SHA-256" && m !== "SCRAM-SHA-512") {
      throw new ConfigError(`--kafka-sasl-mechanism: expected PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512, got ${JSON.stringify(mechanism)}`);
    }
    const username = str("kafka-sasl-username", "GREP_STREAMS_KAFKA_SASL_USERNAME");
    const password = env.GREP_STREAMS_KAFKA_SASL_PASSWORD;
    if (!username || password === undefined) {
      throw new ConfigError("SASL needs --kafka-sasl-username (or GREP_STREAMS_KAFKA_SASL_USERNAME) and GREP_STREAMS_KAFKA_SASL_PASSWORD");
    }
    sasl = { mechanism: m, username, password };
  }
  return { brokers, clientId: str("kafka-client-id", "GREP_STREAMS_KAFKA_CLIENT_ID") ?? "grep-streams", tls, sasl };
}
