// What the console is asked for, and its place in the page's URL: the URL
// holds the filter, the start and the order, so a link or a reload shows the
// same stream.
import type { GrepFilter, Start } from "@grep-streams/sdk";

export interface ConsoleQuery {
  readonly topics: readonly string[];
  readonly topicRegex: string;
  /** MongoDB query as the user typed it ("" for none). */
  readonly query: string;
  readonly keyPrefix: readonly string[];
  /** "latest", "earliest" or an ISO time. */
  readonly from: string;
  readonly newestFirst: boolean;
}

const list = (s: string | null): string[] =>
  (s ?? "")
    .split(",")
    .map((t) => t.trim())
    .filter((t) => t !== "");

export function queryFromUrl(search: string): ConsoleQuery {
  const p = new URLSearchParams(search);
  return {
    topics: p.getAll("topic").flatMap(list),
    topicRegex: p.get("topic_regex") ?? "",
    query: p.get("q") ?? "",
    keyPrefix: list(p.get("key")),
    from: p.get("from") || "latest",
    newestFirst: p.get("order") !== "oldest",
  };
}

/** The same parameter names as the server's SSE shim, so a console URL's query also works at /v1/subscribe. */
export function queryToUrl(q: ConsoleQuery): string {
  const p = new URLSearchParams();
  if (q.topicRegex) p.set("topic_regex", q.topicRegex);
  else if (q.topics.length) p.set("topic", q.topics.join(","));
  if (q.query.trim()) p.set("q", q.query);
  if (q.keyPrefix.length) p.set("key", q.keyPrefix.join(","));
  if (q.from !== "latest") p.set("from", q.from);
  if (!q.newestFirst) p.set("order", "oldest");
  const s = p.toString();
  return s ? `?${s}` : "";
}

export function filterOf(q: ConsoleQuery): GrepFilter {
  return {
    ...(q.topicRegex ? { topicRegex: q.topicRegex } : { topics: q.topics }),
    ...(q.query.trim() ? { query: q.query } : {}),
    ...(q.keyPrefix.length ? { keyPrefix: q.keyPrefix } : {}),
  };
}

export function startOf(q: ConsoleQuery): Start {
  if (q.from === "latest" || q.from === "earliest") return q.from;
  const t = Date.parse(q.from);
  return Number.isNaN(t) ? "latest" : new Date(t);
}

/** Names the stream a query shows (not the order): the key of its saved resume point. */
export function streamKeyOf(q: ConsoleQuery): string {
  return JSON.stringify([filterOf(q), q.from]);
}
