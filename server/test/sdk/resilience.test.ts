// How the SDK decides to reconnect: an idle connection counts as dead, the
// backoff is capped and jittered, and maxAttempts gives up.
import { it } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { once } from "node:events";
import { createConnectTransport } from "@connectrpc/connect-node";
import { backoffDelay, Code, createGrepClient, defaultBackoff, GrepStreamsError, type GrepEvent } from "@grep-streams/sdk";
import { startServer } from "../helpers/server.js";

it("treats a connection without messages (not even heartbeats) as dead and reconnects", { timeout: 30_000 }, async (t) => {
  // Heartbeats every 60 s: a quiet stream sends nothing within the idle timeout.
  const server = await startServer({ heartbeatMs: 60_000 });
  t.after(() => server.close());
  const sdk = createGrepClient(createConnectTransport({ baseUrl: server.url, httpVersion: "1.1" }));
  const topic = server.topic("quiet");
  await sdk.produce(topic, [{ value: { n: 0 } }]);
  const errors: GrepStreamsError[] = [];
  let reconnected!: () => void;
  const twice = new Promise<void>((resolve) => (reconnected = resolve));
  const sub = sdk.subscribe({ topics: [topic] }, {
    start: "earliest",
    idleTimeoutMs: 150,
    backoff: { initialMs: 1, maxMs: 5 },
    onReconnect: (_attempt, err) => {
      errors.push(err);
      if (errors.length === 2) reconnected();
    },
  });
  const items = sub[Symbol.asyncIterator]();
  // (The backfill of history may report progress before its match.)
  let first = await items.next();
  while (first.value?.type === "progress") first = await items.next();
  assert.equal(first.value?.type, "event");
  const pending = items.next(); // waits through the idle reconnects
  await twice;
  assert.ok(errors.every((e) => e.code === Code.DeadlineExceeded && e.transient), errors.map((e) => e.message).join("; "));
  await sdk.produce(topic, [{ value: { n: 1 } }]);
  const second = await pending;
  assert.equal(second.value?.type, "event");
  // History came from a backfill epoch, the new message from the head epoch.
  assert.deepEqual([first.value, second.value].map((v) => ((v as { event: GrepEvent }).event.value as { n: number }).n), [0, 1]);
  await sub.close();
});

it("gives up after maxAttempts failures in a row, with the last error", { timeout: 30_000 }, async () => {
  // A port where nothing listens (taken, then released).
  const probe = createServer().listen(0, "127.0.0.1");
  await once(probe, "listening");
  const port = (probe.address() as { port: number }).port;
  probe.close();
  await once(probe, "close");
  const sdk = createGrepClient(createConnectTransport({ baseUrl: `http://127.0.0.1:${port}`, httpVersion: "1.1" }));
  const attempts: number[] = [];
  const sub = sdk.subscribe({ topics: ["t"] }, { maxAttempts: 3, backoff: { initialMs: 1, maxMs: 2 }, onReconnect: (attempt) => attempts.push(attempt) });
  await assert.rejects(
    async () => {
      for await (const _ of sub);
    },
    (err: unknown) => err instanceof GrepStreamsError && err.code === Code.Unavailable && err.transient,
  );
  assert.deepEqual(attempts, [1, 2]);
});

it("backs off exponentially up to the cap, with full jitter", () => {
  const o = { ...defaultBackoff, jitter: "none" as const };
  assert.deepEqual([1, 2, 3, 4, 7, 8, 30].map((a) => backoffDelay(a, o)), [100, 200, 400, 800, 6400, 10_000, 10_000]);
  assert.equal(backoffDelay(3, defaultBackoff, () => 0.5), 200);
  assert.equal(backoffDelay(30, defaultBackoff, () => 0.999), 9990);
});
