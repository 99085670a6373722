// The SSE shim: GET /v1/subscribe with the filter in query parameters, so
// that `curl -N` and a browser's EventSource work with no SDK. Each match is
// `event: match` with `id:` the event ID; Last-Event-ID (or ?last_event_id=)
// resumes exactly after it.
import type { IncomingHttpHeaders } from "node:http";
import type { Engine } from "../pipeline/engine.js";
import type { StartSpec } from "../pipeline/start.js";
import type { CursorItem } from "../cursor/cursor.js";
import type { ActiveStream } from "../pipeline/streams.js";
import type { CompiledFilter, FilterSpec } from "../filter/index.js";
import type { SourceRecord } from "../source/types.js";
import { RequestError } from "../util/request-error.js";
import type { Logger } from "../util/log.js";
import { payloadOf, projectionOf } from "./payload.js";
import { asRequestError, httpStatusOf } from "./status.js";
import { Stop, write } from "./stop.js";
import type { Subscription } from "../pipeline/engine.js";
import type { Reply } from "./transport/reply.js";
import { RecentRecords } from "./recent-records.js";

export const SSE_PATH = "/v1/subscribe";

export function parseSseQuery(url: URL, lastEventIdHeader: string | undefined): { spec: FilterSpec; start: StartSpec } {
  const q = url.searchParams;
  const key = q.get("key");
  const spec: FilterSpec = {
    topics: q.getAll("topic").flatMap((t) => t.split(",")).filter((t) => t !== ""),
    topicRegex: q.get("topic_regex") ?? "",
    keyPrefix: key ? key.split(",") : [],
    keyRegex: q.get("key_regex") ?? "",
    query: q.get("q") ?? "",
    projection: q.get("projection") ?? "",
  };
  const resume = lastEventIdHeader || q.get("last_event_id");
  if (resume) return { spec, start: { kind: "after", eventId: resume } };
  const from = q.get("from") ?? "latest";
  if (from === "latest") return { spec, start: { kind: "latest" } };
  if (from === "earliest") return { spec, start: { kind: "earliest" } };
  const ms = Date.parse(from);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(from) || Number.isNaN(ms)) {
    throw new RequestError("invalid_argument", `from: expected "earliest", "latest" or an RFC 3339 time such as 2026-11-21T10:00:00Z, got ${JSON.stringify(from)}`);
  }
  return { spec, start: { kind: "time", ms } };
}

/**
 * The part of a match's data line after its ID: the same for every
 * subscriber without a projection (a record goes to every stream it matched
 * and to every subscriber of each), so it is built once per record.
 */
const plainTails = new RecentRecords<string>();

function eventTail(record: SourceRecord, projection: CompiledFilter | null): string {
  if (projection) return buildTail(record, projection);
  let t = plainTails.get(record);
  if (t === undefined) plainTails.set(record, (t = buildTail(record, null)));
  return t;
}

function buildTail(record: SourceRecord, projection: CompiledFilter | null): string {
  const p = payloadOf(record, projection);
  const raw = p.rawValue ? `,"raw_value":${JSON.stringify(Buffer.from(p.rawValue).toString("base64"))}` : "";
  return (
    `"topic":${JSON.stringify(record.topic)},"partition":${record.partition},"offset":${record.offset},` +
    `"timestamp":${record.timestamp},"key":${JSON.stringify(p.key)},"value":${p.valueJson ?? "null"}${raw}}`
  );
}

function sseData(engine: Engine, stream: ActiveStream, item: CursorItem, projection: CompiledFilter | null): string {
  switch (item.kind) {
    case "event": {
      // An event ID is base64url: nothing in it needs JSON escaping.
      const id = engine.eventId(stream, item.row);
      return `event: match\nid: ${id}\ndata: {"id":"${id}",${eventTail(item.record, projection)}\n\n`;
    }
    case "gap": {
      const data = { from: engine.eventId(stream, item.from), to: engine.eventId(stream, item.to), count: item.count, reason: item.reason };
      // The gap's last ID is a valid resume point: the events in it are gone for everyone.
      return `event: gap\nid: ${data.to}\ndata: ${JSON.stringify(data)}\n\n`;
    }
    case "progress":
      return `event: progress\ndata: ${JSON.stringify({ scanned: item.scanned, total: item.total, matched: item.matched, eta_ms: item.etaMs })}\n\n`;
    case "heartbeat":
      return `: heartbeat head=${engine.eventId(stream, item.head)} lag=${item.lag}\n\n`;
  }
}

/**
 * Serves one SSE subscription. The request and its URL are read here, and
 * only what the stream needs is handed to deliver(): an open stream keeps no
 * parsed URL, request headers or compiled filter of its own.
 */
export function handleSse(engine: Engine, log: Logger, headers: IncomingHttpHeaders, res: Reply, url: URL): Promise<void> {
  let parsed: { spec: FilterSpec; start: StartSpec };
  try {
    const header = headers["last-event-id"];
    parsed = parseSseQuery(url, Array.isArray(header) ? header[0] : header);
  } catch (err) {
    fail(log, res, err);
    return Promise.resolve();
  }
  return deliver(engine, log, res, parsed.spec, parsed.start);
}

async function deliver(engine: Engine, log: Logger, res: Reply, spec: FilterSpec, start: StartSpec): Promise<void> {
  const stop = new Stop();
  const onClose = () => stop.abort();
  res.on("close", onClose);
  try {
    let opened: { sub: Subscription; projection: CompiledFilter | null; started: string };
    {
      const filter = engine.compile(spec);
      const sub = await engine.subscribe(filter, { start, window: 0 });
      try {
        const started = {
          stream_id: sub.stream.record.streamId,
          after: engine.eventId(sub.stream, sub.start),
          head: engine.eventId(sub.stream, engine.headPosition(sub.stream)),
          filter: JSON.parse(filter.canonical) as unknown,
          warnings: await engine.warningsFor(filter),
        };
        opened = { sub, projection: projectionOf(filter), started: `retry: 2000\nevent: started\ndata: ${JSON.stringify(started)}\n\n` };
      } catch (err) {
        sub.close();
        throw err;
      }
    }
    const { sub, projection } = opened;
    try {
      res.writeHead(200, {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-cache, no-transform",
        "x-accel-buffering": "no",
      });
      await write(res, opened.started, stop);
      for await (const item of sub.cursor.items(stop)) {
        await write(res, sseData(engine, sub.stream, item, projection), stop);
      }
    } finally {
      sub.close();
    }
  } catch (err) {
    if (!stop.aborted) fail(log, res, err);
  } finally {
    res.off("close", onClose);
    if (!res.writableEnded) res.end();
  }
}

/** Answers a failed request: a status before the stream began, an `error` event after. */
function fail(log: Logger, res: Reply, err: unknown): void {
  const r = asRequestError(err);
  if (!res.headersSent) {
    const status = r ? httpStatusOf(r) : 500;
    if (!r) log.error("SSE request failed", { err });
    res.writeHead(status, { "content-type": "text/plain; charset=utf-8" });
    res.end((r ? r.message : "internal error; see the server log") + "\n");
    return;
  }
  log.error("SSE stream failed", { err });
  res.end(`event: error\ndata: ${JSON.stringify({ message: r ? r.message : "internal error" })}\n\n`);
}
