// ValidateFilter: the same verdict as Subscribe, without subscribing; over
// Connect GET too (it has no side effects), and through the SDK.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { ConnectError } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { createGrepClient } from "@grep-streams/sdk";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { FilterSchema } from "@grep-streams/sdk/gen/grepstreams/v1/grep_pb.js";
import { clientFor, startServer, type TestServer } from "../helpers/server.js";
import { produce } from "../helpers/produce.js";

type Filter = MessageInitShape<typeof FilterSchema>;

describe("ValidateFilter", () => {
  let server: TestServer;
  before(async () => (server = await startServer({ source: "embedded" })));
  after(() => server.close());

  /** What Subscribe says of a filter: its stream id, or its INVALID_ARGUMENT message. */
  async function subscribeVerdict(filter: Filter): Promise<{ streamId: string } | { message: string }> {
    const abort = new AbortController();
    try {
      for await (const m of clientFor("connect", server.url).subscribe({ filter }, { signal: abort.signal })) {
        if (m.kind.case === "started") return { streamId: m.kind.value.streamId };
      }
      throw new Error("no started");
    } catch (err) {
      return { message: ConnectError.from(err).rawMessage };
    } finally {
      abort.abort();
    }
  }

  it("names the field, the location and Subscribe's reason for each kind of mistake", async () => {
    const client = clientFor("connect", server.url);
    const cases: [Filter, string, RegExp][] = [
      [{ topics: ["t"], query: '{"$where": "1"}' }, "query", /^query$/],
      [{ topics: ["t"], query: '{"a": {"$gt": 1}, "b": {"$regex": "("}}' }, "query", /^query\.b/],
      [{ topics: ["t"], query: "{not json" }, "query", /^query/],
      [{ topicRegex: "orders-(" }, "topic_regex", /^topic_regex/],
      [{}, "topics", /^topics/],
      [{ topics: ["t"], keyRegex: "a[" }, "key_regex", /^key_regex/],
      [{ topics: ["t"], projection: '{"a": 1, "b": 0}' }, "projection", /^projection/],
    ];
    for (const [filter, field, location] of cases) {
      const res = await client.validateFilter({ filter });
      assert.equal(res.problems.length, 1, JSON.stringify(filter));
      const p = res.problems[0]!;
      assert.equal(p.field, field, JSON.stringify(filter));
      assert.match(p.location, location);
      assert.equal(res.streamId, "");
      const sub = await subscribeVerdict(filter);
      assert.ok("message" in sub, `Subscribe accepted ${JSON.stringify(filter)}`);
      assert.equal(p.message, sub.message, "the same words as Subscribe");
    }
  });

  it("gives a valid filter's stream id, canonical form and warnings, as Subscribe's started would", async () => {
    await produce(clientFor("connect", server.url), "validate-a", [{ value: { n: 1 } }]);
    const filter = { topics: ["validate-b", "validate-a"], query: '{ "n": { "$gte": 1 } }' };
    const res = await clientFor("connect", server.url).validateFilter({ filter });
    assert.deepEqual(res.problems, []);
    assert.match(res.streamId, /^[0-9a-f]{16}$/);
    assert.deepEqual(JSON.parse(res.canonicalFilter).topics, ["validate-a", "validate-b"]);
    assert.deepEqual(res.warnings, ['topic "validate-b" does not exist yet; its events flow once it is created']);
    const sub = await subscribeVerdict(filter);
    assert.deepEqual(sub, { streamId: res.streamId });
  });

  it("answers Connect GET requests (no side effects) and works through the SDK", async () => {
    // The Connect protocol's GET form, as a plain HTTP request.
    const url = new URL("/grepstreams.v1.GrepService/ValidateFilter", server.url);
    url.searchParams.set("connect", "v1");
    url.searchParams.set("encoding", "json");
    url.searchParams.set("message", JSON.stringify({ filter: { topics: ["x"], query: '{"$function": {}}' } }));
    const res = await fetch(url);
    assert.equal(res.status, 200);
    const body = (await res.json()) as { problems: { field: string; location: string; message: string }[] };
    assert.equal(body.problems[0]?.field, "query");
    assert.match(body.problems[0]!.message, /\$function is not allowed/);

    const sdk = createGrepClient(createConnectTransport({ baseUrl: server.url, httpVersion: "1.1" }));
    const bad = await sdk.validateFilter({ topics: ["x"], query: { $where: "1" } });
    assert.equal(bad.ok, false);
    assert.equal(bad.ok ? "" : bad.problems[0]!.field, "query");
    const good = await sdk.validateFilter({ topics: ["x"], query: { n: 1 } });
    assert.equal(good.ok, true);
    assert.match(good.ok ? good.streamId : "", /^[0-9a-f]{16}$/);
  });
});
