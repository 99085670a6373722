// The console: wires the form, the stream, the table and the count to one
// client of the server that served the page (Connect protocol, binary).
import { createConnectTransport } from "@connectrpc/connect-web";
import { createGrepClient } from "@grep-streams/sdk";
import "./styles.css";
import { filterOf, queryFromUrl, queryToUrl, startOf, streamKeyOf, type ConsoleQuery } from "./console-query";
import { CountPanel } from "./count-panel";
import { FilterForm } from "./filter-form";
import { LiveStream, WINDOW, type StreamState } from "./live-stream";
import { progressView } from "./progress";
import { RateMeter } from "./rate";
import { ResumeStore } from "./resume-store";
import { VirtualTable } from "./virtual-table";

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`the page has no #${id}`);
  return el as T;
};

const client = createGrepClient(createConnectTransport({ baseUrl: location.origin, useBinaryFormat: true }));
const store = new ResumeStore();
const rate = new RateMeter();

const form = new FilterForm(client, {
  form: $<HTMLFormElement>("filter-form"),
  topicList: $("topic-list"),
  topicRegex: $<HTMLInputElement>("topic-regex"),
  query: $<HTMLTextAreaElement>("query"),
  keyPrefix: $<HTMLInputElement>("key-prefix"),
  start: $<HTMLSelectElement>("start"),
  startTime: $<HTMLInputElement>("start-time"),
  run: $<HTMLButtonElement>("run"),
  notes: $("filter-notes"),
  errors: { topics: $("topics-error"), query: $("query-error"), key: $("key-error") },
});
const table = new VirtualTable($("viewport"), $("spacer"), $("rows"), $("empty"));
const backfill = progressView($("backfill"), $<HTMLProgressElement>("backfill-bar"), $("backfill-text"));
const counter = new CountPanel(client, progressView($("counting"), $<HTMLProgressElement>("count-bar"), $("count-text")), $("count-result"), $<HTMLButtonElement>("count-cancel"));

const ui = {
  connection: $("connection"),
  total: $("total"),
  rate: $("rate"),
  lastId: $("last-id"),
  error: $("stream-error"),
  stop: $<HTMLButtonElement>("stop"),
  pause: $<HTMLButtonElement>("pause"),
  order: $<HTMLButtonElement>("order"),
};

/** What is shown: the stream's key, the matches shown so far, and the ID a reload resumes after. */
let shown: { key: string; total: number; after: string | undefined } = { key: "", total: 0, after: undefined };
let live: LiveStream | undefined;
let newestFirst = true;

function setState(s: StreamState): void {
  const text = {
    connecting: "connecting",
    live: "live",
    paused: `paused: the server holds new matches (window ${WINDOW})`,
    reconnecting: "reconnecting",
    stopped: "stopped",
    error: "error",
  }[s.kind];
  ui.connection.textContent = s.kind === "reconnecting" ? `reconnecting (attempt ${s.attempt})` : text;
  ui.connection.dataset.state = s.kind;
  ui.pause.disabled = !(s.kind === "live" || s.kind === "paused" || s.kind === "connecting");
  ui.pause.textContent = s.kind === "paused" ? "Resume" : "Pause";
  ui.pause.setAttribute("aria-pressed", String(s.kind === "paused"));
  ui.stop.disabled = s.kind === "stopped" || s.kind === "error";
  if (s.kind === "reconnecting") ui.error.textContent = `Connection lost (${s.error.message}); reconnecting and resuming after the last event shown.`;
  else if (s.kind === "live") ui.error.textContent = "";
  else if (s.kind === "error") {
    ui.error.textContent = `${(s.error as Error).message ?? String(s.error)}${shown.after ? "\nPress Clear to start over from the chosen start." : ""}`;
    backfill.hide();
  }
  if (s.kind === "stopped") backfill.hide();
  $("empty").textContent =
    s.kind === "stopped" || s.kind === "error" ? "No matches shown. Change the filter or press Start." : "No matches yet: they appear here as they arrive.";
}

function showTotals(): void {
  ui.total.textContent = shown.total.toLocaleString("en-US");
  ui.rate.textContent = rate.perSecond().toFixed(rate.perSecond() < 10 ? 1 : 0);
  ui.lastId.textContent = shown.after ? `last ${shown.after}` : "";
}

async function start(q: ConsoleQuery): Promise<void> {
  await live?.stop();
  const key = streamKeyOf(q);
  let start = startOf(q);
  if (key !== shown.key) {
    // Another stream: its own table, resumed where this tab last showed it.
    table.clear();
    shown = { key, total: 0, after: undefined };
    const saved = store.load(key);
    if (saved) {
      table.append(saved.rows);
      shown = { key, total: saved.total, after: saved.after };
    }
  }
  if (shown.after) start = { afterEventId: shown.after };
  ui.error.textContent = "";
  rate.reset();
  showTotals();
  live = new LiveStream(client, filterOf(q), start, {
    onRows(rows) {
      table.append(rows);
      rate.add(rows.length);
      shown.total += rows.length;
      shown.after = rows[rows.length - 1]!.id;
      store.saveAfter(key, shown.after, shown.total);
    },
    onGap(count, reason, toEventId) {
      shown.after = toEventId;
      store.saveAfter(key, shown.after, shown.total);
      ui.error.textContent = `${count} matches can no longer be delivered: ${reason}`;
    },
    onProgress(p) {
      if (p.fraction >= 1) backfill.hide();
      else backfill.show(p);
    },
    onStarted(warnings) {
      void refreshTopics(); // a stream may have made its topic known
      if (warnings.length) ui.error.textContent = warnings.join("\n");
    },
    onState: setState,
  });
}

async function refreshTopics(): Promise<void> {
  try {
    const { source, topics, server } = await client.listTopics();
    $("source").textContent = source;
    if (server) {
      const mib = (n: number) => `${Math.round(n / 1024 ** 2)} MiB`;
      $("holdings").textContent = `${server.streamsActive} streams, ${server.streamsParked} parked · tails ${mib(server.tailBytes)} / ${mib(server.tailBudgetBytes)} · rss ${mib(server.rssBytes)}`;
    }
    form.setTopics(topics.map((t) => t.name));
  } catch (err) {
    ui.error.textContent = `Cannot list topics: ${(err as Error).message}`;
  }
}

function submit(): void {
  if (!form.isValid) return;
  const q = form.read(newestFirst);
  const url = queryToUrl(q);
  if (url !== location.search) history.pushState(null, "", url || location.pathname);
  void start(q);
}

function load(): void {
  const q = queryFromUrl(location.search);
  newestFirst = q.newestFirst;
  table.setNewestFirst(newestFirst);
  ui.order.textContent = newestFirst ? "Newest first" : "Oldest first";
  ui.order.setAttribute("aria-pressed", String(newestFirst));
  form.fill(q);
  // A URL that names topics is a stream to show: start it (resuming if this tab showed it before).
  if (q.topics.length || q.topicRegex) void start(q);
}

$<HTMLFormElement>("filter-form").addEventListener("submit", (e) => {
  e.preventDefault();
  submit();
});
$<HTMLTextAreaElement>("query").addEventListener("keydown", (e) => {
  if (e.key === "Enter" && !e.shiftKey) {
    e.preventDefault();
    submit();
  }
});
ui.stop.addEventListener("click", () => void live?.stop());
ui.pause.addEventListener("click", () => (live?.isPaused ? live.resume() : live?.pause()));
ui.order.addEventListener("click", () => {
  newestFirst = !newestFirst;
  table.setNewestFirst(newestFirst);
  ui.order.textContent = newestFirst ? "Newest first" : "Oldest first";
  ui.order.setAttribute("aria-pressed", String(newestFirst));
  const q = { ...queryFromUrl(location.search), newestFirst };
  history.replaceState(null, "", queryToUrl(q) || location.pathname);
});
$("clear").addEventListener("click", () => {
  void live?.stop();
  store.forget(shown.key);
  table.clear();
  shown = { key: shown.key, total: 0, after: undefined };
  ui.error.textContent = "";
  showTotals();
});
$("count").addEventListener("click", () => {
  if (!form.isValid) return;
  const q = form.read(newestFirst);
  const from = q.from === "latest" || q.from === "earliest" ? 0 : Date.parse(q.from);
  void counter.run(filterOf(q), from);
});
addEventListener("popstate", load);
// Leaving or reloading: keep the newest rows with the resume point.
addEventListener("pagehide", () => {
  if (shown.key && shown.after) store.saveRows(shown.key, table.all());
});
setInterval(showTotals, 500);
// New topics show up in the picker without a reload.
setInterval(() => {
  if (document.visibilityState === "visible") void refreshTopics();
}, 15_000);

void refreshTopics();
load();
