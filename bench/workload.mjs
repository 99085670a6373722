// The benchmarks' workload: ~300-byte events of a multi-tenant service and
// standing filters of the shapes such a service's users write. Seeded, so
// every run (and every script) sees the same data.
import { mulberry32 } from "../server/dist/src/util/prng.js";

const TENANTS = 1000;
const SERVICES = 200;
const REGIONS = ["eu-west-1", "eu-central-1", "us-east-1", "us-west-2", "ap-south-1", "ap-northeast-1"];
const LEVELS = ["debug", "info", "info", "info", "warn", "error"];
const KINDS = ["request", "job", "audit", "billing", "login"];
const PLANS = ["free", "pro", "team", "enterprise"];
const COUNTRIES = ["DE", "FR", "US", "GB", "IN", "JP", "BR", "NL"];
const TAGS = ["beta", "canary", "mobile", "web", "api", "batch", "internal", "vip"];
const WORDS = ["request", "completed", "failed", "retrying", "timeout", "user", "order", "payment", "cache", "miss", "hit", "upstream"];

const pick = (rnd, xs) => xs[Math.floor(rnd() * xs.length)];
const int = (rnd, n) => Math.floor(rnd() * n);

export function generateEvents(n, seed = 1) {
  const rnd = mulberry32(seed);
  const out = [];
  for (let i = 0; i < n; i++) {
    const tags = [];
    for (let t = int(rnd, 4); t > 0; t--) tags.push(pick(rnd, TAGS));
    out.push({
      tenant: `t-${int(rnd, TENANTS)}`,
      service: `svc-${int(rnd, SERVICES)}`,
      region: pick(rnd, REGIONS),
      level: pick(rnd, LEVELS),
      kind: pick(rnd, KINDS),
      status: pick(rnd, [200, 200, 200, 201, 204, 301, 400, 404, 429, 500, 503]),
      latency_ms: int(rnd, 1000),
      amount: Math.round(rnd() * 100000) / 100,
      user: { id: `u-${int(rnd, 100000)}`, plan: pick(rnd, PLANS), country: pick(rnd, COUNTRIES) },
      tags,
      msg: Array.from({ length: 4 + int(rnd, 6) }, () => pick(rnd, WORDS)).join(" "),
      ts: 1_700_000_000_000 + i,
    });
  }
  return out;
}

/** Query documents (objects); about 5 match an event at 10,000 filters. */
export function generateFilters(n, seed = 2) {
  const rnd = mulberry32(seed);
  const out = [];
  for (let i = 0; i < n; i++) {
    const r = rnd();
    const tenant = `t-${int(rnd, TENANTS)}`;
    if (r < 0.45) out.push({ tenant, level: { $in: ["warn", "error"] } });
    else if (r < 0.65) out.push({ tenant, service: `svc-${int(rnd, SERVICES)}` });
    else if (r < 0.75) out.push({ service: `svc-${int(rnd, SERVICES)}`, status: { $gte: 500 }, latency_ms: { $gt: int(rnd, 500) } });
    else if (r < 0.83) out.push({ "user.id": `u-${int(rnd, 100000)}` });
    else if (r < 0.9) out.push({ tenant, msg: { $regex: pick(rnd, WORDS) } });
    else out.push({ $or: [{ tenant }, { "user.id": `u-${int(rnd, 100000)}` }], "user.plan": { $ne: "free" } });
  }
  return out;
}
