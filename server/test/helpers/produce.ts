// Produces JSON messages through the API, as a client would.
import type { Client } from "@connectrpc/connect";
import type { GrepService } from "@grep-streams/sdk/gen/grepstreams/v1/grep_pb.js";

export interface TestMessage {
  readonly value?: unknown;
  readonly key?: string[];
  readonly timestamp?: number;
  readonly partition?: number;
  /** Sent as is (not JSON-encoded): for non-JSON values. */
  readonly raw?: string;
  readonly rawKey?: Uint8Array;
}

export async function produce(client: Client<typeof GrepService>, topic: string, messages: readonly TestMessage[]) {
  const res = await client.produce({
    topic,
    allowNonJson: messages.some((m) => m.raw !== undefined),
    messages: messages.map((m) => ({
      key: m.key ?? [],
      valueJson: m.raw ?? JSON.stringify(m.value),
      timestampMs: BigInt(m.timestamp ?? 0),
      ...(m.partition !== undefined ? { partition: m.partition } : {}),
      ...(m.rawKey !== undefined ? { rawKey: m.rawKey } : {}),
    })),
  });
  return res.records.map((r) => ({ partition: r.partition, offset: Number(r.offset) }));
}
