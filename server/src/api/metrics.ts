// Prometheus text metrics: subscriptions, streams, live scan positions and
// per-topic counts of messages the matcher could not parse.
import type { Engine } from "../pipeline/engine.js";
import { leanStreams } from "./subscribe-stream.js";
import { leanProduce } from "./produce-unary.js";
import { coreStreams } from "./transport/reply.js";

const esc = (s: string) => s.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");

export async function metricsText(engine: Engine): Promise<string> {
  const lines: string[] = [];
  const gauge = (name: string, help: string, rows: Array<[string, number]>) => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`);
    for (const [labels, v] of rows) lines.push(`${name}${labels} ${v}`);
  };
  gauge("grep_streams_subscriptions", "Open subscriptions.", [["", engine.subscriptionCount]]);
  gauge("grep_streams_streams", "Streams (distinct filters) in the index.", [["", engine.registry.size]]);
  const h = engine.holdings();
  gauge("grep_streams_streams_by_state", "Streams being matched (active) and parked (no subscriber for --stream-idle-ms: not matched, index kept).", [
    ['{state="active"}', h.streamsActive],
    ['{state="parked"}', h.streamsParked],
  ]);
  const counter = (name: string, help: string, v: number) => lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} counter`, `${name} ${v}`);
  counter("grep_streams_streams_parked_total", "Streams parked since the start.", h.streamsParkedTotal);
  counter("grep_streams_streams_resumed_total", "Parked streams resumed by a subscriber since the start.", h.streamsResumedTotal);
  counter("grep_streams_streams_evicted_total", "Streams evicted from the index (disk budget) since the start.", h.streamsEvictedTotal);
  gauge("grep_streams_tail_bytes", "Bytes the live tails hold (recent matches with their records; a record shared by several streams counted once).", [["", h.tailBytes]]);
  gauge("grep_streams_tail_budget_bytes", "The live tails' budget (--tail-budget-bytes), shared by the streams with subscribers.", [["", h.tailBudgetBytes]]);
  gauge("grep_streams_tails_active", "Live tails that may hold matches (their streams have subscribers).", [["", h.activeTails]]);
  gauge("grep_streams_process_resident_memory_bytes", "Resident memory of the server process.", [["", h.rssBytes]]);
  gauge("grep_streams_process_heap_used_bytes", "V8 heap in use (main thread).", [["", process.memoryUsage().heapUsed]]);
  lines.push("# HELP grep_streams_delivered_events_total Events delivered, by where the payload came from.", "# TYPE grep_streams_delivered_events_total counter");
  lines.push(`grep_streams_delivered_events_total{payload="live_tail"} ${engine.delivery.fromTail}`);
  lines.push(`grep_streams_delivered_events_total{payload="source_read"} ${engine.delivery.fromSource}`);
  lines.push("# HELP grep_streams_subscribe_calls_lean_total Subscribe calls served by the lean streaming handler (the others by Connect-ES).", "# TYPE grep_streams_subscribe_calls_lean_total counter");
  lines.push(`grep_streams_subscribe_calls_lean_total ${leanStreams.served}`);
  lines.push("# HELP grep_streams_produce_calls_lean_total Produce calls served by the lean unary handler (the others by Connect-ES).", "# TYPE grep_streams_produce_calls_lean_total counter");
  lines.push(`grep_streams_produce_calls_lean_total ${leanProduce.served}`);
  lines.push("# HELP grep_streams_http2_core_streams_total HTTP/2 streams served through Node's core API (SSE, lean Subscribe and Produce), not its compatibility layer.", "# TYPE grep_streams_http2_core_streams_total counter");
  lines.push(`grep_streams_http2_core_streams_total ${coreStreams.served}`);
  lines.push("# HELP grep_streams_history_scanned_messages_total Messages backfill epochs consumed (each epoch counts its own range).", "# TYPE grep_streams_history_scanned_messages_total counter");
  lines.push(`grep_streams_history_scanned_messages_total ${engine.registry.historyScanned}`);
  const backfills = engine.registry.backfills;
  gauge("grep_streams_backfill_scans", "Backfill scans reading now (at most --max-scans; epochs over about the same range share one).", [["", backfills.scans]]);
  counter("grep_streams_backfill_read_messages_total", "Messages backfill scans read from the source, once per scan however many epochs shared it (against grep_streams_history_scanned_messages_total, counted per epoch: what sharing saved).", backfills.stats.recordsRead);
  counter("grep_streams_backfill_epochs_joined_total", "Backfill epochs that joined a scan already running.", backfills.joined);
  const topics = await engine.source.listTopics();
  const skips = topics.map((t) => [t.name, engine.matcher.skips(t.name)] as const);
  lines.push("# HELP grep_streams_skipped_messages_total Messages the matcher skipped for filters that need a JSON value or a string-array key.");
  lines.push("# TYPE grep_streams_skipped_messages_total counter");
  for (const [t, s] of skips) {
    lines.push(`grep_streams_skipped_messages_total{topic="${esc(t)}",reason="non_json_value"} ${s.nonJson}`);
    lines.push(`grep_streams_skipped_messages_total{topic="${esc(t)}",reason="bad_key"} ${s.badKey}`);
  }
  const ends = new Map<string, number>(topics.flatMap((t) => t.partitions.map((p) => [`${t.name}:${p.partition}`, p.end] as const)));
  const lag: Array<[string, number]> = [];
  for (const [pk, next] of engine.matcher.positions()) {
    const i = pk.lastIndexOf(":");
    lag.push([`{topic="${esc(pk.slice(0, i))}",partition="${pk.slice(i + 1)}"}`, Math.max(0, (ends.get(pk) ?? next) - next)]);
  }
  gauge("grep_streams_scan_lag_messages", "Messages appended to a partition that the live scan has not read yet.", lag);
  return lines.join("\n") + "\n";
}
