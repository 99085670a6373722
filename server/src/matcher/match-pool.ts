// The match workers: matching runs in worker threads so that it uses every
// core and never stalls serving on the main thread. Partitions are spread
// over the workers (each partition reader is bound to one, the least loaded
// when it starts); every worker holds the filters of every topic, because
// any of them may be given a partition of it. The pool remembers the filters
// it handed out, so a worker that dies is replaced and given them again.
import { Worker } from "node:worker_threads";
import type { FilterSpec } from "../filter/index.js";
import type { SourceRecord } from "../source/types.js";
import type { Logger } from "../util/log.js";
import { packBatch, type BatchParts } from "./match-batch.js";
import type { FromWorker, ToWorker } from "./match-protocol.js";
import type { BatchMatches } from "./topic-filters.js";

const WORKER_URL = new URL("./match-worker.js", import.meta.url);

export interface MatchPoolOptions {
  /** The worker's script (tests wrap the real one to make it fail). */
  readonly workerUrl?: URL;
}

export class MatchWorkerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MatchWorkerError";
  }
}

interface Pending {
  resolve(m: BatchMatches): void;
  reject(err: Error): void;
}

class WorkerSlot {
  worker!: Worker;
  /** Partition readers bound to this worker. */
  load = 0;
  readonly pending = new Map<number, Pending>();
}

export class MatchPool {
  readonly #slots: WorkerSlot[] = [];
  /** topic -> filter slot -> spec: what a replacement worker must be given. */
  readonly #filters = new Map<string, Map<number, FilterSpec>>();
  #nextId = 1;
  #closed = false;
  readonly #url: URL;

  constructor(readonly size: number, private readonly log: Logger, options: MatchPoolOptions = {}) {
    this.#url = options.workerUrl ?? WORKER_URL;
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`match workers: expected an integer >= 1, got ${size}`);
    for (let i = 0; i < size; i++) {
      const slot = new WorkerSlot();
      this.#start(slot, i);
      this.#slots.push(slot);
    }
  }

  /** Binds a partition reader to the least loaded worker; give the number back with release(). */
  acquire(): number {
    let best = 0;
    for (let i = 1; i < this.#slots.length; i++) if (this.#slots[i]!.load < this.#slots[best]!.load) best = i;
    this.#slots[best]!.load++;
    return best;
  }

  release(worker: number): void {
    const s = this.#slots[worker];
    if (s && s.load > 0) s.load--;
  }

  /** Adds a filter of `topic` to every worker (before any batch posted after this call). */
  add(topic: string, slot: number, spec: FilterSpec): void {
    let m = this.#filters.get(topic);
    if (!m) this.#filters.set(topic, (m = new Map()));
    m.set(slot, spec);
    this.#broadcast({ type: "add", topic, slot, spec });
  }

  remove(topic: string, slot: number): void {
    const m = this.#filters.get(topic);
    if (!m?.delete(slot)) return;
    if (m.size === 0) this.#filters.delete(topic);
    this.#broadcast({ type: "remove", topic, slot });
  }

  /**
   * Matches a batch of `topic` on `worker` against the filters added before
   * this call. Rejects with MatchWorkerError if the worker failed or died
   * (the caller retries the batch; the worker has been replaced).
   */
  match(worker: number, topic: string, records: readonly SourceRecord[], parts: BatchParts): Promise<BatchMatches> {
    if (this.#closed) return Promise.reject(new MatchWorkerError("the matcher is closed"));
    const s = this.#slots[worker];
    if (!s) return Promise.reject(new RangeError(`no match worker ${worker}`));
    const id = this.#nextId++;
    const buf = packBatch(records, parts);
    return new Promise<BatchMatches>((resolve, reject) => {
      // Referenced only while a batch is out: the answer must keep the process alive, an idle worker not.
      if (s.pending.size === 0) s.worker.ref();
      s.pending.set(id, { resolve, reject });
      const msg: ToWorker = { type: "match", id, topic, count: records.length, buf };
      s.worker.postMessage(msg, [buf]);
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all(
      this.#slots.map(async (s) => {
        this.#failAll(s, "the matcher is closed");
        await s.worker.terminate();
      }),
    );
  }

  #broadcast(msg: ToWorker): void {
    for (const s of this.#slots) s.worker.postMessage(msg);
  }

  #start(slot: WorkerSlot, index: number): void {
    const worker = new Worker(this.#url);
    // Idle workers must not keep a process alive that is otherwise done.
    worker.unref();
    slot.worker = worker;
    worker.on("message", (msg: FromWorker) => {
      if (msg.type === "problem") {
        this.log.error("match worker problem", { worker: index, problem: msg.message });
        return;
      }
      const p = slot.pending.get(msg.id);
      if (!p) return;
      slot.pending.delete(msg.id);
      if (slot.pending.size === 0) worker.unref();
      if (msg.type === "matched") p.resolve({ pairs: msg.pairs, nonJson: msg.nonJson, badKey: msg.badKey });
      else p.reject(new MatchWorkerError(`match worker ${index} failed on a batch: ${msg.message}`));
    });
    worker.on("error", (err) => this.log.error("match worker crashed", { worker: index, err }));
    worker.on("exit", (code) => {
      if (this.#closed || slot.worker !== worker) return;
      this.log.error("match worker exited; starting another", { worker: index, code });
      this.#failAll(slot, `match worker ${index} exited with code ${code}`);
      this.#start(slot, index);
      // The new worker gets every filter before any batch is posted to it.
      for (const [topic, m] of this.#filters) {
        for (const [s, spec] of m) slot.worker.postMessage({ type: "add", topic, slot: s, spec } satisfies ToWorker);
      }
    });
  }

  #failAll(slot: WorkerSlot, why: string): void {
    const pending = [...slot.pending.values()];
    slot.pending.clear();
    for (const p of pending) p.reject(new MatchWorkerError(why));
  }
}
