// What the handlers served outside Connect-ES (the SSE shim, the lean
// Subscribe and Produce handlers) need of a request and of its response, so
// that they serve an HTTP/2 stream through Node's core API as well as
// through the compatibility API's request/response pair.
//
// Why the core API: the compatibility layer keeps, per open stream, an
// Http2ServerRequest and an Http2ServerResponse with their stream states,
// listeners, timeout closures and three null-prototype header objects
// (request, response, trailers: dictionary-mode objects of 150-450 bytes
// each). Measured with 10,000 open streams on Node 20: 3.9 KB of heap and
// 9.7 KB of RSS per stream with it, 1.4 KB and 6.9 KB without
// (docs/benchmarks.md, "Issue 9, fourth pass"). A subscriber holds its stream
// for hours, so that is most of what a subscriber costs the server.

import { constants, type IncomingHttpHeaders, type ServerHttp2Stream } from "node:http2";

/** The request line and headers (IncomingMessage and Http2ServerRequest have them; see coreIncoming()). */
export interface Incoming {
  readonly method?: string | undefined;
  readonly headers: IncomingHttpHeaders;
  readonly httpVersionMajor: number;
}

/** What a handler does with its response (ServerResponse and Http2ServerResponse have it; see StreamReply). */
export interface Reply {
  readonly headersSent: boolean;
  readonly writableEnded: boolean;
  readonly destroyed: boolean;
  writeHead(status: number, headers: Record<string, string | number>): unknown;
  write(chunk: string | Uint8Array): boolean;
  end(chunk?: string | Uint8Array): unknown;
  addTrailers(trailers: Record<string, string>): void;
  on(event: "close" | "drain", listener: () => void): unknown;
  off(event: "close" | "drain", listener: () => void): unknown;
}

/** The request of an HTTP/2 stream taken before the compatibility layer. */
export function coreIncoming(headers: IncomingHttpHeaders): Incoming {
  return { method: headers[":method"], headers, httpVersionMajor: 2 };
}

const ignore = () => {};

/** Streams served through the core API (StreamReply): for tests. */
export const coreStreams = { served: 0 };

/**
 * A Reply on a raw HTTP/2 stream. With `trailers` (gRPC puts its status
 * there) it asks for them when it responds and sends whatever was added;
 * without, the last DATA frame ends the stream. A response that ends before
 * the request did (an error answered before the whole body was read) is
 * followed by RST_STREAM NO_ERROR, which tells the client to stop sending
 * (RFC 9113, section 8.1).
 */
export class StreamReply implements Reply {
  #trailers: Record<string, string> | null = null;

  constructor(
    private readonly stream: ServerHttp2Stream,
    private readonly trailers = false,
  ) {
    coreStreams.served++;
    // A reset or a session that went away is seen as 'close'; without a
    // listener an 'error' would be thrown at the event loop.
    stream.on("error", ignore);
  }

  get headersSent(): boolean {
    return this.stream.headersSent;
  }

  get writableEnded(): boolean {
    return this.stream.writableEnded;
  }

  get destroyed(): boolean {
    return this.stream.destroyed;
  }

  writeHead(status: number, headers: Record<string, string | number>): this {
    if (this.stream.destroyed || this.stream.headersSent) return this;
    this.stream.respond({ ...headers, ":status": status }, { waitForTrailers: this.trailers });
    if (this.trailers) this.stream.once("wantTrailers", () => this.stream.sendTrailers(this.#trailers ?? {}));
    return this;
  }

  write(chunk: string | Uint8Array): boolean {
    if (this.stream.destroyed) return true;
    if (!this.stream.headersSent) this.writeHead(200, {});
    return this.stream.write(chunk);
  }

  end(chunk?: string | Uint8Array): this {
    if (this.stream.destroyed) return this;
    if (!this.stream.headersSent) this.writeHead(200, {});
    const stream = this.stream;
    const stopUpload = () => {
      if (!stream.readableEnded && !stream.destroyed) stream.close(constants.NGHTTP2_NO_ERROR);
    };
    if (chunk === undefined) stream.end(stopUpload);
    else stream.end(chunk, stopUpload);
    return this;
  }

  addTrailers(trailers: Record<string, string>): void {
    this.#trailers = { ...this.#trailers, ...trailers };
  }

  on(event: "close" | "drain", listener: () => void): this {
    this.stream.on(event, listener);
    return this;
  }

  off(event: "close" | "drain", listener: () => void): this {
    this.stream.off(event, listener);
    return this;
  }
}
