// Micro benchmark: the matcher's filter index against testing every filter.
//
//   npm run build && node bench/matcher-index.mjs [events] [filters] [unindexed share]
//
// 10,000 filters like {"type": "<one of 50>", "user": "<one of 10,000>"},
// plus 5% without an index term ($or / range conditions), over 20,000
// synthetic events. Prints one line of JSON.

import { performance } from "node:perf_hooks";
import { compileFilter } from "../server/dist/src/filter/index.js";
import { FilterIndex } from "../server/dist/src/matcher/filter-index.js";
import { mulberry32 } from "../server/dist/src/util/prng.js";

const EVENTS = Number(process.argv[2] ?? 20_000);
const FILTERS = Number(process.argv[3] ?? 10_000);
const TYPES = 50;
const USERS = 10_000;
const UNINDEXED_SHARE = Number(process.argv[4] ?? 0.05);

const rnd = mulberry32(42);
const int = (n) => Math.floor(rnd() * n);
const type = () => `type-${int(TYPES)}`;
const user = () => `user-${int(USERS)}`;

const spec = (query) => ({ topics: ["events"], topicRegex: "", keyPrefix: [], keyRegex: "", query: JSON.stringify(query), projection: "" });

let t0 = performance.now();
const filters = [];
for (let i = 0; i < FILTERS; i++) {
  let query;
  if (rnd() < UNINDEXED_SHARE) {
    // No sound equality term: always a candidate.
    query = rnd() < 0.5 ? { $or: [{ type: type() }, { user: user() }] } : { amount: { $gt: 990 + int(10) }, type: { $ne: type() } };
  } else {
    query = { type: type(), user: user() };
  }
  filters.push(compileFilter(spec(query)));
}
const compileMs = performance.now() - t0;

t0 = performance.now();
const index = new FilterIndex();
filters.forEach((f, i) => index.add(`f${i}`, f, f));
const indexBuildMs = performance.now() - t0;

const events = [];
for (let i = 0; i < EVENTS; i++) {
  events.push({ type: type(), user: user(), amount: int(1000), tags: ["a", "b"], meta: { source: "bench", seq: i } });
}

function brute() {
  let matches = 0;
  const start = performance.now();
  for (const e of events) for (const f of filters) if (f.matchesValue(e)) matches++;
  return { ms: performance.now() - start, matches };
}

function indexed() {
  let matches = 0;
  let candidates = 0;
  const out = [];
  const start = performance.now();
  for (const e of events) {
    out.length = 0;
    index.candidates(e, out);
    candidates += out.length;
    for (const f of out) if (f.matchesValue(e)) matches++;
  }
  return { ms: performance.now() - start, matches, candidates };
}

// Warm up both paths on a slice, then measure.
for (const e of events.slice(0, 200)) {
  for (const f of filters) f.matchesValue(e);
  index.candidates(e, []);
}
const i = indexed();
const b = brute();
if (i.matches !== b.matches) throw new Error(`index found ${i.matches} matches, brute force ${b.matches}`);

const perSec = (ms) => Math.round((EVENTS / ms) * 1000);
console.log(
  JSON.stringify({
    filters: FILTERS,
    unindexedFilters: filters.filter((f) => f.indexTerm === null).length,
    events: EVENTS,
    matches: b.matches,
    compileMs: Math.round(compileMs),
    indexBuildMs: Math.round(indexBuildMs),
    index: { ms: Math.round(i.ms), eventsPerSec: perSec(i.ms), avgCandidates: +(i.candidates / EVENTS).toFixed(1) },
    bruteForce: { ms: Math.round(b.ms), eventsPerSec: perSec(b.ms), filterTestsPerSec: Math.round(((EVENTS * FILTERS) / b.ms) * 1000) },
    speedup: +(b.ms / i.ms).toFixed(1),
    node: process.version,
  }),
);
