// Count: how many events match from the chosen start until now, with a
// progress bar and ETA while the server scans, and what answered it.
import type { GrepClient, GrepFilter } from "@grep-streams/sdk";
import { durationText, type ProgressView } from "./progress";

export class CountPanel {
  private running: AbortController | undefined;

  constructor(
    private readonly client: GrepClient,
    private readonly progress: ProgressView,
    private readonly result: HTMLElement,
    cancel: HTMLButtonElement,
  ) {
    cancel.addEventListener("click", () => this.running?.abort());
  }

  async run(filter: GrepFilter, fromMs: number): Promise<void> {
    this.running?.abort();
    const abort = (this.running = new AbortController());
    this.result.textContent = "";
    this.progress.show({ scanned: 0, total: 0, fraction: 0, etaMs: 0, matched: 0 });
    try {
      const r = await this.client.count(filter, {
        ...(fromMs > 0 ? { from: fromMs } : {}),
        signal: abort.signal,
        onProgress: (p) => this.progress.show({ scanned: p.messagesScanned, total: p.messagesTotal, fraction: p.fraction, etaMs: p.etaMs, matched: p.matched }),
      });
      const how = { scan: "scanned the source", index: "answered from the stream's index", cache: "answered from the cache" }[r.answeredFrom] ?? r.answeredFrom;
      this.result.textContent =
        `Count: ${r.matched.toLocaleString("en-US")} matches in ${r.messagesScanned.toLocaleString("en-US")} messages ` +
        `${fromMs > 0 ? `since ${new Date(fromMs).toLocaleString()}` : "in all history"} (${how}, ${durationText(r.elapsedMs)})` +
        (r.skippedNonJson + r.skippedBadKey > 0 ? `; skipped ${r.skippedNonJson} non-JSON values and ${r.skippedBadKey} keys that are not string arrays` : "");
    } catch (err) {
      this.result.textContent = abort.signal.aborted ? "Count cancelled." : `Count failed: ${(err as Error).message}`;
    } finally {
      if (this.running === abort) this.running = undefined;
      this.progress.hide();
    }
  }
}
