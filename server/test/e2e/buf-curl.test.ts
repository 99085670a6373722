// The real `buf curl` (the @bufbuild/buf devDependency) against a server, as
// the README shows it: services listed by reflection, Subscribe streamed over
// gRPC (cleartext HTTP/2, schema from reflection) and over the Connect
// protocol (HTTP/1.1, schema from the repository's protos), and an invalid
// query answered with INVALID_ARGUMENT and the server's reason.
//
// buf curl prints each response message of a stream as indented protobuf
// JSON (proto3 rules: zero values and empty fields left out, 64-bit integers
// as strings); errors go to stderr as JSON {"code", "message"}, and the exit
// code is the gRPC code shifted left by three bits.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { clientFor, startServer, type TestServer } from "../helpers/server.js";
import { produce } from "../helpers/produce.js";
import { openSse } from "../helpers/sse.js";

const ROOT = fileURLToPath(new URL("../../../../", import.meta.url));
const BUF = join(ROOT, "node_modules", ".bin", "buf");
const STEP_MS = 20_000;

/** Splits a stream of concatenated JSON values (objects) into the values, as they complete. */
class JsonSplitter {
  private buf = "";
  private depth = 0;
  private inString = false;
  private escaped = false;
  private start = -1;
  private scanned = 0;

  push(chunk: string): unknown[] {
    this.buf += chunk;
    const out: unknown[] = [];
    for (let i = this.scanned; i < this.buf.length; i++) {
      const c = this.buf[i];
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === "\\") this.escaped = true;
        else if (c === '"') this.inString = false;
      } else if (c === '"') this.inString = true;
      else if (c === "{") {
        if (this.depth++ === 0) this.start = i;
      } else if (c === "}") {
        if (--this.depth === 0) out.push(JSON.parse(this.buf.slice(this.start, i + 1)));
      } else if (this.depth === 0 && !/\s/.test(c!)) {
        throw new Error(`unexpected ${JSON.stringify(c)} between messages in: ${this.buf}`);
      }
    }
    if (this.depth === 0) {
      this.buf = "";
      this.scanned = 0;
    } else {
      this.buf = this.buf.slice(this.start);
      this.scanned = this.buf.length;
      this.start = 0;
    }
    return out;
  }
}

/** One `buf` process: its stdout as text and (with `json`) as parsed messages, its stderr as text. */
class BufRun {
  readonly child: ChildProcess;
  readonly messages: unknown[] = [];
  stdout = "";
  stderr = "";
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private read = 0;
  private wake: (() => void) | undefined;
  private done = false;

  constructor(args: string[], json: boolean) {
    // Its own process group: the npm bin is a Node wrapper that runs the Go
    // binary as a child, and both must go when the test kills it.
    this.child = spawn(BUF, args, { cwd: ROOT, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    const splitter = new JsonSplitter();
    this.child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
      this.stdout += chunk;
      if (json) this.messages.push(...splitter.push(chunk));
      this.wake?.();
    });
    this.child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (this.stderr += chunk));
    this.exited = new Promise((resolve) =>
      this.child.once("close", (code, signal) => {
        this.done = true;
        this.wake?.();
        resolve({ code, signal });
      }),
    );
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The next message on stdout; rejects if none comes within `ms` or buf exits first. */
  async next(ms = STEP_MS): Promise<Record<string, any>> {
    const deadline = Date.now() + ms;
    while (this.read >= this.messages.length) {
      if (this.done) throw new Error(`buf exited (code ${this.child.exitCode}) after ${this.read} messages; stderr:\n${this.stderr}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no message from buf within ${ms} ms after ${this.read} messages; stderr:\n${this.stderr}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(timer);
          this.wake = undefined;
          resolve();
        };
      });
    }
    return this.messages[this.read++] as Record<string, any>;
  }

  /** Waits for the exit; kills the process group if it takes longer than `ms`. */
  async finish(ms = STEP_MS): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    let timer: NodeJS.Timeout | undefined;
    const limit = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`buf did not exit within ${ms} ms; stderr:\n${this.stderr}`)), ms)));
    try {
      return await Promise.race([this.exited, limit]);
    } finally {
      clearTimeout(timer);
      this.kill();
    }
  }

  kill(): void {
    try {
      process.kill(-this.child.pid!, "SIGKILL");
    } catch {
      // the group is gone already
    }
  }
}

describe("buf curl against the one-port server", () => {
  let server: TestServer;
  const runs: BufRun[] = [];
  const buf = (args: string[], json = true) => {
    const r = new BufRun(args, json);
    runs.push(r);
    return r;
  };
  before(async () => (server = await startServer({ source: "embedded" })));
  after(async () => {
    for (const r of runs) r.kill();
    await server.close();
  });

  it("lists the services by reflection (gRPC, HTTP/2 prior knowledge)", async () => {
    const r = buf(["curl", "--protocol", "grpc", "--http2-prior-knowledge", "--list-services", server.url], false);
    assert.deepEqual(await r.finish(), { code: 0, signal: null }, r.stderr);
    const lines = r.stdout.split("\n").filter((l) => l !== "");
    assert.deepEqual(lines.sort(), ["grepstreams.v1.GrepService", "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection"]);
  });

  const protocols = [
    {
      name: "gRPC over cleartext HTTP/2, schema by reflection",
      args: ["--protocol", "grpc", "--http2-prior-knowledge"],
      exchanges: ["> POST /grpc.reflection.v1.ServerReflection/ServerReflectionInfo", "< HTTP/2.0 200 OK", "> POST /grepstreams.v1.GrepService/Subscribe", "< HTTP/2.0 200 OK"],
    },
    {
      name: "Connect over HTTP/1.1, schema from proto/",
      args: ["--protocol", "connect", "--schema", ROOT],
      exchanges: ["> POST /grepstreams.v1.GrepService/Subscribe", "< HTTP/1.1 200 OK"],
    },
  ];
  for (const [i, p] of protocols.entries()) {
    it(`streams Subscribe: ${p.name}`, async () => {
      const client = clientFor("connect", server.url);
      const topic = `buf-orders-${i}`;
      const query = '{"ok":true}';
      // History first, all on partition 0 (so offsets are predictable).
      await produce(client, topic, [1, 2, 3, 4].map((n) => ({ value: { ok: n !== 2, n }, partition: 0 })));
      const request = { filter: { topics: [topic], query }, start: { earliest: true } };
      const r = buf(["curl", "-v", ...p.args, "-d", JSON.stringify(request), `${server.url}/grepstreams.v1.GrepService/Subscribe`]);
      try {
        const started = (await r.next()).started;
        assert.ok(started, `the first message is "started": ${JSON.stringify(r.messages[0])}`);
        assert.match(started.streamId, /^[0-9a-f]{16}$/);
        assert.match(started.subscriptionId, /\S/);
        assert.deepEqual(JSON.parse(started.canonicalFilter), { keyPrefix: [], keyRegex: "", query: { ok: true }, topicRegex: "", topics: [topic] });

        const events: Array<Record<string, any>> = [];
        const nextEvent = async () => {
          for (;;) {
            const m = await r.next();
            assert.equal(m.gap, undefined, `no gap: ${JSON.stringify(m)}`);
            if (m.event) return m.event as Record<string, any>;
            assert.ok(m.progress || m.heartbeat, `an event, progress or heartbeat: ${JSON.stringify(m)}`);
          }
        };
        for (let k = 0; k < 3; k++) events.push(await nextEvent());
        // Live, while buf is still streaming.
        assert.equal(r.running, true);
        await produce(client, topic, [5, 6, 7].map((n) => ({ value: { ok: n !== 6, n }, partition: 0 })));
        for (let k = 0; k < 2; k++) events.push(await nextEvent());

        // The stream was created by this subscription: its head epoch (0)
        // starts at the end of the topic, and the history before it became a
        // backfill epoch (1), ordered first. Seqs are dense within each epoch.
        // proto3 JSON leaves out zeros (epoch 0, partition 0, offset 0) and
        // empty fields (no key).
        assert.deepEqual(
          events.map((e) => ({ epoch: e.epoch ?? 0, seq: e.seq, topic: e.topic, partition: e.partition ?? 0, offset: e.offset ?? "0", key: e.key, value: JSON.parse(e.valueJson) })),
          [
            { epoch: 1, seq: "1", offset: "0", value: { ok: true, n: 1 } },
            { epoch: 1, seq: "2", offset: "2", value: { ok: true, n: 3 } },
            { epoch: 1, seq: "3", offset: "3", value: { ok: true, n: 4 } },
            { epoch: 0, seq: "1", offset: "4", value: { ok: true, n: 5 } },
            { epoch: 0, seq: "2", offset: "6", value: { ok: true, n: 7 } },
          ].map((e) => ({ epoch: e.epoch, seq: e.seq, topic, partition: 0, offset: e.offset, key: undefined, value: e.value })),
        );
        // The IDs are the stream's: an SSE subscriber of the same filter sees the same.
        const sse = new URL("/v1/subscribe", server.url);
        sse.searchParams.set("topic", topic);
        sse.searchParams.set("q", query);
        sse.searchParams.set("from", "earliest");
        const s = await openSse(sse.toString());
        try {
          assert.equal(JSON.parse((await s.nextEvent("started")).data).stream_id, started.streamId);
          const ids: string[] = [];
          for (let k = 0; k < 5; k++) ids.push((await s.nextEvent("match")).id!);
          assert.deepEqual(events.map((e) => e.id), ids);
        } finally {
          s.close();
        }
        assert.equal(new Set(events.map((e) => e.id)).size, 5);
        // One port, told apart by the connection preface: buf's verbose log
        // (-v) shows which calls went over which HTTP version.
        const exchanges = [...r.stderr.matchAll(/^buf: ([<>]) \(#\d+\) (POST \S+|HTTP\/\S+ \d+ .*)$/gm)].map((m) => `${m[1]} ${m[2]}`);
        assert.deepEqual(exchanges, p.exchanges);
        assert.equal(r.running, true, "a server stream does not end by itself");
      } finally {
        r.kill();
      }
      const { signal } = await r.finish();
      assert.equal(signal, "SIGKILL");
    });
  }

  const invalid = [
    { name: "Connect over HTTP/1.1", args: ["--protocol", "connect", "--schema", ROOT] },
    { name: "gRPC, schema by reflection", args: ["--protocol", "grpc", "--http2-prior-knowledge"] },
  ];
  for (const p of invalid) {
    it(`an invalid query is INVALID_ARGUMENT with the server's reason: ${p.name}`, async () => {
      const request = { filter: { topics: ["buf-bad"], query: '{"price":{"$where":"sleep(1000)"}}' } };
      const r = buf(["curl", ...p.args, "-d", JSON.stringify(request), `${server.url}/grepstreams.v1.GrepService/Subscribe`]);
      // Code.InvalidArgument is 3; buf exits with 3 << 3.
      assert.deepEqual(await r.finish(), { code: 24, signal: null }, r.stderr);
      assert.deepEqual(r.messages, [], "no message on stdout, not even started");
      const err = JSON.parse(r.stderr);
      assert.deepEqual(Object.keys(err), ["code", "message"]);
      assert.equal(err.code, "invalid_argument");
      assert.match(err.message, /^filter\.query\.price: operator \$where is not allowed \(it runs code\); allowed: \$eq, /);
    });
  }
});
