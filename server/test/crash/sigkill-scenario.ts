// Crash safety (the scenario; sigkill-embedded.test.ts and sigkill-kafka.test.ts
// run it): the real `grep-streams serve` process is SIGKILLed at random
// moments (seeded) and restarted on the same data directory and port, while
// producers write and subscribers read and reconnect. In the end every
// subscriber of a filter holds exactly the matching messages of the log,
// each once, in one order, with identical, dense event IDs: exactly-once
// numbering (matches and scan frontier in one transaction) and exact resume
// hold across crashes.
//
// What is asserted, per source (embedded log; Kafka when GREP_STREAMS_TEST_KAFKA is set):
//  - The log: a final subscription from earliest on a fresh stream (a filter
//    no one used) reads every message the source holds, each address
//    (partition, offset) once; their payload ids are ids the producers sent;
//    every id whose produce was acknowledged is there; an id is there more
//    than once only if a produce of it failed with an unknown outcome
//    (at-least-once produce through the API; the Kafka producer is
//    idempotent and independent of the server, so there each id is there
//    exactly once). Count of each filter equals the matches in the log
//    (Count answers from the filter's index when it covers the range, so a
//    hole in the index shows there too).
//  - Expected per filter = the log's messages that match it.
//  - Plain clients (from earliest; reconnecting with after_event_id = their
//    last ID): each resume's started.resolved_after_event_id is that ID; the
//    events received over all connections are exactly the expected messages
//    (by address), each once (no duplicate ID, no duplicate address), with
//    the log's payload; identical lists (ID, epoch, seq, address, payload) for
//    every client of the filter; per epoch one contiguous run with seqs
//    1..n; offsets increasing per partition within an epoch; every ID
//    decodes to (the filter's stream id, epoch, seq); no gap messages; no
//    error other than a broken or refused connection. Caught up means a
//    heartbeat after the last event names it as the stream's head, lag 0
//    (a client still short of the expected count once that holds for 5 s
//    is reported as missing events, without waiting longer).
//  - The durable subscription (filter A, acks every event it receives, one
//    Ack in flight at a time; on reconnect sends only durable_name): the
//    server resumes after its stored last ack, which must be the last ack
//    the client saw confirmed, or the one ack whose call failed with an
//    unknown outcome (it may have been stored before the crash). It may
//    therefore see again events it received but whose ack was not confirmed;
//    those re-deliveries must be the same events (ID and payload) in the
//    same order. Its list, cut at each resume point and continued, must equal
//    the plain clients' list exactly.
//
// Reproduce a schedule: GREP_STREAMS_CRASH_SEED=<seed printed in the diagnostics>.
import { it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { GrepService, type Event, type Filter, type Started } from "@grep-streams/sdk/gen/grepstreams/v1/grep_pb.js";
import { Producer, ProduceAcks, stringSerializers } from "@platformatic/kafka";
import { mulberry32 } from "../../src/util/prng.js";
import { partitionForKey } from "../../src/source/partitioner.js";
import { decodeEventId } from "../../src/sequencer/event-id.js";
import { testKafka, type SourceName } from "../helpers/server.js";
import { freePort, ServerProcess } from "../helpers/server-process.js";
import { createTestTopic, deleteTestTopics, uniqueTopic } from "../helpers/kafka-env.js";

type GrepClient = Client<typeof GrepService>;
type FilterInit = Pick<Filter, "topics" | "query">;

const CYCLES = Number(process.env.GREP_STREAMS_CRASH_CYCLES ?? 24);
const PARTITIONS = 4;
/** Messages written before anyone subscribes, so the first subscribers' backfills have history to scan. */
const PRELOAD = 3000;
/** Cycle after whose restart each client starts (all from earliest). */
const SCHEDULE: ReadonlyArray<{ name: string; filter: "A" | "B"; durable?: boolean; cycle: number }> = [
  { name: "A1", filter: "A", cycle: 0 },
  { name: "D", filter: "A", durable: true, cycle: 0 },
  { name: "B1", filter: "B", cycle: 3 },
  { name: "A2", filter: "A", cycle: 6 },
  { name: "A3", filter: "A", cycle: 12 },
  { name: "B2", filter: "B", cycle: 16 },
];
/** A client that has fewer events than expected is given up on after this long without one, once the server says it has nothing more. */
const STALL_MS = 5_000;
const FATAL = new Set([
  Code.InvalidArgument,
  Code.NotFound,
  Code.OutOfRange,
  Code.FailedPrecondition,
  Code.AlreadyExists,
  Code.PermissionDenied,
  Code.Unimplemented,
  Code.DataLoss,
  Code.Unauthenticated,
]);

interface Received {
  readonly id: string;
  readonly epoch: number;
  readonly seq: number;
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly valueJson: string;
  readonly key: readonly string[];
}

const big = (_k: string, v: unknown) => (typeof v === "bigint" ? String(v) : v);
const addr = (e: { partition: number; offset: number }) => `${e.partition}:${e.offset}`;
const show = (e: Received | undefined) => (e ? `{epoch ${e.epoch} seq ${e.seq} @${addr(e)} n=${JSON.parse(e.valueJson).n}}` : "(none)");

function received(e: Event): Received {
  return { id: e.id, epoch: e.epoch, seq: Number(e.seq), topic: e.topic, partition: e.partition, offset: Number(e.offset), valueJson: e.valueJson, key: [...e.key] };
}

function errorKind(err: unknown): { code: Code; text: string } {
  const ce = ConnectError.from(err);
  const cause = ce.cause as { code?: string } | undefined;
  return { code: ce.code, text: `${Code[ce.code]}${cause?.code ? `/${cause.code}` : ""}: ${ce.rawMessage.slice(0, 100)}` };
}

/**
 * A subscriber that keeps every event and reconnects after a broken
 * connection: plain ones with after_event_id = their last ID (earliest
 * before the first event), the durable one by its name only.
 */
class Subscriber {
  readonly events: Received[] = [];
  readonly problems: string[] = [];
  readonly errors = new Map<string, number>();
  streamId = "";
  connects = 0;
  fatal = false;
  /** Durable: events received again after a resume (their acks had not been confirmed). */
  redelivered = 0;
  acks = 0;
  private subscriptionId = "";
  private lastId: string | undefined;
  private lastEventAt = 0;
  private heartbeat: { head: string; lag: bigint; afterEvents: number } | undefined;
  private progress: { scanned: bigint; total: bigint; at: number; events: number } | undefined;
  private waiters = new Set<() => void>();
  // Durable state.
  private initialStart: string | undefined;
  private confirmedAck: string | undefined;
  private uncertainAcks: string[] = [];
  private ackQueue: Array<{ sub: string; id: string }> = [];
  private pumpRunning = false;
  private pumpDone: Promise<void> = Promise.resolve();
  private replay: Received[] = [];
  private loop: Promise<void> | undefined;

  constructor(
    readonly name: string,
    readonly filter: FilterInit,
    private readonly client: GrepClient,
    readonly durableName: string | undefined,
    private readonly deadline: number,
  ) {}

  start(signal: AbortSignal): void {
    this.loop = this.run(signal);
  }

  done(): Promise<void> {
    return this.loop ?? Promise.resolve();
  }

  private count(kind: string): void {
    this.errors.set(kind, (this.errors.get(kind) ?? 0) + 1);
  }

  private notify(): void {
    for (const w of [...this.waiters]) w();
  }

  private request() {
    const filter = { topics: this.filter.topics, query: this.filter.query };
    if (this.durableName) {
      // Before the first `started`, the server may or may not have stored the name: ask for earliest too (ignored once stored).
      return this.initialStart === undefined ? { filter, durableName: this.durableName, start: { position: { case: "earliest" as const, value: true } } } : { filter, durableName: this.durableName };
    }
    return this.lastId === undefined
      ? { filter, start: { position: { case: "earliest" as const, value: true } } }
      : { filter, start: { position: { case: "afterEventId" as const, value: this.lastId } } };
  }

  private async run(signal: AbortSignal): Promise<void> {
    let backoff = 10;
    while (!signal.aborted && Date.now() < this.deadline) {
      let started = false;
      try {
        for await (const m of this.client.subscribe(this.request(), { signal })) {
          switch (m.kind.case) {
            case "started":
              started = true;
              backoff = 10;
              this.onStarted(m.kind.value);
              if (this.fatal) return;
              break;
            case "event":
              this.onEvent(received(m.kind.value));
              break;
            case "gap":
              this.problems.push(`${this.name}: gap ${JSON.stringify({ ...m.kind.value, count: String(m.kind.value.count) })}`);
              break;
            case "progress":
              this.progress = { scanned: m.kind.value.scanned, total: m.kind.value.total, at: Date.now(), events: this.events.length };
              break;
            case "heartbeat":
              this.heartbeat = { head: m.kind.value.headEventId, lag: m.kind.value.lag, afterEvents: this.events.length };
              this.notify();
              break;
          }
        }
        if (signal.aborted) return;
        this.count("stream ended without error");
      } catch (err) {
        if (signal.aborted) return;
        const k = errorKind(err);
        if (FATAL.has(k.code)) {
          this.problems.push(`${this.name}: subscribe failed for good: ${k.text} (request ${JSON.stringify(this.request())})`);
          this.fatal = true;
          this.notify();
          return;
        }
        this.count(k.text);
      }
      await this.onDisconnect();
      // The server is down (or restarting): retry soon, backing off a little.
      if (!started) {
        await sleep(backoff).catch(() => {});
        backoff = Math.min(backoff * 2, 200);
      }
    }
  }

  private onStarted(st: Started): void {
    this.connects++;
    this.subscriptionId = st.subscriptionId;
    if (this.streamId === "") this.streamId = st.streamId;
    else if (st.streamId !== this.streamId) this.problems.push(`${this.name}: stream id changed from ${this.streamId} to ${st.streamId}`);
    const resolved = st.resolvedAfterEventId;
    if (!this.durableName) {
      if (this.lastId !== undefined && resolved !== this.lastId) {
        this.problems.push(`${this.name}: resumed after ${this.lastId} but the server resolved ${resolved}`);
      }
      return;
    }
    if (this.initialStart === undefined) {
      this.initialStart = resolved;
      this.confirmedAck = resolved;
      return;
    }
    // The server resumes after its stored last ack: the last confirmed one, or an ack whose outcome was unknown.
    const allowed = [this.confirmedAck!, ...this.uncertainAcks];
    if (!allowed.includes(resolved)) {
      this.problems.push(
        `${this.name}: resumed after ${resolved}, but its last confirmed ack was ${this.confirmedAck} (uncertain: ${this.uncertainAcks.join(",") || "none"})`,
      );
      this.fatal = true;
      this.notify();
      return;
    }
    const i = resolved === this.initialStart ? -1 : this.events.findIndex((e) => e.id === resolved);
    if (i < 0 && resolved !== this.initialStart) {
      this.problems.push(`${this.name}: resumed after ${resolved}, an event it never received`);
      this.fatal = true;
      this.notify();
      return;
    }
    // Received after the resume point but not (confirmed) acked: they come again, and must be the same.
    this.replay = this.events.splice(i + 1);
    this.lastId = this.events.at(-1)?.id;
    this.confirmedAck = resolved;
    this.uncertainAcks = [];
  }

  private onEvent(e: Received): void {
    const prev = this.events.at(-1);
    if (prev && (prev.epoch === e.epoch ? e.seq !== prev.seq + 1 : e.seq !== 1)) {
      this.problems.push(`${this.name}: ${show(e)} follows ${show(prev)}`);
    }
    if (!prev && e.seq !== 1) this.problems.push(`${this.name}: first event ${show(e)} has seq ${e.seq}, not 1`);
    if (this.replay.length > 0) {
      const was = this.replay.shift()!;
      this.redelivered++;
      if (was.id !== e.id || was.valueJson !== e.valueJson || addr(was) !== addr(e)) {
        this.problems.push(`${this.name}: re-delivered ${show(e)} where it had received ${show(was)}`);
      }
    }
    this.events.push(e);
    this.lastId = e.id;
    this.lastEventAt = Date.now();
    if (this.durableName) {
      this.ackQueue.push({ sub: this.subscriptionId, id: e.id });
      if (!this.pumpRunning) {
        this.pumpRunning = true;
        this.pumpDone = this.pump();
      }
    }
    this.notify();
  }

  /** Acks queued events one call at a time, in order; stops at the first failure (the connection broke). */
  private async pump(): Promise<void> {
    try {
      for (let a = this.ackQueue.shift(); a; a = this.ackQueue.shift()) {
        try {
          await this.client.ack({ subscriptionId: a.sub, eventId: a.id }, { timeoutMs: 10_000 });
          this.acks++;
          if (a.sub === this.subscriptionId) this.confirmedAck = a.id;
          this.notify();
        } catch (err) {
          const k = errorKind(err);
          // NOT_FOUND: the subscription is unknown to this server, so nothing was stored.
          if (k.code !== Code.NotFound) this.uncertainAcks.push(a.id);
          this.count(`ack ${k.text}`);
          this.ackQueue = [];
          return;
        }
      }
    } finally {
      // In the same turn as the last look at the queue, so an event queued later starts a new pump.
      this.pumpRunning = false;
    }
  }

  private async onDisconnect(): Promise<void> {
    if (!this.durableName) return;
    this.ackQueue = [];
    if (this.pumpRunning) await Promise.race([this.pumpDone, sleep(15_000, undefined, { ref: false })]);
    if (this.pumpRunning) this.problems.push(`${this.name}: an Ack call did not settle within 15 s of the disconnect`);
  }

  /**
   * Resolves once it has >= n events and a heartbeat after the last one says
   * lag 0 and names it as the head (unless the head epoch is still empty);
   * a durable one must also have its last event acked.
   */
  caughtUp(n: number, deadline: number): Promise<boolean> {
    const settled = () =>
      this.heartbeat !== undefined &&
      this.heartbeat.afterEvents === this.events.length &&
      this.heartbeat.lag === 0n &&
      // The head epoch's newest event is the last one received (or the head epoch has none yet).
      (this.heartbeat.head === this.lastId || decodeEventId(this.heartbeat.head).seq === 0) &&
      (!this.durableName || (this.confirmedAck === this.lastId && this.ackQueue.length === 0));
    const ok = () => this.events.length >= n && settled();
    // Fewer than n, nothing new for a while and the server says there is nothing more: give up early.
    // "Nothing new" counts from the wait's start, the last event and the last progress report: a
    // backfill that has not found its first match yet reports progress (and a heartbeat saying
    // lag 0, since nothing is numbered yet), and is not a stall.
    const waitStart = Date.now();
    const stalled = () => settled() && Date.now() - Math.max(waitStart, this.lastEventAt, this.progress?.at ?? 0) > STALL_MS;
    return new Promise((resolve) => {
      const check = () => {
        if (ok() || stalled() || this.fatal || Date.now() > deadline) {
          this.waiters.delete(check);
          clearTimeout(timer);
          resolve(ok());
        }
      };
      const timer = setTimeout(check, Math.max(0, deadline - Date.now()) + 10);
      this.waiters.add(check);
      check();
    });
  }

  describe(): string {
    return `${this.name}: ${this.events.length} events, ${this.connects} connects, errors ${JSON.stringify(Object.fromEntries(this.errors))}` +
      (this.durableName ? `, ${this.acks} acks, ${this.redelivered} re-delivered` : "") +
      `, last ${show(this.events.at(-1))}, heartbeat ${JSON.stringify(this.heartbeat, big)}, progress ${JSON.stringify(this.progress, big)}`;
  }
}

interface LogMessage {
  readonly n: number;
  readonly hit: boolean;
  readonly valueJson: string;
}

/** Problems of one client's final list against the expected addresses and the log. */
function checkList(c: Subscriber, expected: ReadonlySet<string>, log: ReadonlyMap<string, LogMessage>): string[] {
  const out: string[] = [];
  const ids = new Set<string>();
  const addrs = new Set<string>();
  const lastOffset = new Map<string, number>();
  const epochsSeen: number[] = [];
  for (const [i, e] of c.events.entries()) {
    if (ids.has(e.id)) out.push(`#${i} duplicate event ID ${e.id} ${show(e)}`);
    ids.add(e.id);
    if (addrs.has(addr(e))) out.push(`#${i} duplicate message ${show(e)}`);
    addrs.add(addr(e));
    if (!expected.has(addr(e))) out.push(`#${i} ${show(e)} is not a matching message of the log`);
    const m = log.get(addr(e));
    if (m && m.valueJson !== e.valueJson) out.push(`#${i} ${show(e)} has payload ${e.valueJson}, the log ${m.valueJson}`);
    const a = decodeEventId(e.id);
    if (a.streamId !== c.streamId || a.epoch !== e.epoch || a.seq !== e.seq) out.push(`#${i} ID ${e.id} decodes to ${JSON.stringify(a)}, the event says ${show(e)}`);
    if (epochsSeen.at(-1) !== e.epoch) {
      if (epochsSeen.includes(e.epoch)) out.push(`#${i} epoch ${e.epoch} comes back after epoch ${epochsSeen.at(-1)}`);
      epochsSeen.push(e.epoch);
      if (e.seq !== 1) out.push(`#${i} epoch ${e.epoch} starts at seq ${e.seq}`);
    } else if (e.seq !== c.events[i - 1]!.seq + 1) out.push(`#${i} ${show(e)} follows ${show(c.events[i - 1])}`);
    const pk = `${e.epoch}/${e.partition}`;
    if ((lastOffset.get(pk) ?? -1) >= e.offset) out.push(`#${i} ${show(e)}: offset not after ${lastOffset.get(pk)} in its epoch and partition`);
    lastOffset.set(pk, e.offset);
  }
  const missing = [...expected].filter((a) => !addrs.has(a));
  if (missing.length > 0) out.push(`${missing.length} matching messages missing: ${missingRuns(expected, addrs, log)}`);
  return out.slice(0, 12).map((p) => `${c.name}: ${p}`);
}

/** Missing matches as runs per partition (consecutive matching messages of the partition that are all missing). */
function missingRuns(expected: ReadonlySet<string>, have: ReadonlySet<string>, log: ReadonlyMap<string, LogMessage>): string {
  const byPartition = new Map<number, number[]>();
  for (const a of expected) {
    const [p, o] = a.split(":").map(Number) as [number, number];
    byPartition.set(p, [...(byPartition.get(p) ?? []), o]);
  }
  const runs: string[] = [];
  for (const [p, offsets] of [...byPartition].sort((x, y) => x[0] - y[0])) {
    offsets.sort((x, y) => x - y);
    let run: number[] = [];
    const flush = () => {
      if (run.length > 0) runs.push(`p${p} offsets ${run[0]}..${run.at(-1)} (${run.length} matches, n=${log.get(`${p}:${run[0]}`)?.n}..${log.get(`${p}:${run.at(-1)}`)?.n})`);
      run = [];
    };
    for (const o of offsets) {
      if (have.has(`${p}:${o}`)) flush();
      else run.push(o);
    }
    flush();
  }
  return `${runs.length} runs: ${runs.slice(0, 16).join("; ")}`;
}

/** The first difference between two clients' lists, or undefined. */
function firstDifference(a: Subscriber, b: Subscriber): string | undefined {
  const key = (e: Received) => `${e.id}|${e.epoch}|${e.seq}|${addr(e)}|${e.valueJson}`;
  const n = Math.max(a.events.length, b.events.length);
  for (let i = 0; i < n; i++) {
    const x = a.events[i];
    const y = b.events[i];
    if (!x || !y || key(x) !== key(y)) return `${a.name} and ${b.name} differ at #${i}: ${show(x)} vs ${show(y)} (lengths ${a.events.length}, ${b.events.length})`;
  }
  return undefined;
}

/**
 * Defines the test for one source. One test file per source: each runs for
 * 1.5-2 minutes on two cores, and both in one file would pass the runner's
 * per-file timeout.
 */
export function sigkillTest(source: SourceName): void {
  it(`SIGKILL at random moments loses, repeats and renumbers nothing (${source})`, { timeout: 240_000 }, async (t) => {
    const t0 = Date.now();
    const seed = Number(process.env.GREP_STREAMS_CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31));
    t.diagnostic(`seed ${seed} (GREP_STREAMS_CRASH_SEED=${seed} repeats the schedule), ${CYCLES} cycles`);
    const rand = mulberry32(seed);
    const deadline = t0 + 200_000;

    const dataDir = mkdtempSync(join(tmpdir(), "grep-streams-crash-"));
    const topic = source === "kafka" ? uniqueTopic("crash") : "crash";
    // Two match workers, whatever the machine: partitions are matched on different threads while the server is killed.
    const server = new ServerProcess({ port: await freePort(), dataDir, extraArgs: ["--match-workers", "2"], ...(source === "kafka" ? { kafkaBrokers: testKafka! } : {}) });
    const client = createClient(GrepService, createConnectTransport({ baseUrl: server.url, httpVersion: "1.1" }));
    const stopAll = new AbortController();
    let producing = true;
    let kafkaProducers: Producer<string, string, string, string>[] = [];
    // One hook, in this order: stop the test's loops, kill the server processes, then remove what the test made.
    t.after(async () => {
      producing = false;
      stopAll.abort();
      server.killAll();
      await Promise.all(server.lives.map((l) => l.exited));
      await Promise.allSettled(kafkaProducers.map((p) => p.close()));
      if (source === "kafka") await deleteTestTopics(topic);
      if (process.env.GREP_STREAMS_CRASH_KEEP) t.diagnostic(`data directory kept: ${dataDir}`);
      else rmSync(dataDir, { recursive: true, force: true });
    });

    // Producers: JSON values with a unique n; half match filter A (hit), a third filter B (n % 3 == 0).
    let nextN = 0;
    const sent = new Set<number>(); // acknowledged by the server (embedded) or the broker (Kafka)
    const uncertain = new Set<number>(); // some produce of it failed with an unknown outcome
    const message = (n: number, r: () => number) => ({
      key: [`k${n % 13}`, `u${n % 7}`],
      valueJson: JSON.stringify({ n, hit: n % 2 === 0, pad: "x".repeat(Math.floor(r() * 64)) }),
    });
    let produceErrors = 0;
    if (source === "kafka") {
      await createTestTopic(topic, PARTITIONS);
      kafkaProducers = [0, 1].map(
        (i) =>
          new Producer({
            clientId: `grep-streams-crash-producer-${i}`,
            bootstrapBrokers: [testKafka!],
            idempotent: true,
            acks: ProduceAcks.ALL,
            serializers: stringSerializers,
          }),
      );
    }
    /** Sends one batch until it is acknowledged; a failed attempt may have written it (at-least-once). */
    const sendBatch = async (producer: number, ns: number[], r: () => number) => {
      const msgs = ns.map((n) => message(n, r));
      for (let attempt = 0; ; attempt++) {
        if (Date.now() > deadline || stopAll.signal.aborted) throw new Error(`produce of n=${ns[0]}.. did not succeed before the deadline`);
        try {
          if (source === "kafka") {
            await kafkaProducers[producer]!.send({
              messages: msgs.map((m) => {
                const key = JSON.stringify(m.key);
                return { topic, partition: partitionForKey(Buffer.from(key), PARTITIONS), key, value: m.valueJson };
              }),
            });
          } else {
            await client.produce({ topic, messages: msgs }, { timeoutMs: 10_000 });
          }
          for (const n of ns) sent.add(n);
          return;
        } catch {
          produceErrors++;
          for (const n of ns) uncertain.add(n);
          await sleep(Math.min(200, 10 * 2 ** attempt));
        }
      }
    };

    await server.start();
    {
      const r = mulberry32(seed ^ 0x5eed);
      for (let i = 0; i < PRELOAD; i += 500) await sendBatch(0, Array.from({ length: 500 }, () => nextN++), r);
    }
    let produceFailure: unknown;
    const producerLoops = [0, 1].map(async (p) => {
      const r = mulberry32(seed + 1 + p);
      while (producing) {
        const ns = Array.from({ length: 1 + Math.floor(r() * 30) }, () => nextN++);
        await sendBatch(p, ns, r);
        // Pacing: a few hundred messages a second. The embedded log's producers also wait
        // out the server's down times; Kafka's do not, so they go slower to write about as much.
        await sleep(source === "kafka" ? 60 + r() * 120 : 5 + r() * 25);
      }
    }).map((loop) => loop.catch((err: unknown) => void (produceFailure ??= err)));

    const filters: Record<"A" | "B", FilterInit> = {
      A: { topics: [topic], query: '{"hit":true}' },
      B: { topics: [topic], query: '{"n":{"$mod":[3,0]}}' },
    };
    const clients: Subscriber[] = [];
    // What happened when, by the producers' next n (printed when something fails).
    const timeline: string[] = [];
    const mark = (what: string) => timeline.push(`${Date.now() - t0} ms, next n ${nextN}: ${what}`);
    const startClients = (cycle: number) => {
      for (const s of SCHEDULE.filter((x) => x.cycle === cycle)) {
        mark(`${s.name} starts`);
        const c = new Subscriber(s.name, filters[s.filter], client, s.durable ? `crash-durable-${seed}` : undefined, deadline);
        c.start(stopAll.signal);
        clients.push(c);
      }
    };

    // The kill schedule: mostly while running (some right after ready), sometimes during startup.
    let earlyKills = 0;
    startClients(0);
    for (let cycle = 1; cycle <= CYCLES; cycle++) {
      const uptime = rand() < 0.25 ? rand() * 150 : 150 + rand() * 1350;
      await sleep(uptime);
      await server.kill();
      mark(`SIGKILL ${cycle}`);
      await sleep(rand() * 100);
      if (rand() < 0.15) {
        const life = server.spawn();
        await Promise.race([life.ready.catch(() => {}), sleep(rand() * 500)]);
        await server.kill();
        earlyKills++;
      }
      await server.start();
      mark(`ready ${cycle}`);
      startClients(cycle);
      const broken = clients.find((c) => c.fatal);
      if (broken) break;
    }
    const killed = server.lives.length - 1;

    // The end: no more kills; producers finish their last batch.
    producing = false;
    await Promise.all(producerLoops);
    if (produceFailure) throw produceFailure;
    t.diagnostic(`${killed} SIGKILLs (${earlyKills} during startup) in ${Date.now() - t0} ms; ${sent.size} messages produced, ${produceErrors} failed produce attempts`);

    // What the log holds: every message, read from earliest by a filter no one used (a fresh stream).
    const topics = await client.listTopics({});
    const meta = topics.topics.find((x) => x.name === topic);
    assert.ok(meta, `topic ${topic} is listed`);
    const total = meta.partitions.reduce((s, p) => s + Number(p.endOffset - p.startOffset), 0);
    const all = new Subscriber("all", { topics: [topic], query: '{"n":{"$gte":0}}' }, client, undefined, deadline);
    all.start(stopAll.signal);
    const last = server.current!;
    assert.ok(
      await all.caughtUp(total, Date.now() + 60_000),
      `the fresh stream read the whole log (${total} messages): ${all.describe()}\n` +
        `server pid ${last.pid}: exit code ${last.child.exitCode}, signal ${last.child.signalCode} (null, null: still running)\n` +
        `server stderr:\n${server.tail.slice(-30).join("\n")}`,
    );
    assert.deepEqual(all.problems, []);
    assert.equal(all.events.length, total);
    const log = new Map<string, LogMessage>();
    const copies = new Map<number, number>();
    for (const e of all.events) {
      assert.ok(!log.has(addr(e)), `the log read has ${addr(e)} once`);
      const v = JSON.parse(e.valueJson) as { n: number; hit: boolean };
      log.set(addr(e), { n: v.n, hit: v.hit, valueJson: e.valueJson });
      copies.set(v.n, (copies.get(v.n) ?? 0) + 1);
    }
    for (const n of sent) assert.ok(copies.has(n), `acknowledged message n=${n} is in the log`);
    for (const [n, k] of copies) {
      assert.ok(sent.has(n), `n=${n} in the log was produced by this test`);
      if (k > 1) assert.ok(uncertain.has(n), `n=${n} is in the log ${k} times, but no produce of it failed`);
    }
    const duplicates = [...copies.values()].filter((k) => k > 1).length;
    if (source === "kafka") assert.equal(duplicates, 0, "the idempotent producer wrote no duplicates");

    const expected = {
      A: new Set([...log].filter(([, m]) => m.hit).map(([a]) => a)),
      B: new Set([...log].filter(([, m]) => m.n % 3 === 0).map(([a]) => a)),
    };
    // Checked after the clients (a wrong Count must not hide what the clients hold).
    const countProblems: string[] = [];
    for (const f of ["A", "B"] as const) {
      for await (const m of client.count({ filter: filters[f] }, { timeoutMs: 60_000 })) {
        if (m.kind.case !== "result") continue;
        const r = m.kind.value;
        t.diagnostic(`Count of filter ${f}: ${r.matched} matched (answered from ${r.answeredFrom}), the log holds ${expected[f].size}`);
        if (Number(r.matched) !== expected[f].size) countProblems.push(`Count of filter ${f} (answered from ${r.answeredFrom}) says ${r.matched} matches, the log holds ${expected[f].size}`);
      }
    }
    t.diagnostic(`log: ${total} messages (${duplicates} ids twice or more); expected A ${expected.A.size}, B ${expected.B.size}`);

    // Every client catches up: as many events as expected and a heartbeat naming its last event as the head.
    const caughtUpBy = Date.now() + 60_000;
    const caught = await Promise.all(clients.map((c) => c.caughtUp(expected[c.filter === filters.A ? "A" : "B"].size, caughtUpBy)));
    for (const c of clients) t.diagnostic(c.describe());
    const errorLines = server.errors.map(({ life, rec }) => `[life ${life}] ${JSON.stringify(rec)}`);
    const warnLines = server.warnings.map(({ life, rec }) => `[life ${life}] ${JSON.stringify(rec)}`);
    if (warnLines.length > 0) t.diagnostic(`server warn log lines: ${warnLines.length}, the first:`);
    for (const l of warnLines.slice(0, 10)) t.diagnostic(l);
    if (errorLines.length > 0) t.diagnostic(`server error log lines: ${errorLines.length}, the first:`);
    for (const l of errorLines.slice(0, 10)) t.diagnostic(l);

    // Everything that is wrong, in one list.
    const failures = clients.flatMap((c) => c.problems.slice(0, 10));
    for (const [i, c] of clients.entries()) if (!caught[i]) failures.push(`not caught up: ${c.describe()}`);
    for (const f of ["A", "B"] as const) {
      const group = clients.filter((c) => c.filter === filters[f]);
      failures.push(...group.flatMap((c) => checkList(c, expected[f], log)));
      for (const c of group.slice(1)) {
        const d = firstDifference(group[0]!, c);
        if (d) failures.push(`filter ${f}: ${d}`);
      }
      if (new Set(group.map((c) => c.streamId)).size !== 1) failures.push(`filter ${f}: clients saw different stream ids`);
      const epochs = new Map<number, number>();
      for (const e of group[0]!.events) epochs.set(e.epoch, e.seq);
      t.diagnostic(`filter ${f}: ${group[0]!.events.length} events, epochs (in order) ${JSON.stringify([...epochs].map(([epoch, last]) => ({ epoch, last })))}`);
    }
    failures.push(...countProblems);
    if (failures.length > 0) {
      t.diagnostic("timeline:");
      for (const l of timeline) t.diagnostic(l);
      t.diagnostic("server log tail:");
      for (const l of server.tail.slice(-15)) t.diagnostic(l);
    }
    assert.deepEqual(failures, [], "every client has exactly the matching messages of the log, once, in one order, densely numbered; Count agrees");

    stopAll.abort();
    await Promise.all([...clients, all].map((c) => c.done()));
    const code = await server.stop();
    assert.equal(code, 0, `after all the crashes, SIGTERM still shuts down cleanly; server log tail:\n${server.tail.slice(-10).join("\n")}`);
  });
}
