// JSON text from filters: size-limited parsing, a structural check of the
// parsed tree, and the canonical (key-sorted) serialisation.

import { FilterError, type FilterField } from "./errors.js";

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

export function isJsonObject(v: unknown): v is JsonObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** `location` + `.name` for an object member. */
export function member(location: string, name: string): string {
  return `${location}.${name}`;
}

/** `location` + `[i]` for an array element. */
export function element(location: string, i: number): string {
  return `${location}[${i}]`;
}

/**
 * Parses JSON text of at most `maxBytes` UTF-8 bytes, then checks the tree:
 * nesting depth at most `maxDepth`, finite numbers only (1e999 would parse to
 * Infinity and serialise as null), and no `__proto__` member names.
 */
export function parseJsonText(text: string, field: FilterField, maxBytes: number, maxDepth: number): JsonValue {
  const bytes = Buffer.byteLength(text, "utf8");
  if (bytes > maxBytes) {
    throw new FilterError(field, field, `too long: ${bytes} bytes (limit ${maxBytes} bytes = ${maxBytes / 1024} KiB)`);
  }
  let value: JsonValue;
  try {
    value = JSON.parse(text) as JsonValue;
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    throw new FilterError(field, field, `not valid JSON: ${msg.length > 200 ? `${msg.slice(0, 200)}...` : msg}`);
  }
  checkTree(value, field, field, 1, maxDepth);
  return value;
}

function checkTree(v: JsonValue, field: FilterField, location: string, depth: number, maxDepth: number): void {
  if (typeof v === "number") {
    if (!Number.isFinite(v)) throw new FilterError(field, location, "number out of range");
    return;
  }
  if (typeof v !== "object" || v === null) return;
  if (depth > maxDepth) {
    throw new FilterError(field, location, `nested too deeply (limit: depth ${maxDepth})`);
  }
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) checkTree(v[i] as JsonValue, field, element(location, i), depth + 1, maxDepth);
    return;
  }
  for (const k of Object.keys(v)) {
    if (k === "__proto__") throw new FilterError(field, location, `the name "__proto__" is not allowed`);
    checkTree(v[k] as JsonValue, field, member(location, k), depth + 1, maxDepth);
  }
}

/** Sorts by UTF-16 code units, independent of locale. */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Deterministic JSON: object members sorted by name (recursively), arrays in
 * order, no whitespace. Unlike JSON.stringify it does not depend on property
 * insertion order (which puts integer-like names first).
 */
export function canonicalJson(v: unknown): string {
  if (v === null || typeof v !== "object") {
    const s = JSON.stringify(v);
    if (s === undefined) throw new TypeError(`canonicalJson: not JSON: ${typeof v}`);
    return s;
  }
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(",")}]`;
  const obj = v as Record<string, unknown>;
  const keys = Object.keys(obj).sort(compareStrings);
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(",")}}`;
}
