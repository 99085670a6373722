// The grep-streams client. It takes a Connect transport, so it runs wherever
// one exists: createConnectTransport of @connectrpc/connect-node in Node, of
// @connectrpc/connect-web in browsers.
import { createClient, type CallOptions, type Transport } from "@connectrpc/connect";
import { GrepService } from "./gen/grepstreams/v1/grep_pb.js";
import { countProgressOf, countResultOf, filterOf, type GrepCountProgress, type GrepCountResult, type GrepFilter } from "./convert.js";
import { toGrepStreamsError } from "./errors.js";
import type { BackoffOptions } from "./backoff.js";
import { subscribe, type SubscribeOptions, type Subscription } from "./subscription.js";

export interface GrepClientOptions {
  /** Sent with every call (e.g. an authorization header). */
  readonly headers?: HeadersInit;
  /** Defaults for every subscription. */
  readonly backoff?: Partial<BackoffOptions>;
  readonly maxAttempts?: number;
  readonly idleTimeoutMs?: number;
}

export interface CountOptions {
  /** Start of the time range (inclusive); default: unbounded. */
  readonly from?: Date | number;
  /** End of the time range (exclusive); default: unbounded. */
  readonly to?: Date | number;
  readonly bucketMs?: number;
  onProgress?(progress: GrepCountProgress): void;
  readonly signal?: AbortSignal;
}

export interface ProduceInput {
  readonly key?: readonly string[];
  /** Sent as JSON.stringify(value). */
  readonly value: unknown;
  readonly headers?: Readonly<Record<string, string | Uint8Array>>;
  /** Default: the server's now. */
  readonly timestamp?: Date | number;
  /** Default: the key's partition (Kafka's partitioner), round-robin without a key. */
  readonly partition?: number;
}

export interface GrepProducedRecord {
  readonly partition: number;
  readonly offset: number;
  readonly timestamp: Date;
}

export interface GrepTopic {
  readonly name: string;
  readonly partitions: readonly { partition: number; startOffset: number; endOffset: number }[];
  readonly nonJsonValues: number;
  readonly badKeys: number;
}

/** What the server holds now, in brief (ListTopics; the same figures as its /metrics). */
export interface GrepServerStats {
  readonly subscriptions: number;
  /** Streams being matched, and parked (nobody subscribed for a while: not matched, index kept). */
  readonly streamsActive: number;
  readonly streamsParked: number;
  /** Bytes the live tails hold (records shared by several streams counted once), and their budget. */
  readonly tailBytes: number;
  readonly tailBudgetBytes: number;
  readonly rssBytes: number;
}

export interface GrepClient {
  /** Streams the matches of `filter`; reconnects and resumes exactly on transient failures. */
  subscribe(filter: GrepFilter, options?: SubscribeOptions): Subscription;
  /** Counts the matches of `filter` over a time range of history. */
  count(filter: GrepFilter, options?: CountOptions): Promise<GrepCountResult>;
  /** Appends messages to `topic` (created if missing). Not retried: a retry could write twice. */
  produce(topic: string, messages: readonly ProduceInput[]): Promise<GrepProducedRecord[]>;
  /** The source's topics, and (from servers that report it) what the server holds. */
  listTopics(): Promise<{ source: string; topics: GrepTopic[]; server?: GrepServerStats }>;
  /** Checks a filter without subscribing: what is wrong and where, or the stream it names. */
  validateFilter(filter: GrepFilter, options?: { signal?: AbortSignal }): Promise<GrepFilterValidation>;
}

/** The answer of validateFilter. */
export type GrepFilterValidation =
  | { readonly ok: true; readonly streamId: string; readonly canonicalFilter: string; readonly warnings: readonly string[] }
  | { readonly ok: false; readonly problems: readonly GrepFilterProblem[] };

export interface GrepFilterProblem {
  /** The filter field, e.g. "query" or "topic_regex". */
  readonly field: string;
  /** Where inside the field, e.g. "query.$and[1].price". */
  readonly location: string;
  readonly message: string;
}

export function createGrepClient(transport: Transport, options: GrepClientOptions = {}): GrepClient {
  const client = createClient(GrepService, transport);
  const callOptions: CallOptions = options.headers ? { headers: options.headers } : {};
  const encoder = new TextEncoder();
  const ms = (t: Date | number | undefined) => BigInt(t === undefined ? 0 : typeof t === "number" ? t : t.getTime());

  return {
    subscribe(filter, o = {}) {
      const defaults = {
        ...(options.maxAttempts !== undefined ? { maxAttempts: options.maxAttempts } : {}),
        ...(options.idleTimeoutMs !== undefined ? { idleTimeoutMs: options.idleTimeoutMs } : {}),
      };
      return subscribe(client, filter, { ...defaults, ...o, backoff: { ...options.backoff, ...o.backoff } }, callOptions);
    },

    async count(filter, o = {}) {
      try {
        const call = client.count(
          { filter: filterOf(filter), fromMs: ms(o.from), toMs: ms(o.to), bucketMs: BigInt(o.bucketMs ?? 0) },
          { ...callOptions, ...(o.signal ? { signal: o.signal } : {}) },
        );
        for await (const m of call) {
          if (m.kind.case === "progress") o.onProgress?.(countProgressOf(m.kind.value));
          else if (m.kind.case === "result") return countResultOf(m.kind.value);
        }
      } catch (err) {
        if (o.signal?.aborted) throw o.signal.reason;
        throw toGrepStreamsError(err);
      }
      throw toGrepStreamsError(new Error("the count ended without a result"));
    },

    async produce(topic, messages) {
      const out = messages.map((m, i) => {
        const valueJson = JSON.stringify(m.value);
        if (valueJson === undefined) throw new TypeError(`messages[${i}].value cannot be sent as JSON`);
        return {
          key: [...(m.key ?? [])],
          valueJson,
          headers: Object.entries(m.headers ?? {}).map(([key, v]) => ({ key, value: typeof v === "string" ? encoder.encode(v) : v })),
          timestampMs: ms(m.timestamp),
          ...(m.partition !== undefined ? { partition: m.partition } : {}),
        };
      });
      try {
        const res = await client.produce({ topic, messages: out }, callOptions);
        return res.records.map((r) => ({ partition: r.partition, offset: Number(r.offset), timestamp: new Date(Number(r.timestampMs)) }));
      } catch (err) {
        throw toGrepStreamsError(err);
      }
    },

    async validateFilter(filter, o = {}) {
      try {
        const res = await client.validateFilter({ filter: filterOf(filter) }, { ...callOptions, ...(o.signal ? { signal: o.signal } : {}) });
        if (res.problems.length > 0) return { ok: false, problems: res.problems.map(({ field, location, message }) => ({ field, location, message })) };
        return { ok: true, streamId: res.streamId, canonicalFilter: res.canonicalFilter, warnings: res.warnings };
      } catch (err) {
        if (o.signal?.aborted) throw o.signal.reason;
        throw toGrepStreamsError(err);
      }
    },

    async listTopics() {
      try {
        const res = await client.listTopics({}, callOptions);
        return {
          source: res.source,
          topics: res.topics.map((t) => ({
            name: t.name,
            partitions: t.partitions.map((p) => ({ partition: p.partition, startOffset: Number(p.startOffset), endOffset: Number(p.endOffset) })),
            nonJsonValues: Number(t.nonJsonValues),
            badKeys: Number(t.badKeys),
          })),
          ...(res.server
            ? {
                server: {
                  subscriptions: res.server.subscriptions,
                  streamsActive: res.server.streamsActive,
                  streamsParked: res.server.streamsParked,
                  tailBytes: Number(res.server.tailBytes),
                  tailBudgetBytes: Number(res.server.tailBudgetBytes),
                  rssBytes: Number(res.server.rssBytes),
                },
              }
            : {}),
        };
      } catch (err) {
        throw toGrepStreamsError(err);
      }
    },
  };
}
