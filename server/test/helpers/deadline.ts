// Turns a hang into a failure that says where it hangs: a deadline per step
// of a test, a poll for a condition with one, and a record of the source
// calls in flight (what each waits for, and since when), printed with the
// server's streams when a deadline passes.
import type { Source } from "../../src/source/types.js";
import type { App } from "../../src/app/app.js";

const TRACKED = ["listTopics", "describeTopic", "read", "readOne", "readAt", "offsetForTimestamp", "produce"] as const;

export interface SourceCalls {
  /** The calls not settled yet, oldest first, with how long each has been waiting. */
  pending(): string[];
}

/** Wraps the source's methods (in place) to know which calls are in flight. */
export function trackSourceCalls(source: Source): SourceCalls {
  const inFlight = new Map<number, { what: string; since: number }>();
  let next = 0;
  const target = source as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
  for (const name of TRACKED) {
    const original = target[name]!.bind(source);
    target[name] = (...args: unknown[]) => {
      const id = next++;
      inFlight.set(id, { what: `${name}(${args.map(brief).join(", ")})`, since: Date.now() });
      let p: Promise<unknown>;
      try {
        p = original(...args);
      } catch (err) {
        inFlight.delete(id);
        throw err;
      }
      return p.finally(() => inFlight.delete(id));
    };
  }
  return {
    pending: () => [...inFlight.values()].map((c) => `${c.what} pending for ${Date.now() - c.since} ms`),
  };
}

function brief(v: unknown): string {
  if (Array.isArray(v)) return v.length > 8 ? `[${v.length} items]` : JSON.stringify(v);
  if (typeof v === "string") return JSON.stringify(v);
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  return typeof v;
}

/**
 * What the server is doing: source calls in flight, each subscription's
 * stream with its epochs, and the offsets the source holds for `topics` (a
 * start equal to the end means retention deleted everything).
 */
export async function describeServer(app: App, calls?: SourceCalls, topics: readonly string[] = []): Promise<string> {
  const lines: string[] = [];
  if (calls) {
    const pending = calls.pending();
    lines.push(pending.length ? `source calls in flight:\n  ${pending.join("\n  ")}` : "no source call in flight");
  }
  const engine = app.engine;
  for (const s of engine.subscriptions()) lines.push(`subscription ${s.id}: stream ${s.streamId}, delivered ${JSON.stringify(s.delivered)}, lag ${s.lag}`);
  for (const [pk, next] of engine.matcher.positions()) lines.push(`matcher reader ${pk}: next ${next}`);
  for (const sub of new Set(engine.subscriptions().map((s) => s.streamId))) {
    const stream = engine.registry.get(sub);
    if (!stream) continue;
    for (const e of stream.record.epochs) {
      const scan = stream.scanProgress(e.epoch);
      lines.push(
        `stream ${sub} epoch ${e.epoch} (${e.kind}${e.kind === "backfill" ? (e.complete ? ", complete" : ", incomplete") : ""}): ` +
          `lastSeq ${e.lastSeq}, start ${JSON.stringify([...e.start])}, end ${e.end ? JSON.stringify([...e.end]) : "-"}, frontier ${JSON.stringify([...e.frontier])}` +
          (scan ? `, scan ${scan.scanned}/${scan.total} matched ${scan.matched}` : ""),
      );
    }
  }
  for (const topic of topics) {
    // The source may be what hangs: do not wait long for it.
    const meta = await Promise.race([app.source.describeTopic(topic).catch((err: Error) => err), new Promise<string>((r) => setTimeout(r, 2_000, "no answer in 2 s").unref())]);
    lines.push(`topic ${topic} as the source has it: ${meta instanceof Error ? meta.message : typeof meta === "string" ? meta : JSON.stringify(meta.partitions)}`);
  }
  return lines.join("\n");
}

/**
 * `work`, unless it takes longer than `ms`: then a failure naming the step
 * and, through `diagnose`, what the server was doing.
 */
export async function within<T>(ms: number, step: string, work: Promise<T>, diagnose: () => string | Promise<string> = () => ""): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const started = Date.now();
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      void (async () => {
        const details = await Promise.resolve()
          .then(diagnose)
          .catch((err: Error) => `(describing the server failed: ${err.message})`);
        reject(new Error(`step "${step}" did not finish within ${ms} ms${details ? `\n${details}` : ""}`));
      })();
    }, ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
    if (process.env.TEST_LOG) process.stderr.write(`step "${step}" took ${Date.now() - started} ms\n`);
  }
}

/** Polls `check` (every 20 ms) until it holds; fails naming `what` after `timeoutMs`. */
export async function waitUntil(what: string, check: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
