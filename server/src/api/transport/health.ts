// grpc.health.v1.Health for Connect: Check, Watch and List, backed by a small
// mutable HealthStatus so the server can flip to NOT_SERVING on shutdown.
//
//   const health = new HealthStatus();            // "" (whole server) SERVING
//   router.service(Health, createHealthService(health));
//   ...
//   health.shutdown();                            // everything NOT_SERVING

import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import {
  Health,
  HealthCheckResponse_ServingStatus as ServingStatus,
  HealthCheckResponseSchema,
  HealthListResponseSchema,
  type HealthCheckRequest,
  type HealthCheckResponse,
  type HealthListResponse,
} from "@grep-streams/sdk/gen/grpc/health/v1/health_pb.js";

export { Health, ServingStatus };

/** Statuses a service can be set to (SERVICE_UNKNOWN is only ever reported by Watch). */
export type SettableStatus = ServingStatus.SERVING | ServingStatus.NOT_SERVING | ServingStatus.UNKNOWN;

type Listener = (status: ServingStatus) => void;

/**
 * The serving status of the server ("") and of named services
 * (fully-qualified names such as "grepstreams.v1.GrepService").
 */
export class HealthStatus {
  readonly #statuses = new Map<string, ServingStatus>();
  readonly #listeners = new Map<string, Set<Listener>>();
  #shutDown = false;

  /** By default the whole server ("") is SERVING. */
  constructor(initial: Record<string, SettableStatus> = { "": ServingStatus.SERVING }) {
    for (const [service, status] of Object.entries(initial)) this.#statuses.set(service, status);
  }

  /** Set a service's status ("" is the whole server). Ignored after shutdown() until resume(). */
  set(service: string, status: SettableStatus): void {
    if (this.#shutDown) return;
    this.#update(service, status);
  }

  /** The status of a service, or undefined if it was never set. */
  get(service: string): ServingStatus | undefined {
    return this.#statuses.get(service);
  }

  /** Every known service and its status. */
  entries(): Array<[service: string, status: ServingStatus]> {
    return [...this.#statuses.entries()];
  }

  /**
   * Set every known service (and "") to NOT_SERVING and ignore set() until
   * resume(): the server is going away. Watchers are told at once.
   */
  shutdown(): void {
    this.#shutDown = true;
    if (!this.#statuses.has("")) this.#update("", ServingStatus.NOT_SERVING);
    for (const service of [...this.#statuses.keys()]) this.#update(service, ServingStatus.NOT_SERVING);
  }

  /** Undo shutdown(): every known service (and "") becomes SERVING again. */
  resume(): void {
    this.#shutDown = false;
    if (!this.#statuses.has("")) this.#update("", ServingStatus.SERVING);
    for (const service of [...this.#statuses.keys()]) this.#update(service, ServingStatus.SERVING);
  }

  get isShutDown(): boolean {
    return this.#shutDown;
  }

  /** Call listener with each new status of a service. Returns the unsubscribe function. */
  subscribe(service: string, listener: Listener): () => void {
    let set = this.#listeners.get(service);
    if (!set) this.#listeners.set(service, (set = new Set()));
    set.add(listener);
    return () => {
      const s = this.#listeners.get(service);
      if (!s) return;
      s.delete(listener);
      if (s.size === 0) this.#listeners.delete(service);
    };
  }

  /** Number of active subscriptions (for tests and metrics). */
  get watcherCount(): number {
    let n = 0;
    for (const s of this.#listeners.values()) n += s.size;
    return n;
  }

  #update(service: string, status: ServingStatus): void {
    if (this.#statuses.get(service) === status) return;
    this.#statuses.set(service, status);
    for (const listener of [...(this.#listeners.get(service) ?? [])]) listener(status);
  }
}

/** The Health service implementation, for `router.service(Health, createHealthService(status))`. */
export function createHealthService(status: HealthStatus): ServiceImpl<typeof Health> {
  return {
    check(req: HealthCheckRequest): HealthCheckResponse {
      const s = status.get(req.service);
      if (s === undefined) throw new ConnectError(`unknown service "${req.service}"`, Code.NotFound);
      return create(HealthCheckResponseSchema, { status: s });
    },

    watch(req: HealthCheckRequest, ctx: HandlerContext): AsyncIterable<HealthCheckResponse> {
      return watch(status, req.service, ctx.signal);
    },

    list(): HealthListResponse {
      const statuses: Record<string, HealthCheckResponse> = {};
      for (const [service, s] of status.entries()) statuses[service] = create(HealthCheckResponseSchema, { status: s });
      return create(HealthListResponseSchema, { statuses });
    },
  };
}

/**
 * Stream the current status of a service, then each change, until the signal
 * aborts. Changes are coalesced (a slow client gets the latest status, never
 * a backlog), and the subscription is released on the signal itself: a
 * generator suspended on a full write buffer may never reach its `finally`.
 */
async function* watch(status: HealthStatus, service: string, signal: AbortSignal): AsyncGenerator<HealthCheckResponse> {
  if (signal.aborted) return;
  let pending: ServingStatus | undefined = status.get(service) ?? ServingStatus.SERVICE_UNKNOWN;
  let wake: (() => void) | undefined;
  const unsubscribe = status.subscribe(service, (s) => {
    pending = s;
    wake?.();
  });
  const onAbort = () => {
    unsubscribe();
    wake?.();
  };
  signal.addEventListener("abort", onAbort, { once: true });
  let last: ServingStatus | undefined;
  try {
    while (!signal.aborted) {
      if (pending === undefined || pending === last) {
        pending = undefined;
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
        continue;
      }
      last = pending;
      pending = undefined;
      yield create(HealthCheckResponseSchema, { status: last });
    }
  } finally {
    signal.removeEventListener("abort", onAbort);
    unsubscribe();
  }
}
