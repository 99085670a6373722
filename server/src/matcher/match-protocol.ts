// Messages between the matcher (main thread) and its match workers. A
// worker's port is FIFO, which is what keeps filter changes and batches in
// order: a filter added before a batch is posted is applied before it.
import type { FilterSpec } from "../filter/index.js";

export type ToWorker =
  | { readonly type: "add"; readonly topic: string; readonly slot: number; readonly spec: FilterSpec }
  | { readonly type: "remove"; readonly topic: string; readonly slot: number }
  | { readonly type: "match"; readonly id: number; readonly topic: string; readonly count: number; readonly buf: ArrayBuffer };

export type FromWorker =
  | { readonly type: "matched"; readonly id: number; readonly pairs: Uint32Array; readonly nonJson: number; readonly badKey: number }
  | { readonly type: "failed"; readonly id: number; readonly message: string }
  | { readonly type: "problem"; readonly message: string };
