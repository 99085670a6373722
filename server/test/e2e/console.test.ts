// The browser console, used as a person would: Debian's Chromium opens the
// page the server serves, picks a topic, types a query, watches the matching
// rows arrive, reloads and sees the stream resume with nothing lost or
// repeated, pauses, counts, and reads the server's error for a bad query.
// Screenshots go to GREP_STREAMS_SCREENSHOT_DIR (`npm run screenshots` sets it
// to docs/screenshots; the default is server/dist/screenshots).
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { resolve } from "node:path";
import type { Page, Request } from "playwright-core";
import { clientFor, startServer, type TestServer } from "../helpers/server.js";
import { produce } from "../helpers/produce.js";
import { ensureChromium, launchChromium, type TestBrowser } from "../helpers/browser.js";
import { waitUntil } from "../helpers/deadline.js";

const repo = fileURLToPath(new URL("../../../../", import.meta.url));
const shots = resolve(repo, process.env.GREP_STREAMS_SCREENSHOT_DIR ?? "server/dist/screenshots");
const WINDOW = 1000; // server/web/src/live-stream.ts

const missing = ensureChromium();
if (missing) process.stderr.write(`\n*** SKIPPING the browser console tests: ${missing} ***\n\n`);

interface ShownRow {
  id: string;
  value: string;
  key: string;
}

/** The drawn rows, top to bottom (they are positioned, not in DOM order). */
function shownRows(page: Page): Promise<ShownRow[]> {
  return page.$$eval("#rows .event", (els) =>
    els
      .map((e) => ({
        y: new DOMMatrixReadOnly(getComputedStyle(e).transform).m42,
        id: (e as HTMLElement).dataset.id ?? "",
        value: e.querySelector(".c-value")?.textContent ?? "",
        key: e.querySelector(".c-key")?.textContent ?? "",
      }))
      .sort((a, b) => a.y - b.y)
      .map(({ id, value, key }) => ({ id, value, key })),
  );
}

const text = (page: Page, selector: string) => page.locator(selector).innerText();
const waitForTotal = (page: Page, n: number) =>
  page.waitForFunction((n) => document.getElementById("total")?.textContent === n.toLocaleString("en-US"), n, { timeout: 20_000 });
const waitForState = (page: Page, state: string) => page.waitForSelector(`#connection[data-state="${state}"]`, { timeout: 20_000 });

describe("the browser console", { skip: missing ?? false }, () => {
  let server: TestServer;
  let chromium: TestBrowser;
  /** Every request any page made, to check that none left the server's origin. */
  const requests: string[] = [];
  const pageErrors: string[] = [];

  before(async () => {
    mkdirSync(shots, { recursive: true });
    [server, chromium] = await Promise.all([startServer({ source: "embedded", heartbeatMs: 500 }), launchChromium()]);
  });
  after(async () => {
    await chromium?.close();
    await server?.close();
  });

  async function open(path: string, viewport = { width: 1280, height: 800 }): Promise<Page> {
    const page = await chromium.browser.newPage({ viewport });
    page.on("request", (r: Request) => void requests.push(r.url()));
    page.on("pageerror", (e) => void pageErrors.push(e.message));
    await page.goto(new URL(path, server.url).toString());
    return page;
  }

  it("serves the console at / with no request to any other origin", async () => {
    const res = await fetch(new URL("/", server.url));
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /^text\/html/);
    assert.match(res.headers.get("content-security-policy") ?? "", /default-src 'self'/);
    assert.match(await res.text(), /<title>grep-streams<\/title>/);
  });

  it("streams exactly the matching events, expands a row, and resumes after a reload with nothing lost or repeated", { timeout: 120_000 }, async () => {
    const api = clientFor("connect", server.url);
    const topic = "console-orders";
    await produce(api, topic, [{ key: ["t0", "u0"], value: { level: "info", n: 0 } }]); // the topic exists: the page lists it
    const page = await open("/");
    await page.locator(`.chip[data-topic="${topic}"]`).click();
    await page.locator("#query").fill('{"level": "error"}');
    await page.locator("#key-prefix").fill("tenant-1");
    await page.waitForSelector("#run:not([disabled])");
    await page.locator("#run").click();
    await waitForState(page, "live");
    // The URL holds the filter.
    const url = new URL(page.url());
    assert.equal(url.searchParams.get("topic"), topic);
    assert.equal(url.searchParams.get("q"), '{"level": "error"}');
    assert.equal(url.searchParams.get("key"), "tenant-1");

    const value = (n: number, level = "error") => ({ level, n, detail: { amount: n * 10, tags: ["a", "b"] } });
    await produce(api, topic, [
      { key: ["tenant-1", "u1"], value: value(1) },
      { key: ["tenant-2", "u1"], value: value(2) }, // other tenant
      { key: ["tenant-1", "u2"], value: value(3, "info") }, // not an error
      { key: ["tenant-1", "u3"], value: value(4) },
      { raw: "not json", key: ["tenant-1", "u4"] }, // not JSON: cannot match a query
      { key: ["tenant-1", "u5"], value: value(5) },
    ]);
    await waitForTotal(page, 3);
    let rows = await shownRows(page);
    // Newest first, exactly the three matches.
    assert.deepEqual(
      rows.map((r) => [r.key, JSON.parse(r.value).n]),
      [
        ["tenant-1/u5", 5],
        ["tenant-1/u3", 4],
        ["tenant-1/u1", 1],
      ],
    );
    // A row expands to its pretty-printed JSON.
    await page.locator(`.event[data-id="${rows[1]!.id}"] .row-line`).click();
    const detail = await text(page, `.event[data-id="${rows[1]!.id}"] .detail`);
    assert.ok(detail.includes(JSON.stringify(value(4), null, 2)), detail);
    await page.screenshot({ path: resolve(shots, "console.png") });

    // Oldest first, from the URL's order.
    await page.locator("#order").click();
    assert.equal(new URL(page.url()).searchParams.get("order"), "oldest");
    await page.waitForFunction(() => document.querySelector("#order")?.textContent === "Oldest first");
    rows = await shownRows(page);
    assert.deepEqual(
      rows.map((r) => JSON.parse(r.value).n),
      [1, 4, 5],
    );
    const before = rows.map((r) => r.id);

    // Leave the page, let matches arrive while nobody watches, come back: the
    // tab resumes right after the last event it showed.
    const consoleUrl = page.url();
    await page.goto("about:blank");
    await produce(api, topic, [
      { key: ["tenant-1", "u6"], value: value(6) },
      { key: ["tenant-9", "u6"], value: value(7) },
      { key: ["tenant-1", "u7"], value: value(8) },
    ]);
    await page.goto(consoleUrl);
    await waitForTotal(page, 5);
    await produce(api, topic, [{ key: ["tenant-1", "u8"], value: value(9) }]);
    await waitForTotal(page, 6);
    rows = await shownRows(page);
    assert.deepEqual(
      rows.map((r) => JSON.parse(r.value).n),
      [1, 4, 5, 6, 8, 9],
    );
    assert.deepEqual(
      rows.slice(0, 3).map((r) => r.id),
      before,
      "the rows shown before the reload are the same events",
    );
    assert.equal(new Set(rows.map((r) => r.id)).size, 6, "no event twice");
    // The IDs are the stream's dense sequence: seq 1..6 of one epoch.
    const streamState = server.app.engine.subscriptions();
    assert.equal(streamState.length, 1);
    assert.equal(streamState[0]!.delivered.seq, 6);

    // Reloading with the browser's own reload does the same.
    await page.reload();
    await waitForTotal(page, 6);
    await produce(api, topic, [{ key: ["tenant-1", "u9"], value: value(10) }]);
    await waitForTotal(page, 7);
    rows = await shownRows(page);
    assert.deepEqual(
      rows.map((r) => JSON.parse(r.value).n),
      [1, 4, 5, 6, 8, 9, 10],
    );
    await page.close();
  });

  it("shows the server's reason next to the query field as the user types", { timeout: 60_000 }, async () => {
    const page = await open("/?topic=console-orders");
    await waitForState(page, "live");
    const bad = '{"$where": "sleep(1000)"}';
    await page.locator("#query").fill(bad);
    await page.waitForSelector("#query-error:not(:empty)");
    const v = server.app.engine.validate({ topics: ["console-orders"], topicRegex: "", keyPrefix: [], keyRegex: "", query: bad, projection: "" });
    assert.equal(v.ok, false);
    assert.equal(await text(page, "#query-error"), v.ok ? "" : v.message.replace(/^filter\./, ""));
    assert.equal(await page.locator("#query").getAttribute("aria-invalid"), "true");
    assert.equal(await page.locator("#run").isDisabled(), true);
    await page.screenshot({ path: resolve(shots, "console-invalid-query.png") });
    // Fixing it clears the error and enables Start again.
    await page.locator("#query").fill('{"level": "warn"}');
    await page.waitForSelector("#query-error:empty", { state: "attached" });
    await page.waitForSelector("#run:not([disabled])");
    // A bad topic regex is shown by the topics.
    await page.locator("#topic-regex").fill("orders-(");
    await page.waitForSelector("#topics-error:not(:empty)");
    assert.match(await text(page, "#topics-error"), /^topic_regex/);
    await page.close();
  });

  it("pauses delivery on the server (the window), not in the page, and resumes with everything", { timeout: 120_000 }, async () => {
    const api = clientFor("connect", server.url);
    const topic = "console-paused";
    await produce(api, topic, [{ value: { n: 0 }, partition: 0 }]);
    const page = await open(`/?topic=${topic}`);
    await waitForState(page, "live");
    await produce(api, topic, [{ value: { n: 1 }, partition: 0 }]);
    await waitForTotal(page, 1);
    await page.locator("#pause").click();
    await waitForState(page, "paused");

    const more = 3 * WINDOW;
    await produce(
      api,
      topic,
      Array.from({ length: more }, (_, i) => ({ value: { n: i + 2 }, partition: 0 })), // one partition: one order
    );
    // The server holds the rest: it delivers at most a window beyond what the page acked.
    const sub = () => server.app.engine.subscriptions().find((s) => s.lag + s.delivered.seq === more + 1);
    await waitUntil("the window to fill", () => sub() !== undefined && sub()!.unacked >= WINDOW - 1);
    const held = sub()!;
    assert.ok(held.delivered.seq <= 1 + WINDOW + 1, `delivered ${held.delivered.seq} while paused`);
    assert.ok(held.lag >= more - WINDOW - 1, `lag ${held.lag}`);
    assert.equal(await text(page, "#total"), "1");

    await page.locator("#pause").click();
    await waitForTotal(page, more + 1);
    const rows = await shownRows(page);
    assert.equal(JSON.parse(rows[0]!.value).n, more + 1, "newest first after resuming");
    // Only what is visible (and a few more) is in the DOM, however many rows there are.
    assert.ok(rows.length > 10 && rows.length < 60, `${rows.length} rows drawn of ${more + 1}`);
    await page.locator("#viewport").evaluate((v) => (v.scrollTop = v.scrollHeight));
    await page.waitForFunction(() => Array.from(document.querySelectorAll("#rows .event .c-value")).some((c) => c.textContent === '{"n":1}'));
    await page.close();
  });

  it("shows the backfill and Count progress, and the count", { timeout: 120_000 }, async () => {
    const api = clientFor("connect", server.url);
    const topic = "console-history";
    const old = Date.now() - 86_400_000;
    const n = 20_000;
    for (let i = 0; i < n; i += 2000) {
      await produce(
        api,
        topic,
        Array.from({ length: 2000 }, (_, j) => ({ value: { n: i + j, even: (i + j) % 2 === 0 }, timestamp: old + i + j })),
      );
    }
    // Record what the progress bars show, however briefly, from the first script on.
    const page = await chromium.browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.on("request", (r: Request) => void requests.push(r.url()));
    await page.addInitScript(() => {
      const seen: string[] = ((window as unknown as { progressTexts: string[] }).progressTexts = []);
      addEventListener("DOMContentLoaded", () => {
        for (const id of ["backfill-text", "count-text"]) {
          const el = document.getElementById(id)!;
          new MutationObserver(() => seen.push(`${id}: ${el.textContent}`)).observe(el, { childList: true, characterData: true, subtree: true });
        }
      });
    });
    await page.goto(new URL(`/?topic=${topic}&q=${encodeURIComponent('{"even": true}')}&from=earliest`, server.url).toString());
    await waitForTotal(page, n / 2);
    // Count a filter nobody subscribed to: the server scans the topic.
    await page.locator("#query").fill('{"n": {"$lt": 5000}}');
    await page.waitForFunction(() => document.querySelector("#filter-notes")?.textContent === "" && !(document.querySelector("#run") as HTMLButtonElement).disabled);
    await page.locator("#count").click();
    await page.waitForSelector("#count-result:not(:empty)", { timeout: 30_000 });
    assert.match(await text(page, "#count-result"), /^Count: 5,000 matches in 20,000 messages in all history \(scanned the source, /);
    const progress = await page.evaluate(() => (window as unknown as { progressTexts: string[] }).progressTexts);
    const shape = /^(backfill|count)-text: \d+% · [\d,]+\/20,000 scanned · [\d,]+ matched( · .+ left| · done)?$/;
    assert.ok(progress.some((t) => t.startsWith("backfill-text") && shape.test(t)), `backfill progress shown: ${progress.join(" | ")}`);
    assert.ok(progress.some((t) => t.startsWith("count-text") && shape.test(t)), `count progress shown: ${progress.join(" | ")}`);
    assert.equal(await page.locator("#counting").isHidden(), true, "the count's bar goes away when done");
    await page.close();
  });

  it("fits a phone-sized screen", { timeout: 60_000 }, async () => {
    const page = await open("/?topic=console-orders&q=%7B%22level%22%3A%22error%22%7D&from=earliest&order=oldest", { width: 390, height: 844 });
    await waitForTotal(page, 9); // every error of the first test, any tenant
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.equal(overflow, 0, "no sideways scrolling");
    assert.equal(await page.locator("#rows .event .c-topic").first().isHidden(), true, "the narrow table drops the topic column");
    await page.screenshot({ path: resolve(shots, "console-phone.png") });
    await page.close();
  });

  it("made no request outside the server's origin and had no script errors", () => {
    const origin = new URL(server.url).origin;
    const foreign = requests.filter((u) => !u.startsWith(origin) && u !== "about:blank");
    assert.deepEqual(foreign, []);
    assert.ok(requests.length > 10, `${requests.length} requests`);
    assert.deepEqual(pageErrors, []);
  });
});

