// The demo feed: realistic synthetic order events on the topic "demo-orders",
// so that `npm start` shows matches at once. Keys are [tenant, user].
import type { Source, ProduceInput } from "../source/types.js";
import type { Logger } from "../util/log.js";
import { mulberry32 } from "../util/prng.js";

export const DEMO_TOPIC = "demo-orders";

const TYPES = ["order.created", "order.created", "order.created", "order.paid", "order.paid", "order.shipped", "order.cancelled", "order.refunded"];
const COUNTRIES = ["DE", "FR", "US", "GB", "JP", "BR", "IN", "NL", "SE", "ES"];
const CURRENCY: Record<string, string> = { DE: "EUR", FR: "EUR", NL: "EUR", ES: "EUR", SE: "SEK", US: "USD", GB: "GBP", JP: "JPY", BR: "BRL", IN: "INR" };
const SKUS = ["coffee-beans", "grinder", "kettle", "mug", "filter-papers", "scale", "espresso-machine", "tamper"];
const TIERS = ["free", "free", "free", "pro", "pro", "enterprise"];

export function demoEvents(seed = Date.now()): () => { key: string[]; value: Record<string, unknown> } {
  const rnd = mulberry32(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  let n = 0;
  return () => {
    const tenant = `tenant-${1 + Math.floor(rnd() * 8)}`;
    const user = `user-${1 + Math.floor(rnd() * 200)}`;
    const country = pick(COUNTRIES);
    const items = Array.from({ length: 1 + Math.floor(rnd() * 3) }, () => ({ sku: pick(SKUS), qty: 1 + Math.floor(rnd() * 4) }));
    const amount = Math.round(items.reduce((s, i) => s + i.qty * (5 + rnd() * 120), 0) * 100) / 100;
    n++;
    return {
      key: [tenant, user],
      value: {
        type: pick(TYPES),
        order_id: `o-${Date.now().toString(36)}-${n}`,
        tenant,
        user: { id: user, tier: pick(TIERS) },
        country,
        currency: CURRENCY[country],
        amount,
        items,
        at: new Date().toISOString(),
      },
    };
  };
}

/** Produces a few events a second until stopped. */
export function startDemoFeed(source: Source, log: Logger, ratePerSecond = 5): () => void {
  const next = demoEvents();
  const encoder = new TextEncoder();
  const tick = async () => {
    const burst = Math.max(1, Math.round(ratePerSecond * (0.5 + Math.random())));
    const messages: ProduceInput[] = Array.from({ length: burst }, () => {
      const e = next();
      return { key: encoder.encode(JSON.stringify(e.key)), value: encoder.encode(JSON.stringify(e.value)) };
    });
    try {
      await source.produce(DEMO_TOPIC, messages);
    } catch (err) {
      log.warn("demo feed could not produce", { err });
    }
  };
  void tick();
  const timer = setInterval(() => void tick(), 1000);
  timer.unref();
  return () => clearInterval(timer);
}
