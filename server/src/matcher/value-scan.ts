// Reads only the parts of a JSON value that the filter index looks at,
// straight from the bytes. JSON.parse builds every string, number, object
// and array of a record (and needs the bytes decoded first); the index reads
// a handful of paths. This scanner validates the whole text, as the fatal
// UTF-8 decoder and JSON.parse together would, but builds only the values on
// the index's paths: a partial object holding, along every path of a
// PathTrie, exactly what JSON.parse would have put there. Everything else is
// skipped. A filter index given the partial object finds the same candidates
// as with the parsed value (it reads values only through its paths), so
// JSON.parse runs only for records with a candidate whose predicate must run.
//
// Outcomes: the partial object; INVALID when the fatal decoder or JSON.parse
// would reject the bytes (the record is not JSON); FALLBACK when the value
// is JSON but not an object (the caller parses it as before). The
// equivalence with decode + JSON.parse is checked by a randomised
// differential test (server/test/matcher/value-scan.test.ts).
//
// What JSON.parse does and the scanner copies: a leading UTF-8 BOM is
// dropped (by the decoder), whitespace is space, tab, CR and LF, a duplicate
// key's last value wins, "__proto__" is an ordinary key (the partial objects
// have no prototype), nesting is unlimited (an explicit stack).

/** The paths the index reads, as a tree of segments. */
export class PathTrie {
  /** A path ends here: the value at this node is needed whole. */
  whole = false;
  readonly children = new Map<string, PathTrie>();
  /** The children's names as bytes (UTF-8), for comparing keys without making strings. */
  keys: Uint8Array[] = [];
  nodes: PathTrie[] = [];

  static of(paths: Iterable<string>): PathTrie {
    const root = new PathTrie();
    for (const p of paths) {
      let n = root;
      for (const seg of p.split(".")) {
        let c = n.children.get(seg);
        if (!c) {
          n.children.set(seg, (c = new PathTrie()));
          n.keys.push(new TextEncoder().encode(seg));
          n.nodes.push(c);
        }
        n = c;
      }
      n.whole = true;
    }
    return root;
  }
}

export const INVALID = 0;
export const FALLBACK = 1;
export type ScanResult = Record<string, unknown> | typeof INVALID | typeof FALLBACK;

/** Thrown inside the scanner for invalid JSON (caught at the top: never escapes). */
const BAD = new Error("not JSON");

const enum C {
  QUOTE = 0x22,
  BACKSLASH = 0x5c,
  COMMA = 0x2c,
  COLON = 0x3a,
  LBRACE = 0x7b,
  RBRACE = 0x7d,
  LBRACKET = 0x5b,
  RBRACKET = 0x5d,
  MINUS = 0x2d,
  PLUS = 0x2b,
  DOT = 0x2e,
  ZERO = 0x30,
  NINE = 0x39,
}

/** Hex digits for \uXXXX. */
const HEX = new Uint8Array(256);
for (const c of "0123456789abcdefABCDEF") HEX[c.charCodeAt(0)] = 1;
/** The characters that may follow a backslash. */
const ESCAPE = new Uint8Array(256);
for (const c of '"\\/bfnrtu') ESCAPE[c.charCodeAt(0)] = 1;

export class ValueScanner {
  #b: Buffer = Buffer.alloc(0);
  #i = 0;
  #end = 0;
  /** Of the string just scanned: whether it had escapes / bytes above 0x7f. */
  #escaped = false;
  #wide = false;
  /** Container kinds of the value being skipped (1 object, 2 array), grown as needed. */
  #stack = new Uint8Array(64);

  /** Scans bytes [start, end) of `b`. */
  scan(b: Buffer, start: number, end: number, trie: PathTrie): ScanResult {
    this.#b = b;
    this.#end = end;
    // The decoder drops one leading BOM.
    this.#i = end - start >= 3 && b[start] === 0xef && b[start + 1] === 0xbb && b[start + 2] === 0xbf ? start + 3 : start;
    try {
      this.#ws();
      if (this.#i >= this.#end) return INVALID;
      if (this.#b[this.#i] !== C.LBRACE) {
        this.#skipValue();
        this.#ws();
        return this.#i === this.#end ? FALLBACK : INVALID;
      }
      const out = this.#object(trie);
      this.#ws();
      return this.#i === this.#end ? out : INVALID;
    } catch (err) {
      if (err === BAD) return INVALID;
      throw err;
    }
  }

  /** At "{": the object's members on the trie's paths (a null-prototype object), the rest skipped. */
  #object(trie: PathTrie): Record<string, unknown> {
    const b = this.#b;
    const out = Object.create(null) as Record<string, unknown>;
    this.#i++;
    this.#ws();
    if (this.#peek() === C.RBRACE) {
      this.#i++;
      return out;
    }
    for (;;) {
      if (this.#peek() !== C.QUOTE) throw BAD;
      const keyStart = this.#i;
      this.#string();
      const node = this.#child(trie, keyStart + 1, this.#i - 1);
      // (Named now: the flags and the position are the key's.)
      const name = node === undefined ? "" : this.#escaped || this.#wide ? this.#keyName(keyStart) : b.toString("latin1", keyStart + 1, this.#i - 1);
      this.#ws();
      if (this.#peek() !== C.COLON) throw BAD;
      this.#i++;
      this.#ws();
      if (node === undefined) this.#skipValue();
      else out[name] = this.#wanted(node);
      this.#ws();
      const c = this.#peek();
      this.#i++;
      if (c === C.COMMA) {
        this.#ws();
        continue;
      }
      if (c === C.RBRACE) return out;
      throw BAD;
    }
  }

  /** The value at a trie node: whole (parsed) where a path ends or it is not an object, else partial. */
  #wanted(node: PathTrie): unknown {
    const c = this.#peek();
    if (c === C.LBRACE && !node.whole) return this.#object(node);
    if (c === C.QUOTE) {
      const start = this.#i;
      this.#string();
      const b = this.#b;
      return this.#escaped ? JSON.parse(b.toString("utf8", start, this.#i)) : b.toString(this.#wide ? "utf8" : "latin1", start + 1, this.#i - 1);
    }
    const start = this.#i;
    this.#skipValue();
    // Numbers, literals, arrays and whole objects: validated by the skip, built by JSON.parse (exactly as it would).
    return JSON.parse(this.#b.toString("utf8", start, this.#i));
  }

  /** The child of `trie` named by the key bytes [s, e) (a string just scanned), or undefined. */
  #child(trie: PathTrie, s: number, e: number): PathTrie | undefined {
    const keys = trie.keys;
    if (keys.length === 0) return undefined;
    if (this.#escaped || this.#wide) return trie.children.get(this.#keyName(s - 1));
    const b = this.#b;
    const len = e - s;
    outer: for (let k = 0; k < keys.length; k++) {
      const key = keys[k]!;
      if (key.length !== len) continue;
      for (let j = 0; j < len; j++) if (key[j] !== b[s + j]) continue outer;
      return trie.nodes[k];
    }
    return undefined;
  }

  /** The key whose opening quote is at `q` (it has escapes or non-ASCII bytes), as JSON.parse reads it. */
  #keyName(q: number): string {
    let e = q + 1;
    const b = this.#b;
    while (b[e] !== C.QUOTE) e += b[e] === C.BACKSLASH ? 2 : 1;
    return JSON.parse(b.toString("utf8", q, e + 1)) as string;
  }

  #peek(): number {
    if (this.#i >= this.#end) throw BAD;
    return this.#b[this.#i]!;
  }

  #ws(): void {
    const b = this.#b;
    let i = this.#i;
    while (i < this.#end) {
      const c = b[i]!;
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
      i++;
    }
    this.#i = i;
  }

  /** At '"': past the closing quote, validating escapes, control characters and UTF-8. */
  #string(): void {
    const b = this.#b;
    const end = this.#end;
    let i = this.#i + 1;
    let escaped = false;
    let wide = false;
    for (;;) {
      if (i >= end) throw BAD;
      const c = b[i]!;
      if (c === C.QUOTE) break;
      if (c < 0x20) throw BAD;
      if (c === C.BACKSLASH) {
        escaped = true;
        const d = i + 1 < end ? b[i + 1]! : 0;
        if (ESCAPE[d] !== 1) throw BAD;
        if (d === 0x75) {
          if (i + 5 >= end || HEX[b[i + 2]!] !== 1 || HEX[b[i + 3]!] !== 1 || HEX[b[i + 4]!] !== 1 || HEX[b[i + 5]!] !== 1) throw BAD;
          i += 6;
        } else i += 2;
        continue;
      }
      if (c < 0x80) {
        i++;
        continue;
      }
      wide = true;
      i = utf8(b, i, end);
    }
    this.#i = i + 1;
    this.#escaped = escaped;
    this.#wide = wide;
  }

  /** Past one value of any kind, validating it; containers with an explicit stack. */
  #skipValue(): void {
    let depth = 0;
    for (;;) {
      // A value.
      const c = this.#peek();
      if (c === C.QUOTE) this.#string();
      else if (c === C.LBRACE || c === C.LBRACKET) {
        this.#i++;
        this.#ws();
        const close = c === C.LBRACE ? C.RBRACE : C.RBRACKET;
        if (this.#peek() === close) this.#i++;
        else {
          this.#push(depth++, c === C.LBRACE ? 1 : 2);
          if (c === C.LBRACE) this.#memberName();
          continue;
        }
      } else if (c === C.MINUS || (c >= C.ZERO && c <= C.NINE)) this.#number();
      else this.#literal(c);
      // After a value: a separator or the end of containers.
      for (;;) {
        if (depth === 0) return;
        this.#ws();
        const kind = this.#stack[depth - 1]!;
        const d = this.#peek();
        this.#i++;
        if (d === C.COMMA) {
          this.#ws();
          if (kind === 1) this.#memberName();
          break;
        }
        if (d === (kind === 1 ? C.RBRACE : C.RBRACKET)) {
          depth--;
          continue;
        }
        throw BAD;
      }
    }
  }

  /** In an object being skipped: a member name and its colon. */
  #memberName(): void {
    if (this.#peek() !== C.QUOTE) throw BAD;
    this.#string();
    this.#ws();
    if (this.#peek() !== C.COLON) throw BAD;
    this.#i++;
    this.#ws();
  }

  #push(at: number, kind: number): void {
    if (at >= this.#stack.length) {
      const bigger = new Uint8Array(this.#stack.length * 2);
      bigger.set(this.#stack);
      this.#stack = bigger;
    }
    this.#stack[at] = kind;
  }

  /** JSON's number grammar: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
  #number(): void {
    const b = this.#b;
    const end = this.#end;
    let i = this.#i;
    if (b[i] === C.MINUS) i++;
    if (i >= end) throw BAD;
    if (b[i] === C.ZERO) i++;
    else if (b[i]! > C.ZERO && b[i]! <= C.NINE) while (i < end && b[i]! >= C.ZERO && b[i]! <= C.NINE) i++;
    else throw BAD;
    if (i < end && b[i] === C.DOT) {
      i++;
      const from = i;
      while (i < end && b[i]! >= C.ZERO && b[i]! <= C.NINE) i++;
      if (i === from) throw BAD;
    }
    if (i < end && (b[i] === 0x65 || b[i] === 0x45)) {
      i++;
      if (i < end && (b[i] === C.PLUS || b[i] === C.MINUS)) i++;
      const from = i;
      while (i < end && b[i]! >= C.ZERO && b[i]! <= C.NINE) i++;
      if (i === from) throw BAD;
    }
    this.#i = i;
  }

  /** true, false or null. */
  #literal(c: number): void {
    const b = this.#b;
    const i = this.#i;
    const word = c === 0x74 ? TRUE : c === 0x66 ? FALSE : c === 0x6e ? NULL : null;
    if (word === null || i + word.length > this.#end) throw BAD;
    for (let j = 1; j < word.length; j++) if (b[i + j] !== word[j]) throw BAD;
    this.#i = i + word.length;
  }
}

const TRUE = new TextEncoder().encode("true");
const FALSE = new TextEncoder().encode("false");
const NULL = new TextEncoder().encode("null");

/**
 * Past one UTF-8 sequence starting at b[i] (>= 0x80), as the WHATWG decoder
 * accepts it in fatal mode (no overlong forms, no surrogates, nothing above
 * U+10FFFF).
 */
function utf8(b: Buffer, i: number, end: number): number {
  const c = b[i]!;
  const cont = (k: number, lo = 0x80, hi = 0xbf) => {
    if (k >= end) throw BAD;
    const x = b[k]!;
    if (x < lo || x > hi) throw BAD;
  };
  if (c >= 0xc2 && c <= 0xdf) {
    cont(i + 1);
    return i + 2;
  }
  if (c >= 0xe0 && c <= 0xef) {
    cont(i + 1, c === 0xe0 ? 0xa0 : 0x80, c === 0xed ? 0x9f : 0xbf);
    cont(i + 2);
    return i + 3;
  }
  if (c >= 0xf0 && c <= 0xf4) {
    cont(i + 1, c === 0xf0 ? 0x90 : 0x80, c === 0xf4 ? 0x8f : 0xbf);
    cont(i + 2);
    cont(i + 3);
    return i + 4;
  }
  throw BAD;
}
