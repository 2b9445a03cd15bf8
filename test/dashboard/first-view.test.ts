import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_ASSETS_DIR, dashboardRoutes } from "../../src/dashboard/routes.js";
import { chromiumMissing, launchBrowser, type TestBrowser } from "../helpers/browser.js";
import { stateChanged } from "../helpers/ws-events.js";
import { FixtureHome } from "../helpers/ws-home.js";
import { startTestServer, type TestServer } from "../helpers/ws-server.js";

const WAIT = { timeout: 30_000 };
const TEST_TIMEOUT = 90_000;

describe.skipIf(chromiumMissing())("dashboard's first view in Chromium", () => {
  let t: TestServer;
  let browser: TestBrowser;

  beforeAll(async () => {
    if (!existsSync(join(DEFAULT_ASSETS_DIR, "app.js")))
      execFileSync("npm", ["run", "--silent", "build:dashboard"], { stdio: "inherit" });
    // A replay ring of one event: the dashboard's resume from seq 0 is answered with a snapshot.
    t = await startTestServer({ home: new FixtureHome(), config: { server: { replay: { size: 1 } } } });
    dashboardRoutes(t.listener, { ingress: false });
    for (let i = 0; i < 3; i += 1) t.publish(stateChanged("sensor.outside", String(i)));
    browser = await launchBrowser();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await t?.stop();
  }, TEST_TIMEOUT);

  it(
    "shows every room with its entities and occupancy right after loading, with nothing changing",
    async () => {
      const token = await t.token({ subject: "viewer", capabilities: ["entities", "predictions"] });
      const page = await browser.context.newPage();
      await page.goto(`${t.url("/").replace(/^ws:/, "http:")}#token=${token}`);
      await page.locator('header [data-link="live"]').waitFor(WAIT);
      const kitchen = page.locator('article.room[data-room="kitchen"]');
      const bedroom = page.locator('article.room[data-room="bedroom"]');
      await expect.poll(() => kitchen.locator("[data-entity]").count(), WAIT).toBe(4);
      expect(await bedroom.locator("[data-entity]").count()).toBe(1);
      expect(await kitchen.locator("h3").textContent()).toBe("Kitchen");
      expect(await kitchen.locator("[data-occupancy]").getAttribute("data-occupancy")).toBe("vacant");
      expect(await bedroom.locator("[data-occupancy]").getAttribute("data-occupancy")).toBe("occupied");
      expect(await page.locator('ol.events li[data-type="snapshot"]').count()).toBe(1);
      await page.close();
    },
    TEST_TIMEOUT,
  );
});
