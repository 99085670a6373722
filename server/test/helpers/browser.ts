// Debian's Chromium, driven by playwright-core, for the console's end-to-end
// test. Installs the package when it is missing and this runs as root;
// otherwise says loudly why the browser tests are skipped.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { chromium, type Browser } from "playwright-core";

export const CHROMIUM = process.env.GREP_STREAMS_CHROMIUM ?? "/usr/bin/chromium";

/** The reason the browser cannot run here, or null when it can. */
export function ensureChromium(): string | null {
  if (existsSync(CHROMIUM)) return null;
  if (process.getuid?.() !== 0) return `${CHROMIUM} is missing and installing it needs root: run \`apt-get install chromium\``;
  try {
    process.stderr.write(`\n*** ${CHROMIUM} is missing: installing Debian's chromium package (apt-get) ***\n`);
    execFileSync("apt-get", ["update", "-qq"], { stdio: "inherit", timeout: 300_000 });
    execFileSync("apt-get", ["install", "-y", "-qq", "chromium"], { stdio: "inherit", timeout: 600_000, env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
  } catch (err) {
    return `installing chromium failed: ${(err as Error).message}`;
  }
  return existsSync(CHROMIUM) ? null : `apt-get installed chromium but ${CHROMIUM} is not there`;
}

export interface TestBrowser {
  readonly browser: Browser;
  close(): Promise<void>;
}

export async function launchChromium(): Promise<TestBrowser> {
  // The machine has no network but loopback: without these flags Chromium
  // keeps trying to reach its own services (and fails at every start).
  // (Playwright gives each launch a fresh, temporary profile.)
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--disable-dev-shm-usage",
    ],
  });
  return {
    browser,
    close: () => browser.close(),
  };
}
