// examples/node/subscribe.mjs as a user runs it: a child process against a
// real server, checked line by line. Through a TCP proxy that cuts its
// connection, it must reconnect by itself and print every match exactly once.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { clientFor, startServer, type TestServer } from "../helpers/server.js";
import { produce } from "../helpers/produce.js";
import { openSse } from "../helpers/sse.js";
import { startTcpProxy, type TcpProxy } from "../helpers/tcp-proxy.js";
import { within } from "../helpers/deadline.js";

const EXAMPLE = fileURLToPath(new URL("../../../../examples/node/subscribe.mjs", import.meta.url));
const STEP_MS = 15_000;

/** The lines of a readable, awaitable one at a time, with a time limit per line. */
class Lines {
  readonly all: string[] = [];
  private readonly queue: string[] = [];
  private waiter: ((line: string | null) => void) | undefined;
  private ended = false;

  constructor(input: NodeJS.ReadableStream, private readonly name: string) {
    const rl = createInterface({ input });
    rl.on("line", (line) => {
      this.all.push(line);
      const w = this.waiter;
      this.waiter = undefined;
      if (w) w(line);
      else this.queue.push(line);
    });
    rl.on("close", () => {
      this.ended = true;
      this.waiter?.(null);
    });
  }

  next(ms = STEP_MS): Promise<string> {
    const queued = this.queue.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    if (this.ended) return Promise.reject(new Error(`${this.name} ended; lines so far:\n${this.all.join("\n")}`));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        reject(new Error(`no line on ${this.name} within ${ms} ms; lines so far:\n${this.all.join("\n")}`));
      }, ms);
      this.waiter = (line) => {
        clearTimeout(timer);
        if (line === null) reject(new Error(`${this.name} ended; lines so far:\n${this.all.join("\n")}`));
        else resolve(line);
      };
    });
  }
}

interface Example {
  readonly child: ChildProcess;
  readonly stdout: Lines;
  readonly stderr: Lines;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function runExample(args: string[], env: Record<string, string> = {}): Example {
  const base = { ...process.env };
  delete base.GREP_STREAMS_URL;
  const child = spawn(process.execPath, [EXAMPLE, ...args], { stdio: ["ignore", "pipe", "pipe"], env: { ...base, ...env } });
  // "close": the process has exited and its stdout and stderr are read to the end.
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once("close", (code, signal) => resolve({ code, signal })));
  return { child, stdout: new Lines(child.stdout!, "stdout"), stderr: new Lines(child.stderr!, "stderr"), exited };
}


/** The stream's matches as "<id> <value JSON>" lines, read independently over SSE from the start. */
async function expectedLines(server: TestServer, topic: string, query: string, n: number): Promise<{ streamId: string; lines: string[] }> {
  const u = new URL("/v1/subscribe", server.url);
  u.searchParams.set("topic", topic);
  u.searchParams.set("q", query);
  u.searchParams.set("from", "earliest");
  const s = await openSse(u.toString());
  try {
    assert.equal(s.status, 200, s.body);
    const streamId = JSON.parse((await s.nextEvent("started")).data).stream_id as string;
    const lines: string[] = [];
    for (let i = 0; i < n; i++) {
      const m = await s.nextEvent("match");
      lines.push(`${m.id} ${JSON.stringify(JSON.parse(m.data).value)}`);
    }
    return { streamId, lines };
  } finally {
    s.close();
  }
}

describe("examples/node/subscribe.mjs", () => {
  let server: TestServer;
  let proxy: TcpProxy;
  const children: ChildProcess[] = [];
  before(async () => {
    server = await startServer({ source: "embedded" });
    proxy = await startTcpProxy(Number(new URL(server.url).port));
  });
  after(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
    await proxy.close();
    await server.close();
  });
  const run = (args: string[], env?: Record<string, string>) => {
    const ex = runExample(args, env);
    children.push(ex.child);
    return ex;
  };

  it("prints each match as '<event ID> <value>', survives a cut connection without loss or repeats, stops after --max", async () => {
    const client = clientFor("connect", server.url);
    const topic = "orders";
    const query = '{"amount":{"$gt":300}}';
    const ex = run([proxy.url, "--topic", topic, "--query", query, "--max", "5"]);
    const following = (await ex.stderr.next()).match(/^following stream ([0-9a-f]{16})$/);
    assert.ok(following, ex.stderr.all.join("\n"));

    // Subscribed (from now on): two of four match.
    await produce(client, topic, [{ value: { amount: 500, n: 1 }, partition: 0 }, { value: { amount: 20, n: 2 }, partition: 0 }, { value: { amount: 301, n: 3 }, partition: 0 }, { value: { amount: 300, n: 4 }, partition: 0 }]);
    const printed = [await ex.stdout.next(), await ex.stdout.next()];

    // Cut the connection. The SDK notices, says so, and reconnects by itself;
    // what is produced meanwhile must come after the resume, once.
    proxy.dropAll();
    assert.match(await ex.stderr.next(), /^reconnecting \(attempt 1\): \[[a-z_]+\] /);
    await produce(client, topic, [{ value: { amount: 900, n: 5 }, partition: 0 }, { value: { amount: 1, n: 6 }, partition: 0 }, { value: { amount: 1000, n: 7 }, partition: 0 }]);
    assert.equal(await ex.stderr.next(), `resumed stream ${following[1]}`);
    printed.push(await ex.stdout.next(), await ex.stdout.next());
    // Live again: the fifth match ends the example (--max 5).
    await produce(client, topic, [{ value: { amount: 2, n: 8 }, partition: 0 }, { value: { amount: 301, n: 9 }, partition: 0 }]);
    printed.push(await ex.stdout.next());
    assert.deepEqual(await within(STEP_MS, "exit after --max 5", ex.exited), { code: 0, signal: null });
    assert.deepEqual(ex.stdout.all, printed, "nothing else on stdout");
    assert.deepEqual(ex.stderr.all, [`following stream ${following[1]}`, ex.stderr.all[1], `resumed stream ${following[1]}`]);
    assert.equal(proxy.accepted, 2, "one connection, then one reconnection");

    // Exactly the stream's first five matches, with the IDs every subscriber sees.
    const expected = await expectedLines(server, topic, query, 5);
    assert.equal(expected.streamId, following[1]);
    assert.deepEqual(printed, expected.lines);
    assert.deepEqual(
      printed.map((l) => JSON.parse(l.slice(l.indexOf(" ") + 1)).n),
      [1, 3, 5, 7, 9],
    );
    assert.equal(new Set(printed.map((l) => l.split(" ")[0])).size, 5);
  });

  it("takes the URL from GREP_STREAMS_URL, reads history with --earliest, and exits 0 on SIGINT", async () => {
    const client = clientFor("connect", server.url);
    const topic = "history";
    const query = '{"ok":true}';
    await produce(client, topic, [{ value: { ok: true, n: 1 }, partition: 0 }, { value: { ok: false, n: 2 }, partition: 0 }, { value: { ok: true, n: 3 }, partition: 0 }]);
    const ex = run(["--topic", topic, "--query", query, "--earliest"], { GREP_STREAMS_URL: server.url });
    assert.match(await ex.stderr.next(), /^following stream [0-9a-f]{16}$/);
    const printed = [await ex.stdout.next(), await ex.stdout.next()];
    assert.deepEqual(printed, (await expectedLines(server, topic, query, 2)).lines);
    assert.deepEqual(printed.map((l) => l.slice(l.indexOf(" ") + 1)), ['{"ok":true,"n":1}', '{"ok":true,"n":3}']);

    // Still following: a live match is printed, then Ctrl-C ends it cleanly.
    await produce(client, topic, [{ value: { ok: true, n: 4 }, partition: 0 }]);
    assert.match(await ex.stdout.next(), /^\S+ \{"ok":true,"n":4\}$/);
    assert.equal(ex.child.exitCode, null, "still running");
    ex.child.kill("SIGINT");
    assert.deepEqual(await within(STEP_MS, "exit on SIGINT", ex.exited), { code: 0, signal: null });
    assert.equal(ex.stdout.all.length, 3);
    assert.equal(ex.stderr.all.length, 1, ex.stderr.all.join("\n"));
  });

  it("prints the server's reason for an invalid query and exits 1", async () => {
    const ex = run([server.url, "--topic", "x", "--query", '{"price":{"$where":"1"}}']);
    assert.deepEqual(await within(STEP_MS, "exit on an invalid query", ex.exited), { code: 1, signal: null });
    assert.deepEqual(ex.stdout.all, []);
    assert.equal(ex.stderr.all.length, 1, ex.stderr.all.join("\n"));
    assert.match(ex.stderr.all[0]!, /^\[invalid_argument\] filter\.query\.price: operator \$where is not allowed \(it runs code\)/);
  });
});
