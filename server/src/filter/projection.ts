// MongoDB projections restricted to inclusion or exclusion of field paths
// ({"a": 1, "b.c": 1} or {"a": 0}). Compiled into a function that builds a
// new value and never mutates its input (a caller may share one parsed value
// among several subscribers).

import { FilterError } from "./errors.js";
import { canonicalJson, compareStrings, isJsonObject, member, parseJsonText, type JsonObject } from "./json.js";
import { MAX_PROJECTION_BYTES } from "./limits.js";

export type Projector = (value: unknown) => unknown;

interface Node {
  /** The path ends here: include (or exclude) the whole value. */
  leaf: boolean;
  readonly children: Map<string, Node>;
}

export interface CompiledProjection {
  /** Normalised JSON text (members sorted, values 1 or 0), "" for none. */
  readonly text: string;
  readonly project: Projector;
}

const IDENTITY: CompiledProjection = { text: "", project: (v) => v };

function fail(location: string, problem: string): never {
  throw new FilterError("projection", location, problem);
}

/** Parses, checks and compiles a projection; "" and "{}" mean none. */
export function compileProjection(text: string): CompiledProjection {
  if (text.trim() === "") return IDENTITY;
  const spec = parseJsonText(text, "projection", MAX_PROJECTION_BYTES, 32);
  if (!isJsonObject(spec)) fail("projection", "must be a JSON object like {\"a\": 1, \"b.c\": 1} or {\"a\": 0}");
  const paths = Object.keys(spec).sort(compareStrings);
  if (paths.length === 0) return IDENTITY;

  const entries: Array<[string, 0 | 1]> = [];
  for (const path of paths) {
    const at = member("projection", path);
    const v = spec[path];
    if (path.split(".").some((s) => s.startsWith("$"))) {
      fail(at, "operators are not supported in projections; only inclusion (1) or exclusion (0) of field paths");
    }
    if (v !== 0 && v !== 1 && v !== true && v !== false) {
      fail(
        at,
        `only 0, 1, true or false are allowed (inclusion or exclusion of fields), not ${JSON.stringify(v)}; operators and expressions are not supported`,
      );
    }
    if (path.split(".").some((s) => s === "")) fail(at, `invalid field path ${JSON.stringify(path)}: empty path segment`);
    entries.push([path, v === 1 || v === true ? 1 : 0]);
  }
  const included = entries.filter(([, m]) => m === 1);
  let excluded = entries.filter(([, m]) => m === 0);
  // MongoDB's one exception to "no mixing": {"a": 1, "_id": 0}. Values have
  // no implicit _id here (an inclusion never adds one), so that exclusion
  // changes nothing and is dropped.
  if (included.length > 0 && excluded.length === 1 && excluded[0]?.[0] === "_id") excluded = [];
  if (included.length > 0 && excluded.length > 0) {
    fail(
      "projection",
      `cannot mix inclusion and exclusion (${JSON.stringify(included[0]?.[0])} is included, ${JSON.stringify(excluded[0]?.[0])} excluded)`,
    );
  }
  const mode = included.length > 0 ? 1 : 0;
  const chosen = mode === 1 ? included : excluded;
  const root: Node = { leaf: false, children: new Map() };
  const normalised: JsonObject = {};
  for (const [path, m] of chosen) {
    insert(root, path.split("."), path);
    normalised[path] = m;
  }
  const project = mode === 1 ? (v: unknown) => include(v, root, 0) : (v: unknown) => exclude(v, root, 0);
  return {
    text: canonicalJson(normalised),
    // Only JSON objects are projected; other values are delivered as they are.
    project: (v) => (isJsonObject(v) ? project(v) : v),
  };
}

function insert(root: Node, segments: string[], path: string): void {
  let node = root;
  for (let i = 0; i < segments.length; i++) {
    if (node.leaf) fail("projection", `path collision: ${JSON.stringify(path)} is inside ${JSON.stringify(segments.slice(0, i).join("."))}`);
    const s = segments[i] as string;
    let next = node.children.get(s);
    if (!next) {
      next = { leaf: false, children: new Map() };
      node.children.set(s, next);
    }
    node = next;
  }
  if (node.children.size > 0) fail("projection", `path collision: ${JSON.stringify(path)} contains another projected path`);
  node.leaf = true;
}

/** Sets an own data property even for the name "__proto__" (which JSON.parse creates as an own member). */
function put(obj: Record<string, unknown>, k: string, v: unknown): void {
  if (k === "__proto__") Object.defineProperty(obj, k, { value: v, enumerable: true, writable: true, configurable: true });
  else obj[k] = v;
}

/**
 * Arrays nested directly in arrays deeper than this are dropped from the
 * output (a hostile value could nest them far enough to overflow the stack).
 */
const MAX_ARRAY_NESTING = 64;

/** Keeps only the paths of `node`; arrays apply it to each element (dropping non-objects), as MongoDB does. */
function include(v: unknown, node: Node, nesting: number): unknown {
  if (Array.isArray(v)) {
    const out: unknown[] = [];
    if (nesting >= MAX_ARRAY_NESTING) return out;
    for (const x of v) if (Array.isArray(x) || isJsonObject(x)) out.push(include(x, node, nesting + 1));
    return out;
  }
  const obj = v as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(obj)) {
    const child = node.children.get(k);
    if (!child) continue;
    const x = obj[k];
    if (child.leaf) put(out, k, x);
    else if (Array.isArray(x) || isJsonObject(x)) put(out, k, include(x, child, 0));
  }
  return out;
}

/** Removes the paths of `node`; arrays apply it to each object element, keeping the others. */
function exclude(v: unknown, node: Node, nesting: number): unknown {
  if (Array.isArray(v)) {
    if (nesting >= MAX_ARRAY_NESTING) return [];
    return v.map((x) => (Array.isArray(x) || isJsonObject(x) ? exclude(x, node, nesting + 1) : x));
  }
  const obj = v as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(obj)) {
    const child = node.children.get(k);
    const x = obj[k];
    if (!child) put(out, k, x);
    else if (child.leaf) continue;
    else put(out, k, Array.isArray(x) || isJsonObject(x) ? exclude(x, child, 0) : x);
  }
  return out;
}
