// The real match worker, except that a batch of the topic "exit-now" ends the
// thread, as a crash would: for the pool's replacement test. The worker's own
// listener is wrapped rather than a second one added: the port delivers what
// was posted before the worker's module ran only once a listener exists, so
// one added here first would see (and drop) the filters alone.
import { parentPort } from "node:worker_threads";

// `node --test` runs every file of the test folder: outside a worker this is not a test, and does nothing.
if (!parentPort) process.exit(0);
const port = parentPort;
const on = port.on.bind(port);
port.on = ((event: string, listener: (msg: { type: string; topic?: string }) => void) =>
  on(event, (msg: { type: string; topic?: string }) => {
    if (msg.type === "match" && msg.topic === "exit-now") process.exit(7);
    listener(msg);
  })) as typeof port.on;
await import("../../src/matcher/match-worker.js");
