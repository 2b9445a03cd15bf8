import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../src/core/logger.js";
import { DEFAULT_ASSETS_DIR } from "../../src/dashboard/routes.js";
import { type Demo, startDemo } from "../../src/demo/index.js";
import { chromiumMissing, launchBrowser, type TestBrowser } from "../helpers/browser.js";
import { startIngressProxy } from "../helpers/browser-ingress.js";

/** Where the screenshot of the dashboard lands, for the README and for people reading CI output. */
export const SCREENSHOT = join(process.cwd(), "test-results", "dashboard.png");

/** Generous bounds for a loaded 2-core machine; the conditions usually hold within a second or two. */
const WAIT = { timeout: 30_000 };
const TEST_TIMEOUT = 90_000;
const LIVE = 'header [data-link="live"]';

function roomsShown(page: Page): Promise<number> {
  return page.locator("article.room").count();
}

/** The newest entry of the live tail as rendered (time, type and text): it changes whenever an event arrives. */
async function newestEvent(page: Page): Promise<string> {
  return (
    (await page
      .locator("ol.events li")
      .first()
      .textContent({ timeout: 1000 })
      .catch(() => null)) ?? ""
  );
}

describe.skipIf(chromiumMissing())("dashboard in Chromium against the demo", () => {
  let demo: Demo;
  let browser: TestBrowser;
  let dataDir: string;

  beforeAll(async () => {
    // `npm test` builds first; running this file alone still needs the bundle.
    if (!existsSync(join(DEFAULT_ASSETS_DIR, "app.js")))
      execFileSync("npm", ["run", "--silent", "build:dashboard"], { stdio: "inherit" });
    dataDir = mkdtempSync(join(tmpdir(), "pma-browser-"));
    demo = await startDemo({ port: 0, dataDir, speed: 10, seed: 3, logLevel: "silent" }, silentLogger());
    browser = await launchBrowser();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await demo?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }, TEST_TIMEOUT);

  it(
    "loads, signs in with the demo's token and shows every room with live updates",
    async () => {
      const page = await browser.context.newPage();
      await page.goto(demo.urls.dashboard);
      await page.locator(LIVE).waitFor(WAIT);
      await expect.poll(() => roomsShown(page), WAIT).toBeGreaterThanOrEqual(6);
      await expect(page.locator("header.toolbar").textContent()).resolves.toContain(
        "Signed in as demo-admin",
      );
      // The token came in the URL fragment and is gone from the address bar once read.
      expect(page.url()).not.toContain("token=");

      const first = await newestEvent(page);
      await expect.poll(() => newestEvent(page), WAIT).not.toBe(first);
      await page.locator("[data-prediction]").first().waitFor(WAIT);
      await page.locator("tr[data-client]").first().waitFor(WAIT);

      mkdirSync(join(process.cwd(), "test-results"), { recursive: true });
      await page.screenshot({ path: SCREENSHOT, fullPage: true });
      await page.close();
    },
    TEST_TIMEOUT,
  );

  it(
    "filters the live tail by category and text",
    async () => {
      const page = await browser.context.newPage();
      await page.goto(demo.urls.dashboard);
      await page.locator(LIVE).waitFor(WAIT);
      await page.locator('ol.events li[data-category="entities"]').first().waitFor(WAIT);
      await page.locator("label.chip", { hasText: "entities" }).locator("input").uncheck();
      await expect.poll(() => page.locator('ol.events li[data-category="entities"]').count()).toBe(0);
      await page.locator("input.search").fill("no-such-thing-anywhere");
      await expect.poll(() => page.locator("ol.events li").count()).toBe(0);
      await page.close();
    },
    TEST_TIMEOUT,
  );

  it(
    "survives a bridge restart: it reconnects and live updates resume",
    async () => {
      const page = await browser.context.newPage();
      await page.goto(demo.urls.dashboard);
      await page.locator(LIVE).waitFor(WAIT);
      await expect.poll(() => roomsShown(page), WAIT).toBeGreaterThanOrEqual(6);

      await demo.restartBridge();
      await page.locator(LIVE).waitFor(WAIT);
      const afterRestart = await newestEvent(page);
      await expect.poll(() => newestEvent(page), WAIT).not.toBe(afterRestart);
      expect(await roomsShown(page)).toBeGreaterThanOrEqual(6);
      await page.close();
    },
    TEST_TIMEOUT,
  );

  it(
    "works under Home Assistant's ingress path prefix",
    async () => {
      const url = new URL(demo.urls.http);
      const proxy = await startIngressProxy({ host: url.hostname, port: Number(url.port) });
      const page = await browser.context.newPage();
      const sockets: string[] = [];
      page.on("websocket", (ws) => sockets.push(ws.url()));
      try {
        await page.goto(`${proxy.url}#token=${demo.token}`);
        await page.locator(LIVE).waitFor(WAIT);
        await expect.poll(() => roomsShown(page), WAIT).toBeGreaterThanOrEqual(6);
        // Paths only: the WebSocket URL also carries the resume cursor (`?last_seq=`).
        expect(sockets.some((s) => new URL(s).pathname === `${proxy.prefix}/ws`)).toBe(true);
        expect(proxy.forwarded.map((path) => path.split("?")[0])).toEqual(
          expect.arrayContaining(["/", "/dashboard/app.js", "/ws"]),
        );
      } finally {
        await page.close();
        await proxy.stop();
      }
    },
    TEST_TIMEOUT,
  );
});
