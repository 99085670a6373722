// Where retention deleted messages that the index still names, delivery says
// so with an explicit gap (which IDs, why) and continues; nothing disappears
// silently.
import { it } from "node:test";
import assert from "node:assert/strict";
import { clientFor, sources, startServer } from "../helpers/server.js";
import { StreamReader } from "../helpers/stream-reader.js";
import { deleteBefore } from "../helpers/delete-records.js";
import type { Event, Gap } from "@grep-streams/sdk/gen/grepstreams/v1/grep_pb.js";

for (const source of sources()) {
  it(`a gap notice names the events retention deleted (${source})`, async (t) => {
    const first = await startServer({ source, retentionMs: 3_600_000 });
    const topic = first.topic("retained");
    let client = clientFor("connect", first.url);
    const live = new StreamReader((signal) => client.subscribe({ filter: { topics: [topic] } }, { signal }));
    await live.started();
    const old = Date.now() - 2 * 3_600_000;
    await client.produce({
      topic,
      messages: [0, 1, 2, 3, 4].map((n) => ({ partition: 0, valueJson: JSON.stringify({ n }), timestampMs: BigInt(n < 3 ? old + n : Date.now()) })),
    });
    const seen = await live.events(5);
    live.close();
    // Restart: the live tail (recent matches kept with their records) is empty,
    // as it is for matches old enough for retention to reach.
    await first.stop();
    const server = await startServer({ source, retentionMs: 3_600_000, dataDir: first.dataDir, topicSuffix: topic.slice("retained-".length) });
    t.after(() => server.close());
    client = clientFor("connect", server.url);

    await deleteBefore(server, topic, 0, 3);

    const replay = new StreamReader((signal) => client.subscribe({ filter: { topics: [topic] }, start: { position: { case: "earliest", value: true } } }, { signal }));
    await replay.started();
    const gap = (await replay.next("gap", "event")).kind;
    assert.equal(gap.case, "gap");
    const g = gap.value as Gap;
    assert.deepEqual([g.fromEventId, g.toEventId, g.count], [seen[0]!.id, seen[2]!.id, 3n]);
    assert.match(g.reason, /retention/);
    const rest: Event[] = await replay.events(2);
    assert.deepEqual(rest.map((e) => e.id), [seen[3]!.id, seen[4]!.id]);
    replay.close();
  });
}
