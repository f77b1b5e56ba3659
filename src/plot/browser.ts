/**
 * One headless Chromium page, reused for every chart (about 60 ms a chart once warm).
 *
 * Debian's chromium is driven through playwright-core (no browser download). The page loads the
 * plotly bundle once; each render calls Plotly.toImage inside it. The browser closes itself after a
 * short idle time, and `closePlotBrowser()` closes it at once (scripts call it before exiting).
 */
import { existsSync } from "node:fs";
import type { Browser, Page } from "playwright-core";
import { plotlyBundlePath } from "./html.js";
import { InputError } from "../util/errors.js";

export const CHROMIUM_INSTALL_LINE = "sudo apt-get install -y chromium";

/** Flags checked on this machine kind: no background network traffic, no sandbox as root. */
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export class ChromiumMissingError extends InputError {
  constructor(path: string) {
    super(
      `chromium not found at ${path}: PNG charts need it. Install it with \`${CHROMIUM_INSTALL_LINE}\` ` +
        `(or set OMNI_CHROMIUM to a Chromium binary). HTML charts are still written.`,
    );
    this.name = "ChromiumMissingError";
  }
}

export function chromiumPath(): string {
  return process.env.OMNI_CHROMIUM ?? "/usr/bin/chromium";
}

interface Session {
  browser: Browser;
  page: Page;
}

let session: Promise<Session> | undefined;
let idleTimer: NodeJS.Timeout | undefined;
const IDLE_MS = 15_000;

async function launch(): Promise<Session> {
  const path = chromiumPath();
  if (!existsSync(path)) throw new ChromiumMissingError(path);
  const { chromium } = await import("playwright-core");
  // playwright gives the browser a fresh temporary profile of its own and removes it on close.
  const browser = await chromium.launch({ executablePath: path, args: CHROMIUM_ARGS });
  const page = await browser.newPage();
  await page.setContent('<!DOCTYPE html><html><body style="margin:0"><div id="plot"></div></body></html>');
  await page.addScriptTag({ path: plotlyBundlePath() });
  return { browser, page };
}

/** The shared page, launching the browser on first use. */
export async function plotPage(): Promise<Page> {
  if (idleTimer) clearTimeout(idleTimer);
  session ??= launch().catch((err) => {
    session = undefined;
    throw err;
  });
  const s = await session;
  idleTimer = setTimeout(() => void closePlotBrowser(), IDLE_MS);
  idleTimer.unref();
  return s.page;
}

export async function closePlotBrowser(): Promise<void> {
  if (idleTimer) clearTimeout(idleTimer);
  idleTimer = undefined;
  const s = session;
  session = undefined;
  if (!s) return;
  try {
    const { browser } = await s;
    await browser.close();
  } catch {
    // The launch itself failed: nothing to close.
  }
}
