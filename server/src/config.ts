// Server configuration from flags, then environment, then defaults that work
// on a fresh machine with nothing else installed.
import { parseArgs } from "node:util";
import { resolve } from "node:path";

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
  /** Allowed CORS origins; ["*"] allows any. */
  readonly corsOrigins: string[];
}

export const SERVE_HELP = `grep-streams serve: run the server (Connect, gRPC-Web and gRPC on one port, SSE at /v1/subscribe)

Options (environment variable in brackets):
  --port N               port for all protocols, 0 picks a free one [GREP_STREAMS_PORT] (default 8080)
  --host ADDR            address to bind [GREP_STREAMS_HOST] (default 127.0.0.1)
  --data-dir DIR         where the embedded log and the index live [GREP_STREAMS_DATA_DIR] (default ./.grep-streams)
  --no-demo              do not feed the demo topic with synthetic events [GREP_STREAMS_DEMO=0]
  --partitions N         partitions of new topics in the embedded log [GREP_STREAMS_PARTITIONS] (default 4)
  --retention-ms N       embedded log: delete messages older than this, 0 = never [GREP_STREAMS_RETENTION_MS] (default 7 days)
  --retention-bytes N    embedded log: bytes kept per partition, 0 = unlimited [GREP_STREAMS_RETENTION_BYTES] (default 1 GiB)
  --heartbeat-ms N       heartbeat interval of idle subscriptions [GREP_STREAMS_HEARTBEAT_MS] (default 10000)
  --cors-origins LIST    comma-separated allowed browser origins, * for any [GREP_STREAMS_CORS_ORIGINS] (default *)
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
      help: { type: "boolean", short: "h" },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) return "help";
  const demoEnv = env.GREP_STREAMS_DEMO;
  return {
    host: values.host ?? env.GREP_STREAMS_HOST ?? "127.0.0.1",
    port: int("port", values.port ?? env.GREP_STREAMS_PORT, 8080, 0),
    dataDir: resolve(values["data-dir"] ?? env.GREP_STREAMS_DATA_DIR ?? ".grep-streams"),
    demo: values["no-demo"] ? false : values.demo ? true : !(demoEnv === "0" || demoEnv === "false"),
    partitions: int("partitions", values.partitions ?? env.GREP_STREAMS_PARTITIONS, 4, 1),
    retentionMs: int("retention-ms", values["retention-ms"] ?? env.GREP_STREAMS_RETENTION_MS, 7 * 24 * 3600 * 1000, 0),
    retentionBytes: int("retention-bytes", values["retention-bytes"] ?? env.GREP_STREAMS_RETENTION_BYTES, 1024 ** 3, 0),
    heartbeatMs: int("heartbeat-ms", values["heartbeat-ms"] ?? env.GREP_STREAMS_HEARTBEAT_MS, 10_000, 50),
    corsOrigins: (values["cors-origins"] ?? env.GREP_STREAMS_CORS_ORIGINS ?? "*").split(",").map((s) => s.trim()).filter(Boolean),
  };
}
