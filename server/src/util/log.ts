// Structured logs: one JSON object a line on stderr, so stdout stays free for
// data (the CLI prints NDJSON events there). Level from GREP_STREAMS_LOG_LEVEL.

type Level = "debug" | "info" | "warn" | "error";
const order: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export type Fields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: Fields): void;
  info(msg: string, fields?: Fields): void;
  warn(msg: string, fields?: Fields): void;
  error(msg: string, fields?: Fields): void;
  child(bindings: Fields): Logger;
}

function threshold(): number {
  const env = (process.env.GREP_STREAMS_LOG_LEVEL ?? "info").toLowerCase();
  if (env === "silent") return Infinity;
  return order[env as Level] ?? order.info;
}

function serialise(value: unknown): unknown {
  if (value instanceof Error) {
    const out: Fields = { name: value.name, message: value.message };
    if (value.cause !== undefined) out.cause = serialise(value.cause);
    if ("code" in value) out.code = (value as { code: unknown }).code;
    return out;
  }
  if (typeof value === "bigint") return value.toString();
  return value;
}

export function createLogger(bindings: Fields = {}, write: (line: string) => void = (l) => process.stderr.write(l)): Logger {
  const min = threshold();
  const emit = (level: Level, msg: string, fields?: Fields) => {
    if (order[level] < min) return;
    const rec: Fields = { time: new Date().toISOString(), level, msg, ...bindings };
    if (fields) for (const [k, v] of Object.entries(fields)) rec[k] = serialise(v);
    write(JSON.stringify(rec) + "\n");
  };
  return {
    debug: (m, f) => emit("debug", m, f),
    info: (m, f) => emit("info", m, f),
    warn: (m, f) => emit("warn", m, f),
    error: (m, f) => emit("error", m, f),
    child: (more) => createLogger({ ...bindings, ...more }, write),
  };
}

export const log: Logger = createLogger();
