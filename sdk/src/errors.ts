// Errors of the SDK, and which failures are worth a retry.
import { Code, ConnectError } from "@connectrpc/connect";

/** A failed call: the Connect code and the server's message (without the "[code]" prefix). */
export class GrepStreamsError extends Error {
  override name = "GrepStreamsError";
  /** Whether a retry could succeed (a network failure, an unavailable server...). */
  readonly transient: boolean;

  constructor(
    readonly code: Code,
    /** The message as the server (or the transport) wrote it. */
    readonly rawMessage: string,
    options: { cause?: unknown; transient?: boolean } = {},
  ) {
    super(`[${codeName(code)}] ${rawMessage}`, { cause: options.cause });
    this.transient = options.transient ?? false;
  }
}

/** Errors the client caused or that no retry can fix: the server said so. */
const permanentCodes = new Set<Code>([
  Code.InvalidArgument,
  Code.NotFound,
  Code.AlreadyExists,
  Code.OutOfRange,
  Code.FailedPrecondition,
  Code.PermissionDenied,
  Code.Unauthenticated,
  Code.Unimplemented,
  Code.DataLoss,
  Code.Internal,
]);

/**
 * Converts anything a call threw. A transport failure (a reset or truncated
 * connection) is transient whatever its code: Connect reports a Connect
 * stream cut before its end message as InvalidArgument ("protocol error:
 * missing EndStreamResponse") and a reset as Aborted or Internal. Errors
 * the client library made up locally carry the underlying cause or say
 * "protocol error"; errors the server sent carry neither.
 */
export function toGrepStreamsError(err: unknown): GrepStreamsError {
  if (err instanceof GrepStreamsError) return err;
  const ce = ConnectError.from(err);
  if (isBadUrl(err)) return new GrepStreamsError(ce.code, `${ce.rawMessage} (check the transport's baseUrl)`, { cause: err, transient: false });
  const local = ce.cause !== undefined || ce.rawMessage.startsWith("protocol error") || ce.rawMessage === "invalid end stream";
  return new GrepStreamsError(ce.code, ce.rawMessage, { cause: err, transient: local || !permanentCodes.has(ce.code) });
}

/** A base URL that does not parse fails every attempt alike: retrying it would go on forever. */
function isBadUrl(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if ((e as { code?: unknown }).code === "ERR_INVALID_URL" || e.message.startsWith("Invalid URL")) return true;
  }
  return false;
}

function codeName(code: Code): string {
  // Code[Code.InvalidArgument] is "InvalidArgument"; Connect writes invalid_argument.
  return (Code[code] ?? "unknown").replace(/[A-Z]/g, (c, i: number) => (i > 0 ? "_" : "") + c.toLowerCase());
}
