// `grep-streams count`: counts matches over a time range; a progress bar on
// stderr when it is a terminal; the result as JSON on stdout.
import { parseArgs } from "node:util";
import type { CountProgress, CountResult } from "@grep-streams/sdk/gen/grepstreams/v1/grep_pb.js";
import { grepClient, serverUrl } from "./client.js";
import { FILTER_HELP, FILTER_OPTIONS, filterOf, timeOf } from "./filter-flags.js";

export const COUNT_HELP = `grep-streams count [options] [QUERY]: count matches over history

${FILTER_HELP}
Range:
  --from TIME            RFC 3339 time (default: the oldest message)
  --to TIME              RFC 3339 time, exclusive (default: now)
  --bucket-ms N          width of the time buckets (default: about 60 buckets)`;

function bar(p: CountProgress): string {
  const width = 30;
  const done = Math.round(p.fraction * width);
  const eta = p.etaMs > 0n ? ` ETA ${(Number(p.etaMs) / 1000).toFixed(1)}s` : "";
  return `\r[${"#".repeat(done)}${".".repeat(width - done)}] ${(p.fraction * 100).toFixed(1)}% ${p.messagesScanned}/${p.messagesTotal} scanned, ${p.matched} matched${eta}  `;
}

export function resultJson(r: CountResult): string {
  return JSON.stringify({
    matched: Number(r.matched),
    scanned: Number(r.messagesScanned),
    bytes_scanned: Number(r.bytesScanned),
    matched_bytes: Number(r.matchedBytes),
    skipped_non_json: Number(r.skippedNonJson),
    skipped_bad_key: Number(r.skippedBadKey),
    sizes: r.sizes.map((s) => ({ le_bytes: s.leBytes === 0n ? null : Number(s.leBytes), count: Number(s.count) })),
    times: r.times.map((t) => ({ start: new Date(Number(t.startMs)).toISOString(), count: Number(t.count) })),
    partitions: r.partitions.map((p) => ({ topic: p.topic, partition: p.partition, scanned: Number(p.scanned), matched: Number(p.matched) })),
    elapsed_ms: Number(r.elapsedMs),
    answered_from: r.answeredFrom,
  });
}

export async function count(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { ...FILTER_OPTIONS, from: { type: "string" }, to: { type: "string" }, "bucket-ms": { type: "string" } },
    allowPositionals: true,
  });
  if (values.help) {
    console.log(COUNT_HELP);
    return 0;
  }
  const client = grepClient(serverUrl(values.server));
  const tty = process.stderr.isTTY;
  for await (const res of client.count({
    filter: filterOf(values, positionals[0]),
    fromMs: values.from ? BigInt(timeOf("from", values.from)) : 0n,
    toMs: values.to ? BigInt(timeOf("to", values.to)) : 0n,
    bucketMs: values["bucket-ms"] ? BigInt(values["bucket-ms"]) : 0n,
  })) {
    if (res.kind.case === "progress" && tty) process.stderr.write(bar(res.kind.value));
    if (res.kind.case === "result") {
      if (tty) process.stderr.write("\n");
      console.log(resultJson(res.kind.value));
    }
  }
  return 0;
}
