// A stalled client never makes the server buffer without limit: its cursor
// stops where the transport stops taking data, and the client simply lags.
// (Memory is measured in bench/stalled-clients.mjs.)
import { it } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { clientFor, startServer } from "../helpers/server.js";

const MESSAGES = 20_000;
const VALUE = "x".repeat(1000);

/** Opens a stream and never reads its body: the socket's buffers fill and stay full. */
function stalledRequest(url: string, init: { method: string; headers?: Record<string, string>; body?: Buffer }): Promise<http.ClientRequest> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: init.method, headers: init.headers ?? {} }, (res) => {
      res.pause();
      resolve(req);
    });
    req.on("error", reject);
    req.end(init.body);
  });
}

function connectEnvelope(json: unknown): Buffer {
  const body = Buffer.from(JSON.stringify(json));
  const head = Buffer.alloc(5);
  head.writeUInt32BE(body.length, 1);
  return Buffer.concat([head, body]);
}

it("stalled SSE and Connect subscribers lag instead of being buffered for", async (t) => {
  const server = await startServer();
  t.after(() => server.close());
  const client = clientFor("connect", server.url);
  const sse = await stalledRequest(`${server.url}/v1/subscribe?topic=flood`, { method: "GET" });
  const connect = await stalledRequest(`${server.url}/grepstreams.v1.GrepService/Subscribe`, {
    method: "POST",
    headers: { "content-type": "application/connect+json", "connect-protocol-version": "1" },
    body: connectEnvelope({ filter: { topics: ["flood"] } }),
  });
  t.after(() => {
    sse.destroy();
    connect.destroy();
  });
  for (let i = 0; i < MESSAGES; i += 2000) {
    await client.produce({ topic: "flood", messages: Array.from({ length: 2000 }, (_, j) => ({ valueJson: JSON.stringify({ n: i + j, pad: VALUE }) })) });
  }
  // Wait (on an event: each produce is matched synchronously before the next batch is read) until all is matched.
  const engine = server.app.engine;
  const stream = [...engine.subscriptions()][0]!.streamId;
  while ((engine.registry.get(stream)!.record.epochs[0]!.lastSeq) < MESSAGES) await new Promise((r) => setImmediate(r));
  const subs = engine.subscriptions();
  assert.equal(subs.length, 2);
  for (const s of subs) {
    // ~20 MB were matched; the stalled subscribers got only what fits in the socket buffers.
    assert.ok(s.delivered.seq < MESSAGES / 4, `delivered ${s.delivered.seq} of ${MESSAGES}`);
    assert.ok(s.lag > (MESSAGES * 3) / 4, `lag ${s.lag}`);
  }
});
