// A progress bar with the fraction done, the counts and the time left, for
// a backfill of history and for Count.

export interface ProgressView {
  show(p: { scanned: number; total: number; fraction: number; etaMs: number; matched: number }): void;
  hide(): void;
}

export function progressView(box: HTMLElement, bar: HTMLProgressElement, text: HTMLElement): ProgressView {
  return {
    show(p) {
      box.hidden = false;
      const fraction = p.total > 0 ? Math.min(1, p.fraction) : 0;
      bar.value = fraction;
      const eta = p.etaMs > 0 ? ` · ${durationText(p.etaMs)} left` : fraction >= 1 ? " · done" : "";
      text.textContent = `${Math.floor(fraction * 100)}% · ${p.scanned.toLocaleString("en-US")}/${p.total.toLocaleString("en-US")} scanned · ${p.matched.toLocaleString("en-US")} matched${eta}`;
    },
    hide() {
      box.hidden = true;
    },
  };
}

export function durationText(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))} ms`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}
