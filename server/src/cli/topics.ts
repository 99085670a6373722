// `grep-streams topics`: the source's topics with partitions and offsets.
import { parseArgs } from "node:util";
import { grepClient, serverUrl } from "./client.js";

export const TOPICS_HELP = `grep-streams topics [--json] [-s URL]: list topics, partitions and offsets`;

export async function topics(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { json: { type: "boolean" }, server: { type: "string", short: "s" }, help: { type: "boolean", short: "h" } },
  });
  if (values.help) {
    console.log(TOPICS_HELP);
    return 0;
  }
  const res = await grepClient(serverUrl(values.server)).listTopics({});
  const h = res.server;
  if (h && !values.json) {
    const mib = (n: bigint) => `${(Number(n) / 1024 ** 2).toFixed(1)} MiB`;
    console.log(
      `# server: subscriptions=${h.subscriptions} streams=${h.streamsActive} active, ${h.streamsParked} parked` +
        ` tails=${mib(h.tailBytes)} of ${mib(h.tailBudgetBytes)} rss=${mib(h.rssBytes)}`,
    );
  }
  for (const t of res.topics) {
    const messages = t.partitions.reduce((n, p) => n + Number(p.endOffset - p.startOffset), 0);
    if (values.json) {
      console.log(JSON.stringify({
        topic: t.name,
        partitions: t.partitions.map((p) => ({ partition: p.partition, start: Number(p.startOffset), end: Number(p.endOffset) })),
        non_json_values: Number(t.nonJsonValues),
        bad_keys: Number(t.badKeys),
      }));
    } else {
      console.log(`${t.name}\tpartitions=${t.partitions.length}\tmessages=${messages}\tnon_json=${t.nonJsonValues}\tbad_keys=${t.badKeys}`);
    }
  }
  return 0;
}
