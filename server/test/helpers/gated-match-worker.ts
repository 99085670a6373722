// The real match worker, except that its first batch waits until the file
// $GATED_WORKER_DIR/open exists, after writing $GATED_WORKER_DIR/arrived: so
// a test can change the filters while a batch is being matched.
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parentPort } from "node:worker_threads";

const dir = process.env.GATED_WORKER_DIR!;
const sleeper = new Int32Array(new SharedArrayBuffer(4));
let gated = true;
// `node --test` runs every file of the test folder: outside a worker this is not a test, and does nothing.
if (!parentPort) process.exit(0);
const port = parentPort;
const on = port.on.bind(port);
// Wrap the worker's own listener (see exiting-match-worker.ts for why not a second one).
port.on = ((event: string, listener: (msg: { type: string }) => void) =>
  on(event, (msg: { type: string }) => {
    if (msg.type === "match" && gated) {
      gated = false;
      writeFileSync(join(dir, "arrived"), "");
      while (!existsSync(join(dir, "open"))) Atomics.wait(sleeper, 0, 0, 5);
    }
    listener(msg);
  })) as typeof port.on;
await import("../../src/matcher/match-worker.js");
