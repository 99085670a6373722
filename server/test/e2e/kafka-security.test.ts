// The Kafka client options for secured brokers, against the test broker's
// SASL/PLAIN and TLS listeners (scripts/kafka.sh: port + 2 and port + 3, and
// the CA it made): events flow with the right credentials and CA, and the
// wrong ones fail with an error that says what to check.
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { connect } from "node:net";
import { Code, ConnectError } from "@connectrpc/connect";
import { clientFor, startServer, testKafka, type StartOptions, type TestServer } from "../helpers/server.js";
import { StreamReader } from "../helpers/stream-reader.js";

const [host, port] = (testKafka ?? "127.0.0.1:19092").split(":") as [string, string];
const saslBroker = `${host}:${Number(port) + 2}`;
const tlsBroker = `${host}:${Number(port) + 3}`;
const cache = process.env.GREP_STREAMS_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "grep-streams");
const caFile = join(cache, `kafka-run-${port}`, "tls", "ca.pem");
const USER = { mechanism: "PLAIN" as const, username: "grep-streams", password: "grep-streams-secret" };

function reachable(address: string): Promise<boolean> {
  const [h, p] = address.split(":");
  return new Promise((resolve) => {
    const s = connect(Number(p), h!, () => (s.end(), resolve(true)));
    s.on("error", () => resolve(false));
  });
}

const skip = !testKafka
  ? "GREP_STREAMS_TEST_KAFKA is not set (npm test sets it)"
  : !(await reachable(saslBroker)) || !(await reachable(tlsBroker)) || !existsSync(caFile)
    ? `the test broker has no SASL listener on ${saslBroker} / TLS listener on ${tlsBroker} / CA at ${caFile} (scripts/kafka.sh up makes them)`
    : false;
if (testKafka && skip) process.stderr.write(`\n*** SKIPPING the Kafka SASL/TLS tests: ${skip} ***\n\n`);

describe("secured Kafka brokers", { skip }, () => {
  const servers: TestServer[] = [];
  after(() => Promise.all(servers.map((s) => s.close())));
  const start = async (o: StartOptions) => {
    const s = await startServer({ source: "kafka", ...o });
    servers.push(s);
    return s;
  };

  async function roundTrip(server: TestServer): Promise<void> {
    const client = clientFor("connect", server.url);
    const topic = server.topic("secured");
    const reader = new StreamReader((signal) => client.subscribe({ filter: { topics: [topic], query: '{"ok":true}' } }, { signal }));
    try {
      await reader.started();
      await client.produce({ topic, messages: [{ valueJson: '{"ok":false}' }, { valueJson: '{"ok":true,"n":1}' }] });
      const [e] = await reader.events(1);
      assert.equal(JSON.parse(e!.valueJson).n, 1);
      const topics = await client.listTopics({});
      assert.ok(topics.topics.some((t) => t.name === topic));
    } finally {
      reader.abort.abort();
    }
  }

  async function failure(server: TestServer): Promise<ConnectError> {
    try {
      await clientFor("connect", server.url).listTopics({}, { timeoutMs: 60_000 });
    } catch (err) {
      return ConnectError.from(err);
    }
    throw new Error("listTopics succeeded with bad credentials");
  }

  it("SASL/PLAIN: subscribes and produces with the right password", { timeout: 60_000 }, async () => {
    await roundTrip(await start({ kafkaBrokers: [saslBroker], kafkaSasl: USER }));
  });

  it("SASL/PLAIN: a wrong password fails with an error about authentication", { timeout: 90_000 }, async () => {
    const err = await failure(await start({ kafkaBrokers: [saslBroker], kafkaSasl: { ...USER, password: "wrong" } }));
    assert.equal(err.code, Code.Unavailable, err.message);
    assert.match(err.rawMessage, /^Kafka at 127\.0\.0\.1:\d+ rejected the SASL authentication: check the mechanism, username and password/);
  });

  it("TLS: subscribes and produces when the broker's CA is given", { timeout: 60_000 }, async () => {
    await roundTrip(await start({ kafkaBrokers: [tlsBroker], kafkaTls: { ca: readFileSync(caFile, "utf8") } }));
  });

  it("TLS: a broker certificate the system CAs do not trust fails with an error about the certificate", { timeout: 90_000 }, async () => {
    const err = await failure(await start({ kafkaBrokers: [tlsBroker], kafkaTls: true }));
    assert.equal(err.code, Code.Unavailable, err.message);
    assert.match(err.rawMessage, /^cannot reach Kafka at 127\.0\.0\.1:\d+: .*TLS.*\(cause: .*certificate/);
  });
});
