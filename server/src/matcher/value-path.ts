// The scalars a parsed value holds at one dotted path, as the filter index
// needs them: every string, number and boolean that a query condition on that
// path could compare with (a superset of what the predicate sees), found
// without closures, key strings or recursion.
//
// Resolution follows MongoDB, generously:
// - an object step reads the field (inherited Object.prototype members are
//   functions or objects, never scalars, so a plain read is safe);
// - at an array, a non-numeric segment applies to each element (documents
//   look the field up; a nested array is taken whole, as mingo does);
// - at an array, a numeric segment is both the element at that index and the
//   field of that name in each document element ("a.0" matches {a: [5]} and
//   {a: [{"0": 5}]}); digits with leading zeros index too ("01" is 1);
// - at the end of the path, arrays are flattened completely.
// Every rule only adds scalars, so terms tested on these keys stay sound for
// both MongoDB semantics and the evaluator's own quirks.
//
// Cost: a path without numeric segments visits each node of the value at most
// once (a node is reached only from its parent, at one position in the
// path), so it is linear in the value whatever its shape. A numeric segment
// can reach a node twice (as an index and as a field name), which compounds
// on adversarial values ([{"0": [{"0": ...}]}] against "0.0.0..."), so such
// paths have a step budget: beyond it the path is "saturated" and the index
// treats it as holding every key (sound, only less precise).

export type Scalar = string | number | boolean;

/** Steps a path with numeric segments may take on one value before it is saturated. */
export const NUMERIC_PATH_STEP_BUDGET = 100_000;

const DIGITS = /^[0-9]+$/;

/**
 * The same string, internalized (as property names are): a keyed load with
 * a name V8 has not internalized must look it up in the string table first,
 * which costs more than the load.
 */
export function internalize(s: string): string {
  return Object.keys({ [s]: 0 })[0] ?? s;
}

// One explicit stack for every walk (the index is used by one thread at a time).
const nodeStack: unknown[] = [];
const levelStack: number[] = [];

export class ValuePath {
  readonly path: string;
  readonly segments: readonly string[];
  /** Per segment: the array index it also means (digits), else -1. */
  readonly #indexes: readonly number[];
  readonly #hasNumeric: boolean;

  /** The value the keys below were extracted from (an epoch of the index). */
  epoch = 0;
  /** The scalars at the path: keys[0, keyCount) (duplicates possible; the array is reused). */
  readonly keys: Scalar[] = [];
  keyCount = 0;
  /** Any number among the keys; then the largest and the smallest. */
  hasNumber = false;
  maxNumber = 0;
  minNumber = 0;
  /** The walk ran out of budget: treat the path as holding every key. */
  saturated = false;
  /**
   * The path ran through objects only, to a scalar or to nothing: the keys
   * are the one value MongoDB compares (no array rules applied), so an exact
   * condition on them decides the query (filter/index-term.ts).
   */
  plain = true;

  constructor(path: string) {
    this.path = path;
    this.segments = path.split(".").map(internalize);
    this.#indexes = this.segments.map((s) => (DIGITS.test(s) ? Number(s) : -1));
    this.#hasNumeric = this.#indexes.some((i) => i >= 0);
  }

  /** Extracts the keys of `root` (a JSON object, not an array) once per epoch. */
  extract(root: object, epoch: number): void {
    if (this.epoch === epoch) return;
    this.epoch = epoch;
    this.keyCount = 0;
    this.hasNumber = false;
    this.saturated = false;
    this.plain = true;
    // Fast path: plain objects down to the last segment (no stack).
    const segs = this.segments;
    const last = segs.length - 1;
    let node = root as Record<string, unknown>;
    for (let j = 0; j < last; j++) {
      const child = node[segs[j]!];
      if (typeof child !== "object" || child === null) return; // missing, or a scalar: nothing below
      if (Array.isArray(child)) {
        this.#walk(child, j + 1);
        return;
      }
      node = child as Record<string, unknown>;
    }
    const v = node[segs[last]!];
    if (typeof v === "object" && v !== null) {
      if (Array.isArray(v)) this.#walk(v, last + 1); // flattened
      return;
    }
    this.#add(v);
  }

  #add(v: unknown): void {
    switch (typeof v) {
      case "number":
        if (!this.hasNumber) {
          this.hasNumber = true;
          this.maxNumber = v;
          this.minNumber = v;
        } else if (v > this.maxNumber) this.maxNumber = v;
        else if (v < this.minNumber) this.minNumber = v;
        break;
      case "string":
      case "boolean":
        break;
      default:
        return; // undefined, null, functions: no equality or numeric term holds on them
    }
    // Overwrite in place (setting `length` to reset the array costs more than the whole lookup).
    const keys = this.keys;
    if (this.keyCount < keys.length) keys[this.keyCount] = v;
    else keys.push(v);
    this.keyCount++;
  }

  /** The general walk from an array `start` at segment `level` (level === n: flatten). */
  #walk(start: unknown, level: number): void {
    this.plain = false;
    const segs = this.segments;
    const n = segs.length;
    const indexes = this.#indexes;
    const budgeted = this.#hasNumeric;
    const base = nodeStack.length;
    let steps = 0;
    nodeStack.push(start);
    levelStack.push(level);
    while (nodeStack.length > base) {
      const node = nodeStack.pop();
      const j = levelStack.pop()!;
      if (budgeted && ++steps > NUMERIC_PATH_STEP_BUDGET) {
        this.saturated = true;
        nodeStack.length = base;
        levelStack.length = base;
        return;
      }
      if (typeof node !== "object" || node === null) {
        if (j === n) this.#add(node);
        continue;
      }
      if (!Array.isArray(node)) {
        if (j === n) continue; // a document at the end of the path: no scalar
        const child = (node as Record<string, unknown>)[segs[j]!];
        if (child === undefined) continue;
        if (j + 1 === n && typeof child !== "object") this.#add(child);
        else if (typeof child === "object" && child !== null) {
          nodeStack.push(child);
          levelStack.push(j + 1);
        }
        continue;
      }
      // An array.
      if (j === n) {
        for (const e of node) {
          if (typeof e === "object" && e !== null) {
            if (Array.isArray(e)) {
              nodeStack.push(e);
              levelStack.push(n);
            }
          } else {
            this.#add(e);
          }
        }
        continue;
      }
      const index = indexes[j]!;
      if (index >= 0) {
        // The element at that index, and the field of that name in document elements.
        if (index < node.length) {
          nodeStack.push(node[index]);
          levelStack.push(j + 1);
        }
        for (const e of node) {
          if (typeof e === "object" && e !== null && !Array.isArray(e)) {
            nodeStack.push(e);
            levelStack.push(j);
          }
        }
      } else {
        // The segment applies to each element; a nested array is taken whole.
        for (const e of node) {
          if (typeof e === "object" && e !== null) {
            nodeStack.push(e);
            levelStack.push(Array.isArray(e) ? n : j);
          }
        }
      }
    }
  }
}
