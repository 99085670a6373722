// Micro benchmark: one evaluation of a query predicate, the compiled
// evaluator (query-compile.ts, what filters use) against the mingo reference
// (query-reference.ts, what they used before).
//
//   npm run build && node bench/predicate.mjs [events] [filters per template] [rounds]
//
// ~300-byte multi-tenant events (tenant out of 1,000, service out of 200,
// region, level, kind, status, latency_ms, amount, user {id, plan, country},
// tags, msg), parsed with JSON.parse as the matcher does; 13 filter templates
// in three groups: equality / $in / ranges on tenant, service and user fields;
// regexes; $or of two conditions. Each filter is timed over every event, a few
// rounds; a filter's cost is its fastest round's time per evaluation, and the
// group figures are medians over filters. Prints one line of JSON.

import { performance } from "node:perf_hooks";
import { compileFilter } from "../server/dist/src/filter/index.js";
import { canonicalJson } from "../server/dist/src/filter/json.js";
import { compileQueryReference } from "../server/dist/src/filter/query-reference.js";
import { validateQuery } from "../server/dist/src/filter/query-validate.js";
import { mulberry32 } from "../server/dist/src/util/prng.js";

const EVENTS = Number(process.argv[2] ?? 2_000);
const PER_TEMPLATE = Number(process.argv[3] ?? 10);
const ROUNDS = Number(process.argv[4] ?? 20);

const rnd = mulberry32(7);
const int = (n) => Math.floor(rnd() * n);
const pick = (xs) => xs[int(xs.length)];

const REGIONS = ["eu-west-1", "eu-central-1", "us-east-1", "us-west-2", "ap-south-1", "sa-east-1"];
const LEVELS = ["debug", "info", "info", "info", "warn", "error"];
const KINDS = ["request", "job", "payment", "login", "signup", "export", "import", "webhook", "email", "audit"];
const STATUSES = [200, 200, 200, 201, 204, 301, 400, 401, 403, 404, 409, 429, 500, 502, 503];
const PLANS = ["free", "free", "pro", "enterprise"];
const COUNTRIES = ["DE", "FR", "GB", "US", "CA", "BR", "IN", "JP", "NL", "SE", "ES", "IT", "PL", "AU", "MX", "KR", "ZA", "NG", "EG", "TR"];
const TAGS = ["beta", "canary", "mobile", "web", "api", "batch", "internal", "vip", "trial", "legacy", "eu", "gdpr"];
const MESSAGES = [
  "request completed in time",
  "upstream connection refused by peer, retrying",
  "payment authorised for order",
  "Payment declined: insufficient funds",
  "timeout while waiting for lock on resource",
  "user logged in from new device",
  "export finished, 1204 rows written",
  "webhook delivery failed with status 502",
];

const tenant = () => `tenant-${int(1000)}`;
const service = () => `svc-${int(200)}`;
const user = () => `user-${int(100_000)}`;

function event(seq) {
  return {
    seq,
    tenant: tenant(),
    service: service(),
    region: pick(REGIONS),
    level: pick(LEVELS),
    kind: pick(KINDS),
    status: pick(STATUSES),
    latency_ms: int(5000),
    amount: Math.round(rnd() * 1_000_000) / 100,
    user: { id: user(), plan: pick(PLANS), country: pick(COUNTRIES) },
    tags: Array.from({ length: 1 + int(4) }, () => pick(TAGS)),
    msg: `${pick(MESSAGES)} (trace ${int(1e9).toString(16)})`,
  };
}

const TEMPLATES = {
  equalityRange: [
    () => ({ tenant: tenant() }),
    () => ({ tenant: tenant(), service: service() }),
    () => ({ tenant: tenant(), latency_ms: { $gt: 1000 + int(3000) } }),
    () => ({ service: { $in: [service(), service(), service()] }, level: "error" }),
    () => ({ "user.plan": pick(PLANS), "user.country": pick(COUNTRIES) }),
    () => ({ tenant: { $in: [tenant(), tenant()] }, amount: { $gte: int(5000), $lt: 5000 + int(5000) } }),
    () => ({ tags: pick(TAGS), region: pick(REGIONS) }),
    () => ({ "user.id": user(), status: { $gte: 400 } }),
  ],
  regex: [
    () => ({ msg: { $regex: "timeout|refused" }, level: { $in: ["warn", "error"] } }),
    () => ({ tenant: tenant(), msg: { $regex: "payment", $options: "i" } }),
    () => ({ service: { $regex: `^svc-${int(20)}` } }),
  ],
  or: [
    () => ({ $or: [{ tenant: tenant() }, { "user.id": user() }] }),
    () => ({ $or: [{ status: { $gte: 500 } }, { latency_ms: { $gt: 4000 } }] }),
  ],
};

const spec = (query) => ({ topics: ["events"], topicRegex: "", keyPrefix: [], keyRegex: "", query: JSON.stringify(query), projection: "" });

function reference(query) {
  const v = validateQuery(JSON.parse(JSON.stringify(query)));
  return compileQueryReference(JSON.parse(canonicalJson(v.query)), v.regexes);
}

// Events as the matcher sees them: parsed from JSON text.
const events = Array.from({ length: EVENTS }, (_, i) => JSON.parse(JSON.stringify(event(i))));
const bytes = events.reduce((n, e) => n + JSON.stringify(e).length, 0) / EVENTS;

const filters = [];
for (const [group, templates] of Object.entries(TEMPLATES)) {
  for (const make of templates) {
    for (let i = 0; i < PER_TEMPLATE; i++) {
      const query = make();
      filters.push({ group, query, compiled: compileFilter(spec(query)).matchesValue, mingo: reference(query) });
    }
  }
}

/** The fastest round's nanoseconds per evaluation of `predicate` over all events, and its matches. */
function cost(predicate) {
  let best = Infinity;
  let matches = 0;
  for (let r = 0; r < ROUNDS; r++) {
    matches = 0;
    const start = performance.now();
    for (let i = 0; i < events.length; i++) if (predicate(events[i])) matches++;
    best = Math.min(best, ((performance.now() - start) * 1e6) / events.length);
  }
  return { ns: best, matches };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

// Each evaluator on its own, as in a matcher that runs only one of them: warm
// up all its predicates (the JIT sees every one), then measure each. The
// compiled evaluator goes first, so mingo's code has not yet crowded the
// caches V8 shares between call sites.
let totalMatches = 0;
for (const which of ["compiled", "mingo"]) {
  for (let pass = 0; pass < 3; pass++) for (const f of filters) for (const e of events) f[which](e);
  for (const f of filters) {
    const { ns, matches } = cost(f[which]);
    f[`${which}Ns`] = ns;
    f[`${which}Matches`] = matches;
  }
}
for (const f of filters) {
  if (f.compiledMatches !== f.mingoMatches) {
    throw new Error(`${JSON.stringify(f.query)}: compiled ${f.compiledMatches} matches, mingo ${f.mingoMatches}`);
  }
  totalMatches += f.compiledMatches;
}

const summary = (list) => {
  const compiled = median(list.map((f) => f.compiledNs));
  const mingo = median(list.map((f) => f.mingoNs));
  return { filters: list.length, compiledNs: +compiled.toFixed(1), mingoNs: +mingo.toFixed(1), speedup: +(mingo / compiled).toFixed(1) };
};

console.log(
  JSON.stringify({
    events: EVENTS,
    eventBytes: Math.round(bytes),
    filters: filters.length,
    matches: totalMatches,
    all: summary(filters),
    equalityRange: summary(filters.filter((f) => f.group === "equalityRange")),
    regex: summary(filters.filter((f) => f.group === "regex")),
    or: summary(filters.filter((f) => f.group === "or")),
    node: process.version,
  }),
);
