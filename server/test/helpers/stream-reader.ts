// Reads a Subscribe stream message by message, so a test can assert on the
// exact sequence and keep the stream open between steps.
import type { Event, SubscribeResponse, Started } from "@grep-streams/sdk/gen/grepstreams/v1/grep_pb.js";

type Kind = NonNullable<SubscribeResponse["kind"]["case"]>;

export class StreamReader {
  private readonly it: AsyncIterator<SubscribeResponse>;
  readonly abort = new AbortController();

  constructor(open: (signal: AbortSignal) => AsyncIterable<SubscribeResponse>) {
    this.it = open(this.abort.signal)[Symbol.asyncIterator]();
  }

  /** The next message of one of `kinds` (others are skipped, heartbeats included unless asked for). */
  async next(...kinds: Kind[]): Promise<SubscribeResponse> {
    for (;;) {
      const r = await this.it.next();
      if (r.done) throw new Error(`stream ended while waiting for ${kinds.join("|")}`);
      if (kinds.includes(r.value.kind.case as Kind)) return r.value;
    }
  }

  async started(): Promise<Started> {
    const m = await this.next("started");
    return (m.kind as { value: Started }).value;
  }

  /** The next `n` events, failing on a gap. */
  async events(n: number): Promise<Event[]> {
    const out: Event[] = [];
    while (out.length < n) {
      const m = await this.next("event", "gap");
      // (The gap's count is a bigint, which JSON.stringify refuses without a replacer.)
      if (m.kind.case === "gap") throw new Error(`unexpected gap: ${JSON.stringify(m.kind.value, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v))}`);
      out.push(m.kind.value as Event);
    }
    return out;
  }

  close(): void {
    this.abort.abort();
  }
}
