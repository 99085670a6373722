// Capped exponential backoff with jitter, so that many clients that lost the
// same server do not come back in lockstep.

export interface BackoffOptions {
  /** The cap of the first retry's delay. */
  readonly initialMs: number;
  readonly maxMs: number;
  readonly multiplier: number;
  /** "full": a uniform delay in [0, cap]; "none": the cap itself. */
  readonly jitter: "full" | "none";
}

export const defaultBackoff: BackoffOptions = { initialMs: 100, maxMs: 10_000, multiplier: 2, jitter: "full" };

/** The delay before retry number `attempt` (1, 2, ...). */
export function backoffDelay(attempt: number, o: BackoffOptions, random: () => number = Math.random): number {
  const cap = Math.min(o.maxMs, o.initialMs * o.multiplier ** Math.max(0, attempt - 1));
  return o.jitter === "full" ? Math.floor(random() * cap) : cap;
}

/** Resolves after `ms`, or as soon as `signal` aborts (it does not reject: the caller looks at why). */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}
