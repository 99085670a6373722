// The CLI as a person uses it: the real `grep-streams` binary against a real server.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { promisify } from "node:util";
import { fileURLToPath } from "node:url";
import { createInterface } from "node:readline";
import { startServer, type TestServer } from "../helpers/server.js";

const bin = fileURLToPath(new URL("../../../bin/grep-streams.js", import.meta.url));
const run = promisify(execFile);

describe("grep-streams CLI", () => {
  let server: TestServer;
  before(async () => (server = await startServer()));
  after(() => server.close());

  it("produce from arguments and stdin, grep as NDJSON, count, topics", async () => {
    const env = { ...process.env, GREP_STREAMS_SERVER: server.url };
    const produced = await run(process.execPath, [bin, "produce", "cli-topic", "--key", "t1,u1", '{"n":1,"ok":true}', '{"n":2,"ok":false}'], { env });
    assert.deepEqual(produced.stdout.trim().split("\n").map((l) => JSON.parse(l).offset), [0, 1]);
    const child = spawn(process.execPath, [bin, "produce", "cli-topic", "--key", "t1,u1"], { env });
    child.stdin.end('{"n":3,"ok":true}\n\n{"n":4,"ok":true}\n');
    const code = await new Promise((r) => child.on("exit", r));
    assert.equal(code, 0);

    const grep = await run(process.execPath, [bin, "grep", "--topic", "cli-topic", "--from", "earliest", "-n", "3", '{"ok":true}'], { env });
    const lines = grep.stdout.trim().split("\n").map((l) => JSON.parse(l));
    assert.deepEqual(lines.map((l) => l.value.n), [1, 3, 4]);
    assert.deepEqual(lines[0].key, ["t1", "u1"]);
    assert.deepEqual(Object.keys(lines[0]), ["id", "topic", "partition", "offset", "timestamp", "key", "value"]);

    const count = await run(process.execPath, [bin, "count", "--topic", "cli-topic", '{"ok":true}'], { env });
    assert.equal(JSON.parse(count.stdout).matched, 3);

    const topics = await run(process.execPath, [bin, "topics", "--json"], { env });
    const t = JSON.parse(topics.stdout.trim());
    assert.equal(t.topic, "cli-topic");
    assert.equal(t.partitions.length, 4);
  });

  it("follows live matches and reports a bad query with its reason", async () => {
    const env = { ...process.env, GREP_STREAMS_SERVER: server.url };
    const child = spawn(process.execPath, [bin, "grep", "--verbose", "-t", "live-cli", "-n", "1", '{"x":{"$gte":10}}'], { env });
    const exited = new Promise((r) => child.on("exit", r));
    const first = new Promise<string>((r) => createInterface({ input: child.stdout }).once("line", r));
    const stderr = createInterface({ input: child.stderr });
    for await (const l of stderr) if (l.includes("following stream")) break;
    await run(process.execPath, [bin, "produce", "live-cli", '{"x":5}', '{"x":12}'], { env });
    assert.equal(JSON.parse(await first).value.x, 12);
    await exited;

    await assert.rejects(run(process.execPath, [bin, "grep", "-t", "x", '{"$where":"1"}'], { env }), (err: { code: number; stderr: string }) => {
      assert.equal(err.code, 1);
      assert.match(err.stderr, /\$where.*\[invalid_argument\]/s);
      return true;
    });
  });
});

it("serve starts on a free port, answers /healthz, and exits 0 on SIGTERM", async (t) => {
  const { mkdtempSync, rmSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const { join } = await import("node:path");
  const dataDir = mkdtempSync(join(tmpdir(), "grep-streams-serve-"));
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  const child = spawn(process.execPath, [bin, "serve", "--port", "0", "--data-dir", dataDir, "--no-demo"], { stdio: ["ignore", "ignore", "pipe"] });
  t.after(() => child.kill("SIGKILL"));
  let url = "";
  for await (const line of createInterface({ input: child.stderr })) {
    const rec = JSON.parse(line);
    if (rec.msg === "grep-streams is ready") {
      url = rec.url;
      assert.equal(rec.source, "embedded");
      break;
    }
  }
  const res = await fetch(`${url}/healthz`);
  assert.equal(res.status, 200);
  assert.equal(await res.text(), "ok\n");
  const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
  child.kill("SIGTERM");
  assert.equal(await exited, 0);
});
