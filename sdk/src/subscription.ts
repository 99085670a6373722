// A subscription that survives the network: it reconnects with backoff,
// resumes exactly after the last item it handed out, drops what it already
// handed out, and acknowledges what the caller has consumed.
//
// It is pull-based: a message is read from the connection only when the
// caller asks for the next item, so a slow caller slows the reading (and,
// with a window, the server).
import type { MessageInitShape } from "@bufbuild/protobuf";
import { Code, type CallOptions, type Client } from "@connectrpc/connect";
import type { GrepService, StartPositionSchema, SubscribeResponse } from "./gen/grepstreams/v1/grep_pb.js";
import { backoffDelay, defaultBackoff, sleep, type BackoffOptions } from "./backoff.js";
import { GrepStreamsError, toGrepStreamsError } from "./errors.js";
import { eventOf, filterOf, gapOf, heartbeatOf, progressOf, startedOf, type GrepFilter, type SubscriptionItem } from "./convert.js";

export type Start = "latest" | "earliest" | Date | { readonly afterEventId: string };

export interface SubscribeOptions {
  /** Where to begin (default "latest"). Ignored by the server when `durableName` names a subscription it knows. */
  readonly start?: Start;
  /** At most this many delivered events are unacknowledged; the SDK acks what the caller consumes. */
  readonly window?: number;
  /** The server keeps this subscription's last ack; a later subscription with the name resumes after it. */
  readonly durableName?: string;
  /** Events without key, value and headers. */
  readonly omitPayload?: boolean;
  readonly signal?: AbortSignal;
  readonly backoff?: Partial<BackoffOptions>;
  /** Connection attempts in a row without a message before giving up (default Infinity). */
  readonly maxAttempts?: number;
  /** With no message (heartbeats included) for this long, the connection counts as dead (default 45 s). */
  readonly idleTimeoutMs?: number;
  /** Yield a "started" item on each (re)connection. */
  readonly includeStarted?: boolean;
  /** Yield the server's heartbeats. */
  readonly includeHeartbeats?: boolean;
  /** Called before waiting to reconnect; `attempt` counts failures in a row (1, 2, ...). */
  onReconnect?(attempt: number, error: GrepStreamsError): void;
}

export interface Subscription extends AsyncIterable<SubscriptionItem> {
  /** The ID of the last event handed to the caller. */
  readonly lastEventId: string | undefined;
  /** The server's ID of the current connection's subscription (it changes on reconnect). */
  readonly subscriptionId: string | undefined;
  readonly streamId: string | undefined;
  /** Acknowledges what was consumed (durable, window), ends the connection and the iteration. */
  close(): Promise<void>;
}

/** Acks of a durable subscription without a window go out every this many consumed events (or when idle). */
const DURABLE_ACK_EVERY = 64;
/** Pending acks go out when no message came for this long: the caller is waiting, nothing is buffered. */
const ACK_IDLE_MS = 20;

type RpcClient = Client<typeof GrepService>;

/** One connection (one Subscribe call) and what belongs to it. */
interface Connection {
  readonly abort: AbortController;
  /** Set when the SDK itself ended the connection, with the error to retry on. */
  failure?: GrepStreamsError;
  subscriptionId?: string;
  /** The newest consumed event of this connection not acked yet, and how many there are. */
  pendingAck?: string;
  pendingCount: number;
}

export function subscribe(client: RpcClient, filter: GrepFilter, o: SubscribeOptions, callOptions: CallOptions): Subscription {
  return new ResumingSubscription(client, filter, o, callOptions);
}

class ResumingSubscription implements Subscription {
  lastEventId: string | undefined;
  subscriptionId: string | undefined;
  streamId: string | undefined;

  private readonly backoff: BackoffOptions;
  private readonly idleTimeoutMs: number;
  /** 0: no acks (no window, not durable). */
  private readonly ackEvery: number;
  /** Where a reconnect resumes: after the last event or gap handed out, or where the first connection started. */
  private resumeAfter: string | undefined;
  /** Dedup: the highest seq handed out per epoch (seqs are dense and delivered in order within an epoch). */
  private readonly highWater = new Map<number, number>();
  /** Dedup of gaps, which carry IDs but no positions. */
  private readonly recentGaps: string[] = [];
  private connections = 0;
  private conn: Connection | undefined;
  private ackChain: Promise<void> = Promise.resolve();
  private closed = false;
  private closing: Promise<void> | undefined;
  /** Aborted by close(): wakes a backoff sleep. */
  private readonly stop = new AbortController();
  private iterator: AsyncGenerator<SubscriptionItem> | undefined;

  constructor(
    private readonly client: RpcClient,
    private readonly filter: GrepFilter,
    private readonly o: SubscribeOptions,
    private readonly callOptions: CallOptions,
  ) {
    this.backoff = { ...defaultBackoff, ...o.backoff };
    this.idleTimeoutMs = o.idleTimeoutMs ?? 45_000;
    const window = o.window ?? 0;
    this.ackEvery = window > 0 ? Math.max(1, Math.floor(window / 2)) : o.durableName ? DURABLE_ACK_EVERY : 0;
    o.signal?.addEventListener("abort", () => void this.close(), { once: true });
  }

  [Symbol.asyncIterator](): AsyncIterator<SubscriptionItem> {
    // One iteration per subscription: a second loop continues the first.
    this.iterator ??= this.run();
    return this.iterator;
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.closed = true;
      const conn = this.conn;
      if (conn) {
        // Ack what was consumed while the server still knows the subscription.
        this.flushAcks(conn);
        await this.ackChain;
        conn.abort.abort();
      }
      this.stop.abort();
    })();
    return this.closing;
  }

  private async *run(): AsyncGenerator<SubscriptionItem> {
    let failures = 0;
    try {
      while (!this.closed && !this.o.signal?.aborted) {
        const conn: Connection = { abort: new AbortController(), pendingCount: 0 };
        this.conn = conn;
        this.connections++;
        let error: GrepStreamsError | undefined;
        let failed = false;
        try {
          const call = this.client.subscribe(this.request(), { ...this.callOptions, signal: conn.abort.signal });
          const messages = call[Symbol.asyncIterator]();
          for (;;) {
            const r = await this.nextMessage(messages, conn);
            if (r.done) throw new GrepStreamsError(Code.Unavailable, "the server ended the stream", { transient: true });
            failures = 0; // a message came through: the next failure starts the backoff over
            const item = this.accept(r.value, conn);
            if (!item) continue;
            yield item;
            // The caller asked for the next item: it is done with this one.
            if (item.type === "event") this.consumed(item.event.id, conn);
          }
        } catch (err) {
          failed = true;
          if (this.closed || this.o.signal?.aborted) break;
          error = conn.failure ?? toGrepStreamsError(err);
          if (!error.transient) throw error;
        } finally {
          // The caller broke off at a yield: ack what it consumed before the
          // connection (and with it the server's subscription) goes.
          if (!failed) {
            this.flushAcks(conn);
            await this.ackChain;
          }
          conn.abort.abort();
          if (this.conn === conn) this.conn = undefined;
        }
        if (!error) continue;
        failures++;
        if (failures >= (this.o.maxAttempts ?? Infinity)) throw error;
        this.o.onReconnect?.(failures, error);
        await sleep(backoffDelay(failures, this.backoff), this.stop.signal);
      }
      if (this.o.signal?.aborted) throw this.o.signal.reason;
    } finally {
      // However the iteration ends (break, error, close), nothing stays open,
      // and what was consumed is acked before the iteration says it is done.
      await this.close();
    }
  }

  private request() {
    let start: MessageInitShape<typeof StartPositionSchema>;
    // A durable subscription resumes by its name (the server ignores the start
    // once it knows the name); the caller's start only matters if the server
    // never registered the name. Any other resumes after what it handed out.
    const resume = this.o.durableName ? undefined : this.resumeAfter;
    const s = this.o.start ?? "latest";
    if (resume !== undefined) start = { position: { case: "afterEventId", value: resume } };
    else if (s === "latest") start = { position: { case: "latest", value: true } };
    else if (s === "earliest") start = { position: { case: "earliest", value: true } };
    else if (s instanceof Date) start = { position: { case: "timestampMs", value: BigInt(s.getTime()) } };
    else start = { position: { case: "afterEventId", value: s.afterEventId } };
    return {
      filter: filterOf(this.filter),
      start,
      window: this.o.window ?? 0,
      durableName: this.o.durableName ?? "",
      omitPayload: this.o.omitPayload ?? false,
    };
  }

  /** The next message, or a failure when none comes within the idle timeout. */
  private async nextMessage(messages: AsyncIterator<SubscribeResponse>, conn: Connection): Promise<IteratorResult<SubscribeResponse>> {
    const idle = setTimeout(() => {
      conn.failure = new GrepStreamsError(Code.DeadlineExceeded, `no message from the server for ${this.idleTimeoutMs} ms`, { transient: true });
      conn.abort.abort();
    }, this.idleTimeoutMs);
    const ack = conn.pendingCount > 0 ? setTimeout(() => this.flushAcks(conn), ACK_IDLE_MS) : undefined;
    try {
      return await messages.next();
    } finally {
      clearTimeout(idle);
      clearTimeout(ack);
    }
  }

  /** Turns a message into the item to hand out, or null (a duplicate, a heartbeat nobody asked for). */
  private accept(m: SubscribeResponse, conn: Connection): SubscriptionItem | null {
    switch (m.kind.case) {
      case "started": {
        const s = m.kind.value;
        conn.subscriptionId = this.subscriptionId = s.subscriptionId;
        this.streamId = s.streamId;
        // Until an event arrives, a reconnect resumes exactly where the first
        // connection started: "latest" again would skip what came in between.
        if (this.resumeAfter === undefined && s.resolvedAfterEventId !== "") this.resumeAfter = s.resolvedAfterEventId;
        return this.o.includeStarted ? startedOf(s, this.connections > 1) : null;
      }
      case "event": {
        const e = m.kind.value;
        const seq = Number(e.seq);
        const high = this.highWater.get(e.epoch);
        if (high !== undefined && seq <= high) {
          // Already handed out (a durable subscription resumes after its last
          // ack, which may lag): drop it, but ack it, since the server counts
          // it as delivered on this connection.
          this.consumed(e.id, conn);
          return null;
        }
        this.highWater.set(e.epoch, seq);
        this.lastEventId = this.resumeAfter = e.id;
        return { type: "event", event: eventOf(e) };
      }
      case "gap": {
        const g = m.kind.value;
        if (this.recentGaps.includes(g.toEventId)) return null;
        this.recentGaps.push(g.toEventId);
        if (this.recentGaps.length > 64) this.recentGaps.shift();
        this.resumeAfter = g.toEventId; // what a gap names is gone: resume after it
        return gapOf(g);
      }
      case "progress":
        return progressOf(m.kind.value);
      case "heartbeat":
        return this.o.includeHeartbeats ? heartbeatOf(m.kind.value) : null;
      default:
        return null; // a kind this SDK does not know yet
    }
  }

  /** The caller is done with event `id` of `conn`: ack it once enough have piled up. */
  private consumed(id: string, conn: Connection): void {
    if (this.ackEvery === 0 || conn !== this.conn || this.closed) return;
    conn.pendingAck = id;
    conn.pendingCount++;
    if (conn.pendingCount >= this.ackEvery) this.flushAcks(conn);
  }

  /**
   * Sends the pending ack of `conn`. Acks go out one at a time, in order: the
   * server stores a durable subscription's position on every ack, so an older
   * ack arriving late would move it back. A failed ack reconnects: with a
   * window the server would wait for it forever, and the new connection
   * starts after the last event handed out, with nothing unacknowledged.
   */
  private flushAcks(conn: Connection): void {
    const eventId = conn.pendingAck;
    const subscriptionId = conn.subscriptionId;
    if (eventId === undefined || subscriptionId === undefined) return;
    conn.pendingAck = undefined;
    conn.pendingCount = 0;
    this.ackChain = this.ackChain.then(async () => {
      if (conn.abort.signal.aborted) return; // the server forgets the subscription with its connection
      try {
        await this.client.ack({ subscriptionId, eventId }, { ...this.callOptions, signal: conn.abort.signal, timeoutMs: this.idleTimeoutMs });
      } catch (err) {
        if (conn.abort.signal.aborted) return;
        const e = toGrepStreamsError(err);
        conn.failure = new GrepStreamsError(e.code, `ack failed: ${e.rawMessage}`, { cause: err, transient: true });
        conn.abort.abort();
      }
    });
  }
}
