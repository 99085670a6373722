// A TCP proxy on a loopback port in front of a server, for tests that need
// the network to fail: drop every connection now, or cut each connection
// after a random number of bytes (a seeded PRNG, so a failing run can be
// replayed). Cuts are abrupt (both sockets destroyed), possibly in the middle
// of a message, as a dying link or a restarted load balancer would do. Or
// stall all traffic (connections stay open, nothing gets through) until
// resumed: a peer that stops answering.
import { connect, createServer, type Server, type Socket } from "node:net";
import { once } from "node:events";
import { mulberry32 } from "../../src/util/prng.js";

export interface RandomDrops {
  readonly seed: number;
  /** Each connection is cut once it has carried between minBytes and maxBytes (both directions). */
  readonly minBytes: number;
  readonly maxBytes: number;
}

export interface TcpProxy {
  readonly port: number;
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** Connections accepted so far. */
  readonly accepted: number;
  /** Connections the proxy cut (by `dropAll` or at random). */
  readonly dropped: number;
  /** Cuts every open connection now; new ones are accepted as before. */
  dropAll(): void;
  /** From now on, cuts each connection (open or new) after a random number of further bytes; `null` stops that. */
  dropRandomly(drops: RandomDrops | null): void;
  /** Stops forwarding in both directions on every connection, open or new (bytes wait in the sockets). */
  pause(): void;
  /** Forwards again, the waiting bytes first. */
  resume(): void;
  close(): Promise<void>;
}

interface Pair {
  readonly client: Socket;
  readonly upstream: Socket;
  /** Bytes this pair may still carry before it is cut (Infinity: never). */
  budget: number;
  cut: boolean;
}

export async function startTcpProxy(targetPort: number, targetHost = "127.0.0.1"): Promise<TcpProxy> {
  const pairs = new Set<Pair>();
  let drops: { random: () => number; min: number; max: number } | null = null;
  let accepted = 0;
  let dropped = 0;
  let paused = false;
  const newBudget = () => (drops ? Math.floor(drops.min + drops.random() * (drops.max - drops.min + 1)) : Infinity);

  /** Ends the pair abruptly; with `last`, `to` first gets those bytes and a clean end (a truncated message). */
  const cut = (p: Pair, counted: boolean, last?: { to: Socket; bytes: Buffer }) => {
    if (p.cut) return;
    p.cut = true;
    pairs.delete(p);
    if (counted) dropped++;
    for (const s of [p.client, p.upstream]) {
      if (s === last?.to) s.end(last.bytes, () => s.destroy());
      else s.destroy();
    }
  };

  /** Forwards `from` to `to`, spending the pair's budget; past it, forwards the rest of the budget and cuts. */
  const forward = (p: Pair, from: Socket, to: Socket) => {
    from.on("data", (chunk: Buffer) => {
      if (p.cut) return;
      if (chunk.length >= p.budget) {
        cut(p, true, { to, bytes: chunk.subarray(0, p.budget) });
        return;
      }
      p.budget -= chunk.length;
      if (!to.write(chunk)) from.pause();
    });
    to.on("drain", () => {
      if (!paused) from.resume();
    });
    // A clean end on one side is passed on (HTTP/1.1 keep-alive ends this way).
    from.on("end", () => to.end());
    from.on("error", () => cut(p, false));
    from.on("close", () => {
      if (!to.writableEnded) cut(p, false); // closed without a clean end: pass the failure on
      else if (from.destroyed && to.destroyed) pairs.delete(p);
    });
  };

  // Half-open sockets, so that an end in one direction does not end the other.
  const server: Server = createServer({ allowHalfOpen: true }, (client) => {
    accepted++;
    const upstream = connect({ port: targetPort, host: targetHost, allowHalfOpen: true });
    const p: Pair = { client, upstream, budget: newBudget(), cut: false };
    pairs.add(p);
    forward(p, client, upstream);
    forward(p, upstream, client);
    if (paused) {
      client.pause();
      upstream.pause();
    }
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("tcp proxy: no port");
  const port = address.port;

  return {
    port,
    url: `http://127.0.0.1:${port}`,
    get accepted() {
      return accepted;
    },
    get dropped() {
      return dropped;
    },
    dropAll() {
      for (const p of [...pairs]) cut(p, true);
    },
    dropRandomly(d) {
      if (d && (d.minBytes < 0 || d.maxBytes < d.minBytes)) throw new Error("tcp proxy: need 0 <= minBytes <= maxBytes");
      drops = d ? { random: mulberry32(d.seed), min: d.minBytes, max: d.maxBytes } : null;
      for (const p of pairs) p.budget = newBudget();
    },
    pause() {
      paused = true;
      for (const p of pairs) {
        p.client.pause();
        p.upstream.pause();
      }
    },
    resume() {
      paused = false;
      for (const p of pairs) {
        p.client.resume();
        p.upstream.resume();
      }
    },
    async close() {
      const closed = once(server, "close");
      server.close();
      for (const p of [...pairs]) cut(p, false);
      await closed;
    },
  };
}
