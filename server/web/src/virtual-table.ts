// The event table. It keeps every row in an array but puts only the visible
// ones (plus a few) in the DOM, so 100,000 rows cost as much to draw as 40.
// Rows are one fixed height; an expanded row is taller by what its JSON
// needs, measured after it is drawn. Few rows are expanded at once, so
// positions are computed by walking the expanded ones.
import { prettyValue, timeText, type Row } from "./rows";

/** Rows kept at most; beyond it the oldest go (the page must not grow without bound). */
export const MAX_ROWS = 200_000;
const OVERSCAN = 8;

interface Expanded {
  /** Arrival number of the row (see `first`). */
  readonly n: number;
  extra: number;
}

export class VirtualTable {
  private rows: Row[] = [];
  /** Arrival number of rows[0]: rows dropped from the front so far. */
  private first = 0;
  private readonly expanded = new Map<string, Expanded>();
  private newestFirst = true;
  private frame = 0;
  private readonly rowHeight: number;
  private readonly drawn = new Map<string, HTMLElement>();
  /** Set by append: follow the tail at the next draw (oldest first, reader at the bottom). */
  private stickToBottom = false;

  constructor(
    private readonly viewport: HTMLElement,
    private readonly spacer: HTMLElement,
    private readonly layer: HTMLElement,
    private readonly empty: HTMLElement,
  ) {
    this.rowHeight = parseFloat(getComputedStyle(viewport).getPropertyValue("--row-h")) || 28;
    viewport.addEventListener("scroll", () => this.schedule(), { passive: true });
    new ResizeObserver(() => this.schedule()).observe(viewport);
    layer.addEventListener("click", (e) => {
      const line = (e.target as HTMLElement).closest(".row-line");
      const id = line?.parentElement?.dataset.id;
      if (id !== undefined) this.toggle(id);
    });
    layer.addEventListener("keydown", (e) => {
      if (e.key !== "Enter" && e.key !== " ") return;
      const id = (e.target as HTMLElement).closest<HTMLElement>(".event")?.dataset.id;
      if (id === undefined) return;
      e.preventDefault();
      this.toggle(id);
    });
  }

  /** All rows in arrival order (oldest first). */
  all(): readonly Row[] {
    return this.rows;
  }

  append(batch: readonly Row[]): void {
    if (batch.length === 0) return;
    const atTop = this.viewport.scrollTop <= 1;
    const atBottom = this.viewport.scrollTop + this.viewport.clientHeight >= this.viewport.scrollHeight - this.rowHeight * 2;
    for (const r of batch) this.rows.push(r);
    if (this.rows.length > MAX_ROWS) {
      // Drop a tenth at once: shifting a 200k array per event would cost more than the rows.
      const drop = this.rows.length - MAX_ROWS + Math.floor(MAX_ROWS / 10);
      for (const r of this.rows.slice(0, drop)) this.expanded.delete(r.id);
      this.rows.splice(0, drop);
      this.first += drop;
    }
    // Keep what the reader looks at still: newest first, new rows come in
    // above; oldest first, a reader at the bottom follows the tail.
    if (this.newestFirst && !atTop) this.viewport.scrollTop += batch.length * this.rowHeight;
    if (!this.newestFirst && atBottom) this.stickToBottom = true;
    this.schedule();
  }

  clear(): void {
    this.rows = [];
    this.first = 0;
    this.expanded.clear();
    this.viewport.scrollTop = 0;
    this.schedule();
  }

  setNewestFirst(newestFirst: boolean): void {
    if (newestFirst === this.newestFirst) return;
    this.newestFirst = newestFirst;
    this.viewport.scrollTop = newestFirst ? 0 : this.viewport.scrollHeight;
    this.stickToBottom = !newestFirst;
    this.schedule();
  }

  toggle(id: string): void {
    if (this.expanded.delete(id)) {
      this.drawn.get(id)?.remove();
      this.drawn.delete(id);
    } else {
      const i = this.rows.findIndex((r) => r.id === id);
      if (i < 0) return;
      this.expanded.set(id, { n: this.first + i, extra: 0 });
      this.drawn.get(id)?.remove();
      this.drawn.delete(id);
    }
    this.schedule();
  }

  private schedule(): void {
    if (this.frame === 0) this.frame = requestAnimationFrame(() => this.render());
  }

  private displayIndex(n: number): number {
    const i = n - this.first;
    return this.newestFirst ? this.rows.length - 1 - i : i;
  }

  private rowAt(d: number): Row | undefined {
    return this.rows[this.newestFirst ? this.rows.length - 1 - d : d];
  }

  /** Expanded rows by display position, with their extra heights. */
  private expandedByPosition(): { d: number; extra: number }[] {
    return [...this.expanded.values()].map((e) => ({ d: this.displayIndex(e.n), extra: e.extra })).sort((a, b) => a.d - b.d);
  }

  private render(): void {
    this.frame = 0;
    const h = this.rowHeight;
    const count = this.rows.length;
    const ex = this.expandedByPosition();
    const extraTotal = ex.reduce((s, e) => s + e.extra, 0);
    this.spacer.style.height = `${count * h + extraTotal}px`;
    this.empty.hidden = count > 0;
    if (this.stickToBottom) {
      this.viewport.scrollTop = this.viewport.scrollHeight;
      this.stickToBottom = false;
    }

    const top = this.viewport.scrollTop;
    const bottom = top + this.viewport.clientHeight;
    const firstIndex = Math.max(0, this.indexAt(top, ex) - OVERSCAN);
    const lastIndex = Math.min(count - 1, this.indexAt(bottom, ex) + OVERSCAN);

    const keep = new Set<string>();
    let y = this.offsetOf(firstIndex, ex);
    let measured = false;
    for (let d = firstIndex; d <= lastIndex; d++) {
      const row = this.rowAt(d);
      if (!row) break;
      keep.add(row.id);
      let el = this.drawn.get(row.id);
      const open = this.expanded.get(row.id);
      if (!el) {
        el = this.draw(row, open !== undefined);
        this.drawn.set(row.id, el);
        this.layer.appendChild(el);
      }
      el.style.transform = `translateY(${y}px)`;
      let height = h;
      if (open) {
        const extra = Math.max(0, el.offsetHeight - h);
        if (extra !== open.extra) {
          open.extra = extra;
          measured = true;
        }
        height += extra;
      }
      y += height;
    }
    for (const [id, el] of this.drawn) {
      if (!keep.has(id)) {
        el.remove();
        this.drawn.delete(id);
      }
    }
    // An expanded row's height is known only once drawn: place the rest again.
    if (measured) this.schedule();
  }

  /** The display index of the row at height `y`. */
  private indexAt(y: number, ex: readonly { d: number; extra: number }[]): number {
    const h = this.rowHeight;
    let acc = 0;
    for (const e of ex) {
      const rowTop = e.d * h + acc;
      if (y < rowTop) break;
      if (y < rowTop + h + e.extra) return e.d;
      acc += e.extra;
    }
    return Math.max(0, Math.floor((y - acc) / h));
  }

  private offsetOf(d: number, ex: readonly { d: number; extra: number }[]): number {
    let acc = 0;
    for (const e of ex) {
      if (e.d >= d) break;
      acc += e.extra;
    }
    return d * this.rowHeight + acc;
  }

  private draw(row: Row, open: boolean): HTMLElement {
    const el = document.createElement("div");
    el.className = "event";
    el.dataset.id = row.id;
    el.setAttribute("role", "row");
    el.setAttribute("aria-expanded", String(open));
    el.tabIndex = 0;
    const line = document.createElement("div");
    line.className = "row-line";
    const cell = (cls: string, text: string) => {
      const s = document.createElement("span");
      s.className = cls;
      s.textContent = text;
      s.setAttribute("role", "cell");
      line.appendChild(s);
    };
    cell("c-time", timeText(row.time));
    cell("c-topic", row.topic);
    cell("c-pos", `${row.partition}:${row.offset}`);
    cell("c-key", row.key ? row.key.join("/") : "");
    cell("c-value", row.valueText);
    el.appendChild(line);
    if (open) {
      const pre = document.createElement("pre");
      pre.className = "detail";
      const meta = document.createElement("span");
      meta.className = "meta";
      meta.textContent =
        `${new Date(row.time).toISOString()}  ${row.topic}[${row.partition}]@${row.offset}` +
        `${row.key ? `  key ${JSON.stringify(row.key)}` : ""}${row.isJson ? "" : "  (not JSON)"}\nid ${row.id}`;
      pre.append(meta, prettyValue(row));
      el.appendChild(pre);
    }
    return el;
  }
}
