// Where a stream shown in this tab got to, kept in sessionStorage: a reload
// resumes exactly after the last event shown, and shows the newest rows it
// had again. Per tab, like the page's history; a new tab starts afresh.
import { isRow, type Row } from "./rows";

/** Rows kept across a reload; older ones stay on the server (start earlier to see them). */
const KEEP_ROWS = 1000;
const PREFIX = "grep-streams:";

export interface Saved {
  /** Resume after this event (or gap) ID. */
  readonly after: string;
  /** Matches shown before (the table gets back at most the newest KEEP_ROWS of them). */
  readonly total: number;
  readonly rows: readonly Row[];
}

export class ResumeStore {
  constructor(private readonly storage: Storage = sessionStorage) {}

  load(streamKey: string): Saved | null {
    try {
      const pos = JSON.parse(this.storage.getItem(`${PREFIX}${streamKey}:after`) ?? "null") as { after?: unknown; total?: unknown } | null;
      if (!pos || typeof pos.after !== "string") return null;
      const rows = JSON.parse(this.storage.getItem(`${PREFIX}${streamKey}:rows`) ?? "[]") as unknown;
      return { after: pos.after, total: typeof pos.total === "number" ? pos.total : 0, rows: Array.isArray(rows) ? rows.filter(isRow) : [] };
    } catch {
      return null;
    }
  }

  /** Cheap, for every batch of rows: the resume point only. */
  saveAfter(streamKey: string, after: string, total: number): void {
    this.write(`${PREFIX}${streamKey}:after`, JSON.stringify({ after, total }));
  }

  /** When the page goes away: the newest rows too. */
  saveRows(streamKey: string, rows: readonly Row[]): void {
    if (!this.write(`${PREFIX}${streamKey}:rows`, JSON.stringify(rows.slice(-KEEP_ROWS)))) this.storage.removeItem(`${PREFIX}${streamKey}:rows`);
  }

  forget(streamKey: string): void {
    this.storage.removeItem(`${PREFIX}${streamKey}:after`);
    this.storage.removeItem(`${PREFIX}${streamKey}:rows`);
  }

  private write(key: string, value: string): boolean {
    try {
      this.storage.setItem(key, value);
      return true;
    } catch {
      return false; // full or unavailable: a reload starts without the rows, or afresh
    }
  }
}
