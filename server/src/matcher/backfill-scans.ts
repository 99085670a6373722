// Schedules backfill epochs onto shared scans (backfill.ts): an epoch joins a
// running scan it can join; otherwise it waits for one of `maxScans` slots
// and starts a scan of its own, which takes along every waiting epoch that
// can join it. So a burst of resumed streams over the same range is one scan,
// and at most `maxScans` scans read at once: each holds a read per partition
// in flight (on Kafka, fetch responses of up to a MiB each, on the same
// connections as everything else).
import type { Source } from "../source/types.js";
import type { Sequencer } from "../sequencer/sequencer.js";
import { Slots } from "../util/slots.js";
import { SharedBackfill, type BackfillMember } from "./backfill.js";

/** What an epoch waiting for a scan slot waits for (BackfillProgress.waitingFor). */
export const WAITING_FOR_SLOT = "a scan slot";

interface Waiter {
  readonly member: BackfillMember;
  /** Joins `scan` instead of waiting for a slot. */
  readonly joinInstead: (scan: SharedBackfill) => void;
}

export class BackfillScans {
  private readonly slots: Slots;
  private readonly running = new Set<SharedBackfill>();
  private readonly waiting = new Set<Waiter>();
  /** Epochs that joined a scan already running, since the start. */
  joined = 0;
  /** Records the scans read from the source since the start (each once per scan, however many epochs share it). */
  readonly stats = { recordsRead: 0 };

  constructor(
    private readonly source: Source,
    private readonly sequencer: Sequencer,
    private readonly opts: { readonly batchSize: number; readonly maxScans: number },
  ) {
    this.slots = new Slots(opts.maxScans);
  }

  /** Scans running now. */
  get scans(): number {
    return this.running.size;
  }

  /** Scans this epoch to its end with whichever scan it shares: resolves once complete, rejects when a read fails or its signal aborts. */
  async scan(member: BackfillMember): Promise<void> {
    member.signal.throwIfAborted();
    const running = this.joinable(member);
    if (running) return this.join(running, member);
    member.progress.waitingFor = WAITING_FOR_SLOT;
    const wait = new AbortController();
    const onAbort = () => wait.abort();
    member.signal.addEventListener("abort", onAbort, { once: true });
    let joined: Promise<void> | undefined;
    const waiter: Waiter = {
      member,
      joinInstead: (scan) => {
        this.waiting.delete(waiter);
        joined = this.join(scan, member);
        wait.abort();
      },
    };
    this.waiting.add(waiter);
    let release: (() => void) | null;
    try {
      release = await this.slots.acquire(wait.signal);
    } finally {
      this.waiting.delete(waiter);
      member.signal.removeEventListener("abort", onAbort);
    }
    if (joined) {
      // Taken along by a scan that started meanwhile (also when the slot came first).
      release?.();
      return joined;
    }
    if (release === null) {
      member.signal.throwIfAborted();
      return;
    }
    member.progress.waitingFor = "";
    // A scan may have started meanwhile that this epoch can join.
    const later = this.joinable(member);
    if (later) {
      release();
      return this.join(later, member);
    }
    const scan = new SharedBackfill(this.source, this.sequencer, this.opts.batchSize, this.stats);
    const done = scan.add(member);
    for (const w of [...this.waiting]) if (scan.canJoin(w.member.epoch)) w.joinInstead(scan);
    this.running.add(scan);
    void scan.run().finally(() => {
      this.running.delete(scan);
      release();
    });
    return done;
  }

  private joinable(member: BackfillMember): SharedBackfill | undefined {
    for (const scan of this.running) if (scan.canJoin(member.epoch)) return scan;
    return undefined;
  }

  private join(scan: SharedBackfill, member: BackfillMember): Promise<void> {
    this.joined++;
    member.progress.waitingFor = "";
    return scan.add(member);
  }
}
