// CORS for Connect / gRPC-Web from browsers, as a wrapper around a Node
// request handler. The method and header lists come from @connectrpc/connect.

import { cors as connectCors } from "@connectrpc/connect";
import type { NodeRequestHandler } from "./listener.js";

export interface CorsOptions {
  /** Allowed origins, e.g. ["https://app.example"]; "*" (default) allows any. */
  allowedOrigins?: "*" | readonly string[];
  /** Request headers allowed in addition to Connect's (cors.allowedHeaders). */
  allowedHeaders?: readonly string[];
  /** Response headers exposed in addition to Connect's (cors.exposedHeaders). */
  exposedHeaders?: readonly string[];
  /** Methods allowed in addition to Connect's (cors.allowedMethods: POST, GET). */
  allowedMethods?: readonly string[];
  /** Access-Control-Max-Age of preflight answers, in seconds (default 7200). */
  maxAgeSeconds?: number;
}

/**
 * Wrap a handler with CORS: a preflight (OPTIONS with
 * Access-Control-Request-Method) from an allowed origin is answered 204 with
 * the allowed methods and headers (403 from another origin); every other
 * request goes to the handler, with Access-Control-Allow-Origin and
 * Access-Control-Expose-Headers set when the origin is allowed.
 */
export function withCors(handler: NodeRequestHandler, options: CorsOptions = {}): NodeRequestHandler {
  const origins = options.allowedOrigins ?? "*";
  const anyOrigin = origins === "*" || origins.includes("*");
  const allowed = new Set(origins === "*" ? [] : origins);
  const methods = unique([...connectCors.allowedMethods, ...(options.allowedMethods ?? [])]).join(", ");
  const allowHeaders = unique([...connectCors.allowedHeaders, ...(options.allowedHeaders ?? [])]).join(", ");
  const exposeHeaders = unique([...connectCors.exposedHeaders, ...(options.exposedHeaders ?? [])]).join(", ");
  const maxAge = String(options.maxAgeSeconds ?? 7200);

  /** The Access-Control-Allow-Origin value for a request, or undefined if not allowed. */
  const allowOrigin = (origin: string | undefined): string | undefined => {
    if (anyOrigin) return "*";
    return origin !== undefined && allowed.has(origin) ? origin : undefined;
  };

  return (req, res) => {
    const origin = header(req.headers.origin);
    const acao = allowOrigin(origin);
    if (req.method === "OPTIONS" && header(req.headers["access-control-request-method"]) !== undefined) {
      const headers: Record<string, string> = {};
      if (!anyOrigin) headers["vary"] = "Origin";
      if (acao === undefined) {
        res.writeHead(403, headers);
        res.end();
        return;
      }
      Object.assign(headers, {
        "access-control-allow-origin": acao,
        "access-control-allow-methods": methods,
        "access-control-allow-headers": allowHeaders,
        "access-control-max-age": maxAge,
        "content-length": "0",
      });
      res.writeHead(204, headers);
      res.end();
      return;
    }
    if (!anyOrigin) res.setHeader("vary", "Origin");
    if (acao !== undefined) {
      res.setHeader("access-control-allow-origin", acao);
      res.setHeader("access-control-expose-headers", exposeHeaders);
    }
    handler(req, res);
  };
}

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function unique(values: readonly string[]): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const v of values) {
    const key = v.toLowerCase();
    if (!seen.has(key)) {
      seen.add(key);
      out.push(v);
    }
  }
  return out;
}
