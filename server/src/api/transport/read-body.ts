// Reads a request body whole, up to a limit.
import { Code, ConnectError } from "@connectrpc/connect";

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
