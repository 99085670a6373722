// A broker restart while clients are subscribed: the service reconnects by
// itself and every client ends with exactly the matching messages, once.
// Runs its own broker (other ports) so the shared one is not disturbed.
import { it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { fileURLToPath } from "node:url";
import { clientFor, startServer, testKafka } from "../helpers/server.js";
import { StreamReader } from "../helpers/stream-reader.js";
import type { Event } from "@grep-streams/sdk/gen/grepstreams/v1/grep_pb.js";

const run = promisify(execFile);
const script = fileURLToPath(new URL("../../../../scripts/kafka.sh", import.meta.url));
const env = { ...process.env, KAFKA_PORT: "19292", KAFKA_CONTROLLER_PORT: "19293" };
const broker = "127.0.0.1:19292";
const kafka = (command: string) => run("bash", [script, command], { env, timeout: 150_000 });

it("a broker restart loses and repeats nothing for subscribed clients", { skip: testKafka ? false : "GREP_STREAMS_TEST_KAFKA is not set (npm test sets it)", timeout: 300_000 }, async (t) => {
  await kafka("up");
  t.after(() => kafka("down"));
  const server = await startServer({ source: "kafka", kafkaBrokers: [broker] });
  t.after(() => server.close());
  const topic = server.topic("outage");
  const client = clientFor("grpc", server.url);
  await client.produce({ topic, messages: [{ valueJson: '{"even":false}' }] }); // creates the topic
  const filter = { topics: [topic], query: '{"even":true}' };
  const readers = [0, 1, 2].map(() => new StreamReader((signal) => client.subscribe({ filter }, { signal })));
  for (const r of readers) await r.started();

  const batch = (from: number) => Array.from({ length: 10 }, (_, i) => ({ key: [`k${from + i}`], valueJson: JSON.stringify({ n: from + i, even: (from + i) % 2 === 0 }) }));
  await client.produce({ topic, messages: batch(0) });
  const before: Event[][] = await Promise.all(readers.map((r) => r.events(5)));

  await kafka("restart");

  // Written by another client after the restart: the server must reconnect to see them.
  const kcat = execFile("kcat", ["-P", "-b", broker, "-t", topic, "-K", "|"]);
  kcat.stdin!.end(batch(10).map((m) => `${JSON.stringify([m.key[0]])}|${m.valueJson}`).join("\n") + "\n");
  await new Promise<void>((resolve, reject) => kcat.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`kcat exited ${code}`)))));
  const after: Event[][] = await Promise.all(readers.map((r) => r.events(5)));

  for (let i = 0; i < readers.length; i++) {
    const all = [...before[i]!, ...after[i]!];
    assert.deepEqual(all.map((e) => JSON.parse(e.valueJson).n).sort((a, b) => a - b), [0, 2, 4, 6, 8, 10, 12, 14, 16, 18]);
    assert.deepEqual(all.map((e) => Number(e.seq)), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    assert.deepEqual(all.map((e) => e.id), [...before[0]!, ...after[0]!].map((e) => e.id));
  }
  for (const r of readers) r.close();
});
