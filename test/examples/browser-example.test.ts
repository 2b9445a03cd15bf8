import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../src/core/logger.js";
import { type Demo, startDemo } from "../../src/demo/index.js";
import { chromiumMissing, launchBrowser, type TestBrowser } from "../helpers/browser.js";

describe.skipIf(chromiumMissing())("the seed's browser PMA client, opened from disk", () => {
  let demo: Demo;
  let browser: TestBrowser;
  let dataDir: string;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), "pma-browser-example-"));
    demo = await startDemo({ port: 0, dataDir, speed: 20, seed: 9, logLevel: "silent" }, silentLogger());
    browser = await launchBrowser();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await demo?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("connects, authenticates, subscribes to its entities and logs their changes", async () => {
    const page = await browser.context.newPage();
    const url = pathToFileURL(resolve("examples/browser/pma-client.html"));
    url.search = new URLSearchParams({
      url: demo.urls.pma,
      token: demo.token,
      entities: "sensor.bedroom_temperature",
    }).toString();
    await page.goto(url.toString());
    const log = page.locator("#log");
    for (const text of [
      /Connected to PMA WebSocket/,
      /Authenticated as demo-admin/,
      /Subscribed: sensor\.bedroom_temperature \(total 1\)/,
      /Entity sensor\.bedroom_temperature changed from \S+ to \S+/,
    ]) {
      await expect.poll(() => log.textContent(), { timeout: 30_000 }).toMatch(text);
    }
    await page.close();
  }, 60_000);
});
