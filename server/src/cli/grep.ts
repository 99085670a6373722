// `grep-streams grep`: prints matching events as NDJSON on stdout, like grep
// prints lines; notices (started, gaps, progress) go to stderr.
import { parseArgs } from "node:util";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { StartPositionSchema, Event } from "@grep-streams/sdk/gen/grepstreams/v1/grep_pb.js";
import { grepClient, serverUrl } from "./client.js";
import { FILTER_HELP, FILTER_OPTIONS, filterOf, timeOf } from "./filter-flags.js";

export const GREP_HELP = `grep-streams grep [options] [QUERY]: print matching events as NDJSON

${FILTER_HELP}
Start:
  --from WHERE           earliest, latest (default) or an RFC 3339 time
  --after ID             resume exactly after this event ID
  -n, --max-count N      stop after N events
  --window N             at most N unacknowledged events (acks as it prints, every N/2)
  --verbose              say on stderr when the subscription has started`;

export function eventJson(e: Event): string {
  const value = e.valueJson !== "" ? e.valueJson : "null";
  const raw = e.rawValue.length > 0 ? `,"raw_value":${JSON.stringify(Buffer.from(e.rawValue).toString("base64"))}` : "";
  return (
    `{"id":${JSON.stringify(e.id)},"topic":${JSON.stringify(e.topic)},"partition":${e.partition},"offset":${e.offset},` +
    `"timestamp":${e.timestampMs},"key":${e.key.length > 0 ? JSON.stringify(e.key) : "null"},"value":${value}${raw}}`
  );
}

export async function grep(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      ...FILTER_OPTIONS,
      from: { type: "string" },
      after: { type: "string" },
      "max-count": { type: "string", short: "n" },
      window: { type: "string" },
      verbose: { type: "boolean" },
    },
    allowPositionals: true,
  });
  if (values.help) {
    console.log(GREP_HELP);
    return 0;
  }
  const client = grepClient(serverUrl(values.server));
  let start: MessageInitShape<typeof StartPositionSchema> = { position: { case: "latest", value: true } };
  if (values.after) start = { position: { case: "afterEventId", value: values.after } };
  else if (values.from === "earliest") start = { position: { case: "earliest", value: true } };
  else if (values.from && values.from !== "latest") start = { position: { case: "timestampMs", value: BigInt(timeOf("from", values.from)) } };
  const max = values["max-count"] ? Number(values["max-count"]) : Infinity;
  const window = values.window ? Number(values.window) : 0;
  const abort = new AbortController();
  process.once("SIGINT", () => abort.abort());
  let printed = 0;
  let subscriptionId = "";
  // Acking every half window keeps events flowing (the server stops only at
  // a full window) without a round trip per event.
  const ackEvery = Math.max(1, Math.floor(window / 2));
  let unacked = 0;
  try {
    for await (const res of client.subscribe({ filter: filterOf(values, positionals[0]), start, window }, { signal: abort.signal })) {
      const k = res.kind;
      if (k.case === "started") {
        subscriptionId = k.value.subscriptionId;
        for (const w of k.value.warnings) process.stderr.write(`grep-streams: ${w}\n`);
        if (values.verbose) process.stderr.write(`grep-streams: following stream ${k.value.streamId} after ${k.value.resolvedAfterEventId}\n`);
      } else if (k.case === "event") {
        if (!process.stdout.write(eventJson(k.value) + "\n")) await new Promise((r) => process.stdout.once("drain", r));
        if (window > 0 && ++unacked >= ackEvery) {
          await client.ack({ subscriptionId, eventId: k.value.id });
          unacked = 0;
        }
        if (++printed >= max) break;
      } else if (k.case === "gap") {
        process.stderr.write(`grep-streams: gap of ${k.value.count} events (${k.value.fromEventId} .. ${k.value.toEventId}): ${k.value.reason}\n`);
      } else if (k.case === "progress" && process.stderr.isTTY) {
        process.stderr.write(`\rscanning history: ${(k.value.fraction * 100).toFixed(1)}% (${k.value.scanned}/${k.value.total})  `);
      }
    }
  } catch (err) {
    if (abort.signal.aborted) return 0;
    throw err;
  } finally {
    // Ends the request (and its connection) when we stop early, e.g. after --max-count.
    abort.abort();
  }
  return 0;
}
