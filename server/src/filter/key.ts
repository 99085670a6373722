// Message keys are JSON arrays of strings, e.g. ["tenant-7","user-42"]. A key
// filter is a prefix of that array ("*" matches any one element) and/or an RE2
// regex over the elements joined by "/".

import type { LinearRegex } from "./regex.js";

const decoder = new TextDecoder("utf-8", { fatal: true });

/** The key's elements if the bytes are UTF-8 JSON text of an array of strings; otherwise null. */
export function parseKey(bytes: Uint8Array | null): string[] | null {
  if (bytes === null || bytes.length < 2) return null;
  let text: string;
  let value: unknown;
  try {
    text = decoder.decode(bytes);
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (!Array.isArray(value)) return null;
  for (const e of value) if (typeof e !== "string") return null;
  return value as string[];
}

/** The element of `key_prefix` that matches any one key element. */
export const KEY_WILDCARD = "*";

export function matchesKeyPrefix(prefix: readonly string[], key: readonly string[]): boolean {
  if (key.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) {
    const p = prefix[i];
    if (p !== KEY_WILDCARD && p !== key[i]) return false;
  }
  return true;
}

export function matchesKeyRegex(re: LinearRegex, key: readonly string[]): boolean {
  return re.test(key.join("/"));
}
