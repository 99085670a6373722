// The value scanner against what it stands in for: the fatal UTF-8 decoder
// and JSON.parse. On generated JSON (every way of writing strings and
// numbers, duplicate keys, odd key names, deep nesting, a BOM) and on
// corruptions of it, the scanner must reject exactly what they reject, fall
// back exactly for the values that are not objects, and otherwise hold, on
// every path of the trie, what JSON.parse holds there: the filter index's
// value paths extract the same keys from both.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { FALLBACK, INVALID, PathTrie, ValueScanner } from "../../src/matcher/value-scan.js";
import { ValuePath } from "../../src/matcher/value-path.js";
import { mulberry32 } from "../../src/util/prng.js";

const decoder = new TextDecoder("utf-8", { fatal: true });
const reference = (bytes: Buffer): unknown => {
  try {
    return { ok: true, value: JSON.parse(decoder.decode(bytes)) as unknown };
  } catch {
    return { ok: false };
  }
};
const isObject = (v: unknown) => typeof v === "object" && v !== null && !Array.isArray(v);

const KEYS = ["a", "b", "c", "0", "1", "__proto__", "é", 'k"q', "constructor", "toString", "ab", "ba", "日本"];

function generator(seed: number) {
  const rand = mulberry32(seed);
  const int = (n: number) => Math.floor(rand() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  const ws = () => (rand() < 0.8 ? "" : pick([" ", "\n", "\t", "\r\n  ", "  "]));
  /** A string written in one of its JSON forms. */
  const str = (s: string): string => {
    let out = '"';
    for (const ch of s) {
      const code = ch.codePointAt(0)!;
      const r = rand();
      if (ch === '"' || ch === "\\") out += "\\" + ch;
      else if (code < 0x20) out += r < 0.5 ? "\\u" + code.toString(16).padStart(4, "0") : ({ "\n": "\\n", "\t": "\\t", "\r": "\\r", "\b": "\\b", "\f": "\\f" } as Record<string, string>)[ch] ?? "\\u" + code.toString(16).padStart(4, "0");
      else if (r < 0.08 && code <= 0xffff) out += "\\u" + code.toString(16).padStart(4, rand() < 0.5 ? "0" : "0").toUpperCase();
      else if (r < 0.1 && ch === "/") out += "\\/";
      else out += ch;
    }
    return out + '"';
  };
  const text = () => {
    const parts = ["x", "y", "é", "日", "😀", "/", '"', "\\", "\n", "\u0001", " ", "a b", "\u2028", "\uFEFF"];
    let s = "";
    for (let i = int(6); i > 0; i--) s += pick(parts);
    return s;
  };
  const num = (): string =>
    pick([
      () => String(int(1000)),
      () => String(-int(1000)),
      () => "-0",
      () => `${int(100)}.${int(1000)}`,
      () => `${int(10)}e${int(5)}`,
      () => `${int(10)}E+${int(3)}`,
      () => `${int(10)}.5e-${int(3)}`,
      () => "1e400",
      () => "123456789012345678901234567890",
      () => "0.1",
    ])();
  const value = (depth: number): string => {
    const r = rand();
    if (depth > 4 || r < 0.35) return pick([() => str(text()), num, () => "true", () => "false", () => "null"])();
    if (r < 0.6) {
      const n = int(4);
      const items = Array.from({ length: n }, () => ws() + value(depth + 1) + ws());
      return "[" + (n === 0 ? ws() : items.join(",")) + "]";
    }
    return object(depth + 1);
  };
  const object = (depth: number): string => {
    const n = int(5);
    const members = Array.from({ length: n }, () => ws() + str(pick(KEYS)) + ws() + ":" + ws() + value(depth) + ws());
    return "{" + (n === 0 ? ws() : members.join(",")) + "}";
  };
  const top = (): string => {
    const r = rand();
    const body = r < 0.85 ? object(0) : r < 0.9 ? "[" + value(1) + "]" : r < 0.95 ? value(5) : "[".repeat(3000) + "]".repeat(3000);
    return (rand() < 0.05 ? "\uFEFF" : "") + ws() + body + ws();
  };
  /** Breaks the bytes in one of the ways a writer or a wire does. */
  const corrupt = (b: Buffer): Buffer => {
    const at = int(b.length + 1);
    switch (int(9)) {
      case 0:
        return b.subarray(0, at);
      case 1: {
        const c = Buffer.from(b);
        if (c.length > 0) c[Math.min(at, c.length - 1)] = pick([0x22, 0x2c, 0x7d, 0x5d, 0x3a, 0x5c, 0x20, 0x30, 0x2d, 0x2e, 0x65]);
        return c;
      }
      case 2:
        return Buffer.concat([b.subarray(0, at), Buffer.from(pick([[0xc0, 0x80], [0xed, 0xa0, 0x80], [0xf5, 0x80, 0x80, 0x80], [0xe2, 0x82], [0xff], [0x80], [0xf0, 0x8f, 0xbf, 0xbf], [0xf4, 0x90, 0x80, 0x80]])), b.subarray(at)]);
      case 3:
        return Buffer.concat([b.subarray(0, at), Buffer.from([int(0x20)]), b.subarray(at)]);
      case 4:
        return Buffer.concat([b, Buffer.from(pick(["x", ",", "}", " 1", "\u0000"]))]);
      case 5:
        return Buffer.concat([b.subarray(0, at), Buffer.from(pick([",", ":", '"', "01", "00", "-00", "0.0e", "-", "1.", "1e", "tru", "nul", "\\u12", "\\" + String.fromCharCode(0x21 + int(94))])), b.subarray(at)]);
      case 6:
        return Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf, 0xef, 0xbb, 0xbf]), b]);
      case 7:
        return Buffer.from(b.toString("utf8").replace(/\\u([0-9A-Fa-f]{4})/, "\\u$1".slice(0, 4)));
      default:
        return Buffer.alloc(0);
    }
  };
  const paths = (): string[] =>
    Array.from({ length: 1 + int(5) }, () => Array.from({ length: 1 + int(3) }, () => pick(KEYS)).join("."));
  return { top, corrupt, paths, rand };
}

/** What the index would extract at `path`, from a value. */
function extracted(path: string, v: object) {
  const p = new ValuePath(path);
  p.extract(v, 1);
  return { keys: p.keys.slice(0, p.keyCount).map((k) => (typeof k === "number" && Object.is(k, -0) ? "-0" : k)), plain: p.plain, saturated: p.saturated, hasNumber: p.hasNumber };
}

describe("ValueScanner", () => {
  it("agrees with the fatal decoder and JSON.parse on 100,000 generated and corrupted values", () => {
    const seed = Number(process.env.GREP_STREAMS_SCAN_SEED ?? 7);
    const total = Number(process.env.GREP_STREAMS_SCAN_COUNT ?? 100_000);
    const g = generator(seed);
    const scanner = new ValueScanner();
    const counts = { objects: 0, fallback: 0, invalid: 0, pathsCompared: 0 };
    for (let n = 0; n < total; n++) {
      let bytes: Buffer = Buffer.from(g.top(), "utf8");
      if (g.rand() < 0.4) bytes = g.corrupt(bytes);
      // Inside a larger buffer, as a packed batch holds it.
      const pad = Math.floor(g.rand() * 4);
      const host = Buffer.concat([Buffer.from("]]]]".slice(0, pad)), bytes, Buffer.from("{{")]);
      const paths = g.paths();
      const trie = PathTrie.of(paths);
      const got = scanner.scan(host, pad, pad + bytes.length, trie);
      const want = reference(bytes) as { ok: boolean; value?: unknown };
      const show = () => `seed ${seed} #${n}: ${JSON.stringify(bytes.toString("latin1").slice(0, 300))} paths ${JSON.stringify(paths)}`;
      if (!want.ok) {
        assert.equal(got, INVALID, `not JSON, but the scanner says ${typeof got === "object" ? "an object" : got}: ${show()}`);
        counts.invalid++;
        continue;
      }
      if (!isObject(want.value)) {
        assert.equal(got, FALLBACK, `JSON but not an object: ${show()}`);
        counts.fallback++;
        continue;
      }
      if (typeof got !== "object") assert.fail(`an object, but the scanner says ${got}: ${show()}`);
      counts.objects++;
      for (const p of paths) {
        assert.deepEqual(extracted(p, got), extracted(p, want.value as object), `path ${p}: ${show()}`);
        counts.pathsCompared++;
      }
    }
    assert.ok(counts.objects > total / 4 && counts.invalid > total / 7 && counts.fallback > total / 40, JSON.stringify(counts));
  });

  it("builds only what the paths reach, with the last of duplicate keys and __proto__ as a plain key", () => {
    const scanner = new ValueScanner();
    const text = '{"a":{"x":1,"y":[1,{"z":2}]},"skip":{"deep":[[[{"q":"\\u0041"}]]]},"a":{"x":2,"w":"é"},"__proto__":{"p":1},"b":"t\\u0065xt","c":[1,2]}';
    const got = scanner.scan(Buffer.from(text), 0, Buffer.byteLength(text), PathTrie.of(["a.x", "__proto__.p", "b", "c"]));
    assert.ok(typeof got === "object");
    assert.equal(Object.getPrototypeOf(got), null);
    assert.deepEqual(Object.keys(got), ["a", "__proto__", "b", "c"]);
    assert.deepEqual({ ...(got.a as object) }, { x: 2 }, "the last 'a' wins, and only its path is kept");
    assert.deepEqual({ ...(got["__proto__"] as object) }, { p: 1 });
    assert.equal(got.b, "text");
    assert.deepEqual(got.c, [1, 2]);
  });
});
