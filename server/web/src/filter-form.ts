// The filter form: topics picked from the server's list (or a regex), the
// query, the key prefix and the start. Every change is checked by the
// server's ValidateFilter as the user types, and its reason is shown next to
// the field it is about, so the same rules apply here as on Subscribe.
import type { GrepClient, GrepFilterProblem } from "@grep-streams/sdk";
import { filterOf, type ConsoleQuery } from "./console-query";

const CHECK_AFTER_MS = 150;

export interface FilterFormElements {
  readonly form: HTMLFormElement;
  readonly topicList: HTMLElement;
  readonly topicRegex: HTMLInputElement;
  readonly query: HTMLTextAreaElement;
  readonly keyPrefix: HTMLInputElement;
  readonly start: HTMLSelectElement;
  readonly startTime: HTMLInputElement;
  readonly run: HTMLButtonElement;
  readonly notes: HTMLElement;
  /** Where each field's problems go. */
  readonly errors: { readonly topics: HTMLElement; readonly query: HTMLElement; readonly key: HTMLElement };
}

export class FilterForm {
  private readonly selected = new Set<string>();
  private known: string[] = [];
  private checking: AbortController | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private valid = false;

  constructor(
    private readonly client: GrepClient,
    private readonly el: FilterFormElements,
  ) {
    el.topicList.addEventListener("click", (e) => {
      const chip = (e.target as HTMLElement).closest<HTMLButtonElement>(".chip");
      if (!chip?.dataset.topic) return;
      const t = chip.dataset.topic;
      if (!this.selected.delete(t)) this.selected.add(t);
      chip.setAttribute("aria-pressed", String(this.selected.has(t)));
      this.changed();
    });
    for (const input of [el.topicRegex, el.query, el.keyPrefix, el.startTime]) input.addEventListener("input", () => this.changed());
    el.start.addEventListener("change", () => {
      el.startTime.hidden = el.start.value !== "time";
      if (el.start.value === "time" && !el.startTime.value) el.startTime.value = localInputValue(Date.now() - 3_600_000);
      this.changed();
    });
  }

  get isValid(): boolean {
    return this.valid;
  }

  /** Shows the server's topics as chips, keeping what is selected (also topics that do not exist yet). */
  setTopics(names: readonly string[]): void {
    this.known = [...names].sort();
    const all = [...new Set([...this.known, ...this.selected])].sort();
    this.el.topicList.replaceChildren(
      ...all.map((t) => {
        const b = document.createElement("button");
        b.type = "button";
        b.className = "chip";
        b.dataset.topic = t;
        b.textContent = t;
        b.setAttribute("aria-pressed", String(this.selected.has(t)));
        if (!this.known.includes(t)) b.title = "does not exist yet";
        return b;
      }),
    );
  }

  /** Puts a query into the form (from the URL) and checks it. */
  fill(q: ConsoleQuery): void {
    this.selected.clear();
    for (const t of q.topics) this.selected.add(t);
    this.setTopics(this.known);
    this.el.topicRegex.value = q.topicRegex;
    this.el.query.value = q.query;
    this.el.keyPrefix.value = q.keyPrefix.join(", ");
    if (q.from === "latest" || q.from === "earliest") {
      this.el.start.value = q.from;
      this.el.startTime.hidden = true;
    } else {
      this.el.start.value = "time";
      this.el.startTime.hidden = false;
      const t = Date.parse(q.from);
      this.el.startTime.value = Number.isNaN(t) ? "" : localInputValue(t);
    }
    this.changed(0);
  }

  read(newestFirst: boolean): ConsoleQuery {
    const time = Date.parse(this.el.startTime.value); // datetime-local: local time
    return {
      topics: [...this.selected].sort(),
      topicRegex: this.el.topicRegex.value.trim(),
      query: this.el.query.value.trim(),
      keyPrefix: this.el.keyPrefix.value
        .split(",")
        .map((k) => k.trim())
        .filter((k) => k !== ""),
      from: this.el.start.value === "time" ? (Number.isNaN(time) ? "latest" : new Date(time).toISOString()) : this.el.start.value,
      newestFirst,
    };
  }

  private changed(delay = CHECK_AFTER_MS): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.check(), delay);
  }

  /** Asks the server; an answer to an older version of the form is dropped. */
  private async check(): Promise<void> {
    this.checking?.abort();
    const abort = (this.checking = new AbortController());
    const q = this.read(true);
    const local = this.el.start.value === "time" && Number.isNaN(Date.parse(this.el.startTime.value)) ? "start: pick a date and time" : "";
    try {
      const v = await this.client.validateFilter(filterOf(q), { signal: abort.signal });
      if (abort.signal.aborted) return;
      this.show(v.ok ? [] : v.problems, v.ok ? v.warnings : [], local);
      this.valid = v.ok && !local;
    } catch (err) {
      if (abort.signal.aborted) return;
      this.show([], [], `cannot check the filter: ${(err as Error).message}`);
      this.valid = false;
    }
    this.el.run.disabled = !this.valid;
  }

  private show(problems: readonly GrepFilterProblem[], warnings: readonly string[], other: string): void {
    const byBox = { topics: [] as string[], query: [] as string[], key: [] as string[] };
    for (const p of problems) byBox[boxOf(p.field)].push(problemText(p));
    for (const [box, texts] of Object.entries(byBox) as [keyof typeof byBox, string[]][]) this.el.errors[box].textContent = texts.join("\n");
    this.el.topicRegex.setAttribute("aria-invalid", String(problems.some((p) => p.field === "topic_regex")));
    this.el.query.setAttribute("aria-invalid", String(problems.some((p) => boxOf(p.field) === "query")));
    this.el.keyPrefix.setAttribute("aria-invalid", String(problems.some((p) => boxOf(p.field) === "key")));
    const notes = [...warnings, ...(other ? [other] : [])];
    this.el.notes.replaceChildren(
      ...notes.map((n) => {
        const s = document.createElement("span");
        s.className = "warn";
        s.textContent = `${n} `;
        return s;
      }),
    );
  }
}

function boxOf(field: string): "topics" | "query" | "key" {
  if (field === "query" || field === "projection") return "query";
  if (field === "key_prefix" || field === "key_regex") return "key";
  return "topics";
}

/** The server's message without the "filter." it starts with: the field is already where it shows. */
function problemText(p: GrepFilterProblem): string {
  return p.message.replace(/^filter\./, "");
}

/** The value a datetime-local input takes for a time: local, to the second. */
function localInputValue(ms: number): string {
  const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60_000);
  return d.toISOString().slice(0, 19);
}
