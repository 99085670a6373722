// Which failures the SDK retries: a base URL that does not parse is not one.
import { it } from "node:test";
import assert from "node:assert/strict";
import { createConnectTransport } from "@connectrpc/connect-node";
import { createGrepClient, GrepStreamsError } from "@grep-streams/sdk";

it("stops at once, saying so, when the transport's baseUrl does not parse", { timeout: 10_000 }, async () => {
  const grep = createGrepClient(createConnectTransport({ baseUrl: "-", httpVersion: "1.1" }));
  let reconnects = 0;
  const sub = grep.subscribe({ topics: ["x"] }, { onReconnect: () => void reconnects++ });
  await assert.rejects(
    async () => {
      for await (const _ of sub) break;
    },
    (err: unknown) => err instanceof GrepStreamsError && !err.transient && /Invalid URL.*check the transport's baseUrl/.test(err.message),
  );
  assert.equal(reconnects, 0);
  await assert.rejects(grep.listTopics(), /check the transport's baseUrl/);
});
