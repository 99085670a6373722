// `grep-streams produce TOPIC`: JSON values from the arguments, or NDJSON
// from stdin (one message a line), sent in batches.
import { parseArgs } from "node:util";
import { createInterface } from "node:readline";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { ProduceMessageSchema } from "@grep-streams/sdk/gen/grepstreams/v1/grep_pb.js";
import { grepClient, serverUrl } from "./client.js";

export const PRODUCE_HELP = `grep-streams produce [options] TOPIC [JSON ...]: append messages

Values are the JSON arguments, or else NDJSON lines from stdin.
  -k, --key A,B          the key's elements (sent as the JSON array ["A","B"])
  --allow-non-json       store values that are not JSON as they are
  -s, --server URL       the server [GREP_STREAMS_SERVER] (default http://127.0.0.1:8080)
Prints one line per message: {"partition":P,"offset":O}.`;

const BATCH = 1000;

export async function produce(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      key: { type: "string", short: "k" },
      "allow-non-json": { type: "boolean" },
      server: { type: "string", short: "s" },
      help: { type: "boolean", short: "h" },
    },
    allowPositionals: true,
  });
  if (values.help || positionals.length === 0) {
    console.log(PRODUCE_HELP);
    return values.help ? 0 : 2;
  }
  const [topic, ...args] = positionals as [string, ...string[]];
  const client = grepClient(serverUrl(values.server));
  const key = values.key ? values.key.split(",") : [];
  let batch: Array<MessageInitShape<typeof ProduceMessageSchema>> = [];
  const flush = async () => {
    if (batch.length === 0) return;
    const res = await client.produce({ topic, messages: batch, allowNonJson: values["allow-non-json"] ?? false });
    batch = [];
    for (const r of res.records) console.log(JSON.stringify({ partition: r.partition, offset: Number(r.offset) }));
  };
  const add = async (valueJson: string) => {
    batch.push({ key, valueJson });
    if (batch.length >= BATCH) await flush();
  };
  if (args.length > 0) {
    for (const a of args) await add(a);
  } else {
    for await (const line of createInterface({ input: process.stdin, crlfDelay: Infinity })) {
      if (line.trim() !== "") await add(line);
    }
  }
  await flush();
  return 0;
}
