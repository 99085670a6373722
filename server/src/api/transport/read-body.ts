// A lean handler's request: its headers, its body read whole up to a limit,
// and the message decoded as Connect-ES would.
import { Code, ConnectError } from "@connectrpc/connect";
import { fromBinary, fromJson, type DescMessage, type JsonValue, type MessageShape } from "@bufbuild/protobuf";
import type { Incoming } from "./reply.js";

/** A request header's (first) value. */
export function headerOf(req: Incoming, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** No compression: the header is absent or says identity. */
export const isIdentity = (encoding: string | undefined): boolean => encoding === undefined || encoding === "identity";

/**
 * The body's bytes; RESOURCE_EXHAUSTED (Connect-ES's words) past `maxBytes`.
 * Not `for await`: leaving that loop early destroys the stream, and the
 * error response with it; the reply stops the rest of an upload instead
 * (StreamReply), or Node discards it (HTTP/1.1).
 */
export async function readBody(from: AsyncIterable<Buffer>, maxBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  const it = from[Symbol.asyncIterator]();
  for (let r = await it.next(); r.done !== true; r = await it.next()) {
    size += r.value.length;
    if (size > maxBytes) throw new ConnectError(`message size is larger than configured readMaxBytes ${maxBytes}`, Code.ResourceExhausted);
    chunks.push(r.value);
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
}

/** The request message in `data`; INVALID_ARGUMENT saying why when it does not decode. */
export function decodeRequest<Desc extends DescMessage>(schema: Desc, codec: "proto" | "json", data: Uint8Array): MessageShape<Desc> {
  try {
    return codec === "proto" ? fromBinary(schema, data) : fromJson(schema, JSON.parse(Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString("utf8")) as JsonValue);
  } catch (err) {
    throw new ConnectError(`cannot decode the request: ${err instanceof Error ? err.message : String(err)}`, Code.InvalidArgument, undefined, undefined, err);
  }
}
