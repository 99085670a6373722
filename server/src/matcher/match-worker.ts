// A match worker thread: holds the filters of every topic the matcher reads
// (each worker may be given any partition) and matches the batches it is
// sent. It never touches the source or the index: reading and the
// exactly-once commit stay on the main thread.
import { parentPort } from "node:worker_threads";
import { PackedBatch } from "./match-batch.js";
import type { FromWorker, ToWorker } from "./match-protocol.js";
import { TopicFilters } from "./topic-filters.js";

const port = parentPort;
if (!port) throw new Error("match-worker.js runs as a worker thread of the matcher");

const topics = new Map<string, TopicFilters>();

port.on("message", (msg: ToWorker) => {
  switch (msg.type) {
    case "add": {
      let t = topics.get(msg.topic);
      if (!t) topics.set(msg.topic, (t = new TopicFilters()));
      try {
        t.add(msg.slot, msg.spec);
      } catch (err) {
        // It compiled on the main thread, so this is a bug: say so, keep serving the other filters.
        const reply: FromWorker = { type: "problem", message: `filter ${msg.slot} of ${msg.topic} did not compile in the worker: ${err instanceof Error ? err.message : String(err)}` };
        port.postMessage(reply);
      }
      return;
    }
    case "remove": {
      const t = topics.get(msg.topic);
      t?.remove(msg.slot);
      if (t?.size === 0) topics.delete(msg.topic);
      return;
    }
    case "match": {
      let reply: FromWorker;
      try {
        const t = topics.get(msg.topic);
        const result = t
          ? t.match(new PackedBatch(msg.buf, msg.count))
          : { pairs: new Uint32Array(0), nonJson: 0, badKey: 0 };
        reply = { type: "matched", id: msg.id, ...result };
        port.postMessage(reply, [result.pairs.buffer as ArrayBuffer]);
      } catch (err) {
        reply = { type: "failed", id: msg.id, message: err instanceof Error ? err.message : String(err) };
        port.postMessage(reply);
      }
      return;
    }
  }
});
