// Maps errors to Connect codes (and HTTP statuses for the SSE shim). Request
// errors carry their own code; anything else is internal and is logged.
import { Code, ConnectError } from "@connectrpc/connect";
import { RequestError, type RequestErrorCode } from "../util/request-error.js";
import { UnknownTopicError, SourceArgumentError, SourceUnavailableError } from "../source/types.js";

const codes: Record<RequestErrorCode, Code> = {
  invalid_argument: Code.InvalidArgument,
  not_found: Code.NotFound,
  out_of_range: Code.OutOfRange,
  failed_precondition: Code.FailedPrecondition,
  resource_exhausted: Code.ResourceExhausted,
  unavailable: Code.Unavailable,
};

const http: Record<RequestErrorCode, number> = {
  invalid_argument: 400,
  not_found: 404,
  out_of_range: 416,
  failed_precondition: 409,
  resource_exhausted: 429,
  unavailable: 503,
};

/** The request error behind `err`, if it is one the client caused. */
export function asRequestError(err: unknown): RequestError | null {
  if (err instanceof RequestError) return err;
  if (err instanceof UnknownTopicError) return new RequestError("not_found", err.message, { cause: err });
  if (err instanceof SourceArgumentError) return new RequestError("invalid_argument", err.message, { cause: err });
  // The operator's problem, not the client's: said as the source explains it (brokers, credentials, TLS).
  if (err instanceof SourceUnavailableError) return new RequestError("unavailable", err.message, { cause: err });
  return null;
}

export function toConnectError(err: unknown): ConnectError {
  if (err instanceof ConnectError) return err;
  const r = asRequestError(err);
  if (r) return new ConnectError(r.message, codes[r.code], undefined, undefined, r);
  return new ConnectError("internal error; see the server log", Code.Internal, undefined, undefined, err);
}

export function httpStatusOf(r: RequestError): number {
  return http[r.code];
}
