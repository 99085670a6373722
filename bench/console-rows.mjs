// The browser console with many rows: N matching events in the embedded log,
// the console opened on them from the earliest, in Debian's headless
// Chromium. Measures the time until the page shows all N, the rows in the DOM
// (virtualization), frame times while scrolling through the table, the
// JavaScript heap, and the time to expand a row. Prints one line of JSON.
//
//   npm run build && node bench/console-rows.mjs [events]     (needs /usr/bin/chromium)

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { chromium } from "playwright-core";
import { GrepService } from "../sdk/dist/gen/grepstreams/v1/grep_pb.js";
import { startApp } from "../server/dist/src/app/app.js";
import { createLogger } from "../server/dist/src/util/log.js";

const EVENTS = Number(process.argv[2] ?? 100_000);
const BATCH = 5000;

const dataDir = mkdtempSync(join(tmpdir(), "grep-streams-bench-"));
const app = await startApp(
  { host: "127.0.0.1", port: 0, dataDir, demo: false, partitions: 4, retentionMs: 0, retentionBytes: 0, heartbeatMs: 10_000, corsOrigins: ["*"], kafka: null,
    indexBudgetBytes: 1024 ** 3, streamIdleMs: 3_600_000 },
  createLogger({}, () => {}),
);
const browser = await chromium.launch({
  executablePath: process.env.GREP_STREAMS_CHROMIUM ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--enable-precise-memory-info"],
});
try {
  const client = createClient(GrepService, createConnectTransport({ baseUrl: app.url, httpVersion: "1.1" }));
  const topic = "console-bench";
  for (let i = 0; i < EVENTS; i += BATCH) {
    const n = Math.min(BATCH, EVENTS - i);
    const messages = Array.from({ length: n }, (_, j) => ({
      key: [`tenant-${(i + j) % 7}`, `user-${(i + j) % 101}`],
      valueJson: JSON.stringify({ type: "order.created", n: i + j, amount: (i + j) % 500, country: ["DE", "FR", "US"][(i + j) % 3] }),
    }));
    await client.produce({ topic, messages });
  }

  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const t0 = performance.now();
  await page.goto(`${app.url}/?topic=${topic}&from=earliest`);
  await page.waitForFunction((n) => document.getElementById("total")?.textContent === n.toLocaleString("en-US"), EVENTS, { timeout: 600_000, polling: 100 });
  const loadMs = performance.now() - t0;

  const domRows = await page.locator("#rows .event").count();
  // Scroll through the whole table in 200 steps, one per frame, and time the frames.
  const frames = await page.evaluate(async () => {
    const v = document.getElementById("viewport");
    const times = [];
    let last = performance.now();
    for (let i = 1; i <= 200; i++) {
      v.scrollTop = (v.scrollHeight * i) / 200;
      await new Promise((r) => requestAnimationFrame(r));
      const now = performance.now();
      times.push(now - last);
      last = now;
    }
    times.sort((a, b) => a - b);
    return { p50: times[100], p95: times[190], max: times[199] };
  });
  const heapMb = await page.evaluate(() => (performance.memory ? performance.memory.usedJSHeapSize / 2 ** 20 : null));
  const te = performance.now();
  await page.locator("#rows .event .row-line").first().click();
  await page.waitForSelector("#rows .event .detail");
  const expandMs = performance.now() - te;

  console.log(
    JSON.stringify({
      events: EVENTS,
      load_to_all_shown_ms: Math.round(loadMs),
      events_per_s: Math.round(EVENTS / (loadMs / 1000)),
      dom_rows: domRows,
      scroll_frame_ms: { p50: +frames.p50.toFixed(1), p95: +frames.p95.toFixed(1), max: +frames.max.toFixed(1) },
      js_heap_mb: heapMb === null ? null : Math.round(heapMb),
      expand_row_ms: Math.round(expandMs),
    }),
  );
} finally {
  await browser.close();
  await app.close();
  rmSync(dataDir, { recursive: true, force: true });
}
