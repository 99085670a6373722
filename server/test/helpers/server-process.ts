// Runs the real `grep-streams serve` as a child process on a fixed port and
// data directory, so a test can SIGKILL it and start it again in the same
// place (crash tests). Readiness is the server's JSON log line
// "grep-streams is ready"; the child's stderr is kept (last lines, error
// lines) for diagnostics.
import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

export const BIN = fileURLToPath(new URL("../../../bin/grep-streams.js", import.meta.url));

/** A loopback port that was free a moment ago (found once, then reused across restarts). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export interface ServerProcessOptions {
  readonly port: number;
  readonly dataDir: string;
  /** Kafka as the source when given. */
  readonly kafkaBrokers?: string;
  readonly heartbeatMs?: number;
  readonly extraArgs?: readonly string[];
}

export interface LogRecord {
  readonly level?: string;
  readonly msg?: string;
  readonly [k: string]: unknown;
}

/** One spawned server process (one life). */
export interface Life {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Resolves with the URL when the ready line is logged; rejects if the process exits first or after `timeoutMs`. */
  readonly ready: Promise<string>;
  /** Resolves with (code, signal) when the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export class ServerProcess {
  readonly url: string;
  /** Every process started, in order. */
  readonly lives: Life[] = [];
  /** Log records with level "error" of every life, tagged with the life's number. */
  readonly errors: Array<{ life: number; rec: LogRecord }> = [];
  /** Log records with level "warn". */
  readonly warnings: Array<{ life: number; rec: LogRecord }> = [];
  /** The last stderr lines (all lives), for failure messages. */
  readonly tail: string[] = [];

  constructor(private readonly o: ServerProcessOptions) {
    this.url = `http://127.0.0.1:${o.port}`;
  }

  get current(): Life | undefined {
    return this.lives.at(-1);
  }

  /** Spawns a process (the previous one must have exited). Await `ready` yourself, or use start(). */
  spawn(readyTimeoutMs = 30_000): Life {
    const prev = this.current;
    if (prev && prev.child.exitCode === null && prev.child.signalCode === null) throw new Error(`server pid ${prev.pid} is still running`);
    const args = [BIN, "serve", "--port", String(this.o.port), "--data-dir", this.o.dataDir, "--no-demo", "--heartbeat-ms", String(this.o.heartbeatMs ?? 200)];
    if (this.o.kafkaBrokers) args.push("--kafka-brokers", this.o.kafkaBrokers, "--kafka-client-id", "grep-streams-crash-test");
    args.push(...(this.o.extraArgs ?? []));
    const child = spawn(process.execPath, args, {
      stdio: ["ignore", "ignore", "pipe"],
      env: { ...process.env, GREP_STREAMS_LOG_LEVEL: "info", GREP_STREAMS_WELCOME: "0" },
    });
    const n = this.lives.length;
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
    const ready = new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`server life ${n} not ready within ${readyTimeoutMs} ms; stderr:\n${this.tail.slice(-20).join("\n")}`)), readyTimeoutMs);
      void exited.then(({ code, signal }) => {
        clearTimeout(timer);
        reject(new Error(`server life ${n} exited (code ${code}, signal ${signal}) before it was ready; stderr:\n${this.tail.slice(-20).join("\n")}`));
      });
      // Read every line for the whole life, so the pipe never fills up.
      createInterface({ input: child.stderr! }).on("line", (line) => {
        this.tail.push(`[${n}] ${line}`);
        if (this.tail.length > 400) this.tail.splice(0, this.tail.length - 400);
        let rec: LogRecord;
        try {
          rec = JSON.parse(line) as LogRecord;
        } catch {
          return;
        }
        if (rec.level === "error") this.errors.push({ life: n, rec });
        if (rec.level === "warn") this.warnings.push({ life: n, rec });
        if (rec.msg === "grep-streams is ready") {
          clearTimeout(timer);
          resolve(String(rec.url));
        }
      });
    });
    ready.catch(() => {}); // a life killed before it was ready is normal in a crash test
    const life: Life = { child, pid: child.pid!, ready, exited };
    this.lives.push(life);
    return life;
  }

  /** Spawns and waits for the ready line; checks the URL is the fixed port's. */
  async start(readyTimeoutMs?: number): Promise<void> {
    const url = await this.spawn(readyTimeoutMs).ready;
    if (url !== this.url) throw new Error(`server said it is ready on ${url}, expected ${this.url}`);
  }

  /** SIGKILLs the current process (if it runs) and waits until it has exited. */
  async kill(): Promise<void> {
    const life = this.current;
    if (!life) return;
    if (life.child.exitCode === null && life.child.signalCode === null) life.child.kill("SIGKILL");
    await life.exited;
  }

  /** SIGTERM (graceful shutdown); SIGKILL after `graceMs`. Returns the exit code (null if it had to be killed). */
  async stop(graceMs = 10_000): Promise<number | null> {
    const life = this.current;
    if (!life) return 0;
    if (life.child.exitCode !== null || life.child.signalCode !== null) return life.child.exitCode;
    life.child.kill("SIGTERM");
    const timer = setTimeout(() => life.child.kill("SIGKILL"), graceMs);
    const { code, signal } = await life.exited;
    clearTimeout(timer);
    return signal === "SIGKILL" ? null : code;
  }

  /** For t.after: kills every process this object started that still runs. */
  killAll(): void {
    for (const l of this.lives) if (l.child.exitCode === null && l.child.signalCode === null) l.child.kill("SIGKILL");
  }
}
