// Errors caused by the request, with the status a client should see. The API
// maps `code` to its transport's status (Connect code, HTTP status).
export type RequestErrorCode = "invalid_argument" | "not_found" | "out_of_range" | "failed_precondition" | "resource_exhausted" | "unavailable";

export class RequestError extends Error {
  constructor(
    readonly code: RequestErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "RequestError";
  }
}
