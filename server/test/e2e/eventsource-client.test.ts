// A real EventSource (the `eventsource` package, the WHATWG algorithm for
// Node) against the SSE shim, through a TCP proxy that cuts the connection:
// EventSource reconnects by itself with Last-Event-ID, and the server must
// continue exactly after it. The client's fetch is wrapped to see each
// request's headers and to hold the reconnection until the test has produced
// what comes in while no connection is open.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { EventSource, type FetchLike } from "eventsource";
import { clientFor, startServer, type TestServer } from "../helpers/server.js";
import { produce } from "../helpers/produce.js";
import { openSse } from "../helpers/sse.js";
import { startTcpProxy, type TcpProxy } from "../helpers/tcp-proxy.js";
import { within } from "../helpers/deadline.js";

const STEP_MS = 15_000;

interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(v: T): void;
}
function deferred<T = void>(): Deferred<T> {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** Resolves once `cond` holds, checked after every change() (each received event); rejects after `ms`. */
class Changes {
  private readonly waiters = new Set<() => void>();
  changed(): void {
    for (const w of [...this.waiters]) w();
  }
  until(cond: () => boolean, what: () => string, ms = STEP_MS): Promise<void> {
    if (cond()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!cond()) return;
        this.waiters.delete(check);
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`not within ${ms} ms: ${what()}`));
      }, ms);
      this.waiters.add(check);
    });
  }
}


interface Received {
  /** EventSource's lastEventId after the event: the `id:` field. */
  readonly id: string;
  /** The `id` inside the data. */
  readonly dataId: string;
  readonly value: { n: number };
}

describe("EventSource (eventsource package) against GET /v1/subscribe", () => {
  let server: TestServer;
  let proxy: TcpProxy;
  before(async () => {
    server = await startServer({ source: "embedded", heartbeatMs: 100 });
    proxy = await startTcpProxy(Number(new URL(server.url).port));
  });
  after(async () => {
    await proxy.close();
    await server.close();
  });

  it("resumes with Last-Event-ID after a cut connection: every match once, in order, with the stream's IDs", async (t) => {
    const client = clientFor("connect", server.url);
    const topic = "es-orders";
    const query = '{"n":{"$gte":10}}';
    const url = new URL("/v1/subscribe", proxy.url);
    url.searchParams.set("topic", topic);
    url.searchParams.set("q", query);

    // Every request EventSource makes, with its headers; the second one (the
    // reconnection) waits for `release`.
    const requests: Array<Record<string, string>> = [];
    const reconnecting = deferred();
    const release = deferred();
    const wrappedFetch: FetchLike = async (input, init) => {
      requests.push({ ...init.headers });
      if (requests.length === 2) {
        reconnecting.resolve();
        await release.promise;
      }
      return fetch(input, init);
    };

    const changes = new Changes();
    const matches: Received[] = [];
    const started: Array<{ stream_id: string; after: string; head: string }> = [];
    const errors: Array<{ readyState: number; message: string | undefined }> = [];
    let opens = 0;
    const es = new EventSource(url, { fetch: wrappedFetch });
    t.after(() => {
      es.close();
      release.resolve();
    });
    es.addEventListener("open", () => {
      opens++;
      changes.changed();
    });
    es.addEventListener("started", (e) => {
      started.push(JSON.parse(e.data));
      changes.changed();
    });
    es.addEventListener("match", (e) => {
      const d = JSON.parse(e.data);
      matches.push({ id: e.lastEventId, dataId: d.id, value: d.value });
      changes.changed();
    });
    es.addEventListener("error", (e) => {
      errors.push({ readyState: es.readyState, message: e.message });
      changes.changed();
    });
    const state = () => `opens=${opens} started=${started.length} matches=${JSON.stringify(matches.map((m) => m.value.n))} errors=${JSON.stringify(errors)} requests=${requests.length}`;

    // Connected (from now on). Five produced, three match.
    await changes.until(() => started.length === 1, state);
    await produce(client, topic, [10, 1, 11, 12, 2].map((n) => ({ value: { n }, partition: 0 })));
    await changes.until(() => matches.length === 3, state);
    const lastBeforeCut = matches[2]!.id;
    assert.equal(es.readyState, EventSource.OPEN);
    assert.equal(requests[0]!["Last-Event-ID"], undefined, "the first request has no Last-Event-ID");

    // Cut it. EventSource reports the error, stays CONNECTING, and after the
    // server's retry delay asks again (held here) with Last-Event-ID.
    proxy.dropAll();
    await changes.until(() => errors.length === 1, state);
    assert.equal(errors[0]!.readyState, EventSource.CONNECTING);
    await within(STEP_MS, "a reconnection request", reconnecting.promise, state);
    assert.equal(requests[1]!["Last-Event-ID"], lastBeforeCut);
    assert.equal(requests[1]!.Accept, "text/event-stream");
    assert.equal(proxy.accepted, 1, "no connection open while the reconnection is held");

    // Produced while disconnected, then the reconnection goes through.
    await produce(client, topic, [13, 3, 14].map((n) => ({ value: { n }, partition: 0 })));
    release.resolve();
    await changes.until(() => started.length === 2 && matches.length === 5, state);
    // The server says it resumed right after the ID the client sent.
    assert.equal(started[1]!.after, lastBeforeCut);
    assert.equal(started[1]!.stream_id, started[0]!.stream_id);

    // Live again after the resume; a last match is the sentinel: a duplicate
    // or a stray event would have to arrive before it.
    await produce(client, topic, [15, 4, 16].map((n) => ({ value: { n }, partition: 0 })));
    await changes.until(() => matches.some((m) => m.value.n === 16), state);
    assert.deepEqual(matches.map((m) => m.value.n), [10, 11, 12, 13, 14, 15, 16]);
    for (const m of matches) assert.equal(m.id, m.dataId, "id: field and data id agree");
    assert.equal(new Set(matches.map((m) => m.id)).size, matches.length, "no ID twice");
    assert.equal(opens, 2);
    assert.equal(errors.length, 1);
    assert.equal(requests.length, 2);
    assert.equal(proxy.accepted, 2);

    // The IDs are the stream's: a fresh subscriber from the start, straight to
    // the server, sees the same seven.
    const direct = new URL("/v1/subscribe", server.url);
    direct.search = url.search;
    direct.searchParams.set("from", "earliest");
    const s = await openSse(direct.toString());
    try {
      assert.equal(s.status, 200, s.body);
      assert.equal(JSON.parse((await s.nextEvent("started")).data).stream_id, started[0]!.stream_id);
      const ids: string[] = [];
      for (let i = 0; i < 7; i++) ids.push((await s.nextEvent("match")).id!);
      assert.deepEqual(matches.map((m) => m.id), ids);
    } finally {
      s.close();
    }
  });

  it("a rejected filter is a failed connection that EventSource does not retry", async (t) => {
    const url = new URL("/v1/subscribe", proxy.url);
    url.searchParams.set("topic", "es-bad");
    url.searchParams.set("q", '{"price":{"$where":"1"}}');
    const statuses: number[] = [];
    const changes = new Changes();
    const es = new EventSource(url, {
      fetch: async (input, init) => {
        const res = await fetch(input, init);
        statuses.push(res.status);
        return res;
      },
    });
    t.after(() => es.close());
    const errors: Array<{ code: number | undefined; readyState: number }> = [];
    es.addEventListener("error", (e) => {
      errors.push({ code: e.code, readyState: es.readyState });
      changes.changed();
    });
    await changes.until(() => errors.length === 1, () => JSON.stringify(errors));
    assert.deepEqual(errors, [{ code: 400, readyState: EventSource.CLOSED }]);
    assert.deepEqual(statuses, [400]);
    // The reason is in the body, for clients that read it (EventSource does not).
    const res = await fetch(url);
    assert.equal(res.status, 400);
    assert.match(await res.text(), /^filter\.query\.price: operator \$where is not allowed \(it runs code\)/);
  });
});
