// The browser console: the files Vite built from server/web (into
// server/dist/web), served at "/" from memory. Read once at start: the build
// is a few hundred kilobytes, and a file server that follows paths from
// requests into the disk is a thing to get wrong.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { createHash } from "node:crypto";
import { extname, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";

type Req = IncomingMessage | Http2ServerRequest;
type Res = ServerResponse | Http2ServerResponse;

/** Where `npm run build` puts the console, relative to this module in server/dist/src/api/. */
export const CONSOLE_DIR = fileURLToPath(new URL("../../web/", import.meta.url));

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".json": "application/json",
  ".map": "application/json",
  ".txt": "text/plain; charset=utf-8",
  ".webmanifest": "application/manifest+json",
};

// The page talks only to its own origin and loads nothing from elsewhere.
const CSP = "default-src 'self'; connect-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

interface StaticFile {
  readonly body: Buffer;
  readonly type: string;
  readonly etag: string;
  /** Vite names its assets by content hash: they never change under one name. */
  readonly immutable: boolean;
}

export interface ConsoleFiles {
  /** Serves the request and returns true if it is for a console file. */
  handle(req: Req, res: Res, pathname: string): boolean;
  readonly built: boolean;
}

export function loadConsole(dir: string = CONSOLE_DIR): ConsoleFiles {
  const files = new Map<string, StaticFile>();
  try {
    for (const path of walk(dir)) {
      const body = readFileSync(path);
      const name = "/" + relative(dir, path).split(sep).join("/");
      files.set(name, {
        body,
        type: TYPES[extname(path)] ?? "application/octet-stream",
        etag: `"${createHash("sha256").update(body).digest("base64url").slice(0, 22)}"`,
        immutable: name.startsWith("/assets/"),
      });
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  const index = files.get("/index.html");
  return {
    built: index !== undefined,
    handle(req, res, pathname) {
      const file = pathname === "/" ? index : files.get(pathname);
      if (pathname === "/" && !file) {
        res.writeHead(404, { "content-type": "text/plain; charset=utf-8" });
        res.end(`The console is not built (no ${join(dir, "index.html")}): run \`npm run build\`, then reload.\n`);
        return true;
      }
      if (!file) return false;
      const headers: Record<string, string> = {
        "content-type": file.type,
        etag: file.etag,
        "cache-control": file.immutable ? "public, max-age=31536000, immutable" : "no-cache",
        "x-content-type-options": "nosniff",
      };
      if (file.type.startsWith("text/html")) {
        headers["content-security-policy"] = CSP;
        headers["referrer-policy"] = "no-referrer";
      }
      if (req.headers["if-none-match"] === file.etag) {
        res.writeHead(304, headers);
        res.end();
        return true;
      }
      headers["content-length"] = String(file.body.length);
      res.writeHead(200, headers);
      if (req.method === "HEAD") res.end();
      else res.end(file.body);
      return true;
    },
  };
}

function* walk(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* walk(path);
    else yield path;
  }
}
