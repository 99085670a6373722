// Prints the matches of a MongoDB query on a topic, one "<event ID> <value JSON>" line each.
// Usage: node examples/node/subscribe.mjs [baseUrl] [--topic T] [--query JSON] [--earliest] [--max N]
import { parseArgs } from "node:util";
import { createConnectTransport } from "@connectrpc/connect-node";
import { createGrepClient } from "@grep-streams/sdk";

const { positionals, values: o } = parseArgs({
  allowPositionals: true,
  options: { topic: { type: "string", default: "demo-orders" }, query: { type: "string", default: '{"amount":{"$gt":300}}' }, earliest: { type: "boolean" }, max: { type: "string" } },
});
const baseUrl = new URL(positionals[0] || process.env.GREP_STREAMS_URL || "http://127.0.0.1:8080").href;

const grep = createGrepClient(createConnectTransport({ baseUrl, httpVersion: "1.1" }));
// On a transient failure it reconnects with backoff and resumes exactly after the last event it handed out.
const sub = grep.subscribe({ topics: [o.topic], query: o.query }, {
  start: o.earliest ? "earliest" : "latest",
  includeStarted: true,
  onReconnect: (attempt, err) => console.error(`reconnecting (attempt ${attempt}): ${err.message}`),
});
process.once("SIGINT", () => void sub.close()); // ends the loop below
let count = 0;
try {
  for await (const item of sub) {
    if (item.type === "started") console.error(`${item.reconnected ? "resumed" : "following"} stream ${item.streamId}`);
    if (item.type === "gap") console.error(`lost ${item.count} events: ${item.reason}`);
    if (item.type !== "event") continue;
    console.log(item.event.id, JSON.stringify(item.event.value));
    if (++count === Number(o.max)) break; // --max N: stop after N events
  }
} catch (err) {
  console.error(err.message); // a permanent error such as an invalid query: "[invalid_argument] ..."
  process.exitCode = 1;
}
