import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../src/core/logger.js";
import { type Demo, startDemo } from "../../src/demo/index.js";
import { runWatch } from "../../src/watch/index.js";
import { stateChanged, systemStatus } from "../helpers/ws-events.js";
import { FixtureHome } from "../helpers/ws-home.js";
import { ADMIN_KEY, startTestServer, type TestServer } from "../helpers/ws-server.js";

/** Collects what `watch` prints. */
class Capture {
  text = "";
  write(chunk: string): boolean {
    this.text += chunk;
    return true;
  }
  get lines(): string[] {
    return this.text.split("\n").filter(Boolean);
  }
}

const TEST_TIMEOUT = 60_000;

describe("runWatch against the demo", () => {
  let demo: Demo;
  let dataDir: string;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), "pma-watch-"));
    demo = await startDemo({ port: 0, dataDir, speed: 20, seed: 5, logLevel: "silent" }, silentLogger());
  }, 60_000);
  afterAll(async () => {
    await demo?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it(
    "subscribes from its flags and prints the confirmations and the matching events",
    async () => {
      const out = new Capture();
      const stop = new AbortController();
      const running = runWatch(
        {
          url: demo.urls.http,
          token: demo.token,
          entities: ["sensor.bedroom_temperature"],
          events: ["prediction_update"],
          color: false,
        },
        out,
        stop.signal,
      );
      await expect
        .poll(() => out.text, { timeout: 15_000 })
        .toMatch(/subscribed ha_events: prediction_update/);
      await expect
        .poll(() => out.text, { timeout: 15_000 })
        .toMatch(/subscribed ha_entities: sensor\.bedroom_temperature/);
      await expect
        .poll(() => out.text, { timeout: 15_000 })
        .toMatch(/pma_entity_state_changed +sensor\.bedroom_temperature \S+ → \S+ \[bedroom\] #\d+/);
      await expect
        .poll(() => out.text, { timeout: 15_000 })
        .toMatch(/prediction_update +.+ → (occupied|vacant) in .+ \(\d+%\) #\d+/);
      stop.abort();
      expect(await running).toBe(0);
      // Besides what it subscribed to, an authenticated client gets the bridge's status messages only.
      for (const line of out.lines.filter((l) => / #\d+$/.test(l))) {
        expect(line).toMatch(
          /sensor\.bedroom_temperature|prediction_update|system_status|sync_status|adapter_status|connection_status/,
        );
      }
    },
    TEST_TIMEOUT,
  );

  it(
    "exits with code 0 after --max-messages events",
    async () => {
      const out = new Capture();
      expect(
        await runWatch({ url: demo.urls.pma, token: demo.token, maxMessages: 2, color: false }, out),
      ).toBe(0);
      expect(out.lines.filter((l) => / #\d+$/.test(l))).toHaveLength(2);
    },
    TEST_TIMEOUT,
  );

  it(
    "watches an occupancy endpoint with the API key and acknowledges what requires it",
    async () => {
      const out = new Capture();
      const code = await runWatch(
        {
          url: demo.urls.occupancy,
          apiKey: demo.apiKey,
          endpoint: "/ws/alerts",
          maxMessages: 1,
          color: false,
        },
        out,
      );
      expect(code).toBe(0);
      expect(out.text).toMatch(/authenticated \(/);
      const alert = out.lines.find((line) => line.includes("(requires ack)"));
      expect(alert).toBeDefined();
      expect(out.text).toMatch(/-- acknowledged \S+:\d+:\/ws\/alerts/);
    },
    TEST_TIMEOUT,
  );

  it(
    "reconnects and resumes after the bridge restarts",
    async () => {
      const out = new Capture();
      const stop = new AbortController();
      const running = runWatch(
        { url: demo.urls.pma, token: demo.token, events: ["state_changed"], color: false },
        out,
        stop.signal,
      );
      await expect
        .poll(() => out.lines.filter((l) => / #\d+$/.test(l)).length, { timeout: 15_000 })
        .toBeGreaterThan(0);
      await demo.restartBridge();
      await expect.poll(() => out.text, { timeout: 30_000 }).toMatch(/-- reconnected; resuming after #\d+/);
      // A graceful restart keeps the epoch and the history: the replay ends with a short line, not an error.
      await expect
        .poll(() => out.text, { timeout: 30_000 })
        .toMatch(/resume_status +resumed after #\d+: \d+ missed events? replayed, now at #\d+/);
      const mark = out.lines.length;
      await expect
        .poll(() => out.lines.slice(mark).some((l) => / #\d+$/.test(l)), { timeout: 15_000 })
        .toBe(true);
      stop.abort();
      expect(await running).toBe(0);
      expect(out.text).toMatch(/-- disconnected \(\d+\); reconnecting in/);
      expect(out.text).not.toMatch(/ignored a frame/);
    },
    TEST_TIMEOUT,
  );

  it(
    "authenticates the pma dialect with an API key too",
    async () => {
      const out = new Capture();
      expect(
        await runWatch({ url: demo.urls.pma, apiKey: demo.apiKey, maxMessages: 1, color: false }, out),
      ).toBe(0);
      expect(out.text).toMatch(/authentication_success +authenticated as demo /);
    },
    TEST_TIMEOUT,
  );

  it(
    "exits with code 2 when the bridge refuses the token",
    async () => {
      const out = new Capture();
      expect(await runWatch({ url: demo.urls.pma, token: "not-a-valid-token", color: false }, out)).toBe(2);
      expect(out.text).toMatch(/watch: AUTH_FAILED: /);
    },
    TEST_TIMEOUT,
  );
});

describe("runWatch with a message of an odd shape", () => {
  let t: TestServer;
  afterAll(async () => {
    await t?.stop();
  });

  it(
    "prints it as JSON instead of its one-line form, and still counts it for --max-messages",
    async () => {
      t = await startTestServer();
      const out = new Capture();
      const running = runWatch(
        { url: t.url(""), apiKey: ADMIN_KEY, endpoint: "/ws/system-status", maxMessages: 1, color: false },
        out,
      );
      await expect.poll(() => out.text, { timeout: 15_000 }).toMatch(/subscribe.*system-status/);
      // A status no text can be made of: `String()` of it throws.
      const odd = { toString: 1 } as unknown as "healthy";
      t.publish({ ...systemStatus("healthy"), data: { status: odd, details: {} } });
      expect(await running).toBe(0);
      expect(out.text).toContain('"system_health":{"toString":1}');
    },
    TEST_TIMEOUT,
  );
});

describe("runWatch when the bridge no longer has what it missed", () => {
  let t: TestServer;
  afterAll(async () => {
    await t?.stop();
  });

  it(
    "prints one line for the snapshot and carries on with live events",
    async () => {
      t = await startTestServer({ home: new FixtureHome(), config: { server: { replay: { size: 20 } } } });
      const out = new Capture();
      const stop = new AbortController();
      const running = runWatch(
        { url: t.url(""), token: ADMIN_KEY, rooms: ["kitchen"], color: false },
        out,
        stop.signal,
      );
      await expect.poll(() => out.text, { timeout: 15_000 }).toMatch(/subscribed ha_rooms: kitchen/);
      t.publish(stateChanged("light.kitchen", "on", { room: "kitchen" }));
      await expect.poll(() => out.text, { timeout: 15_000 }).toMatch(/light\.kitchen off → on/);

      for (const connection of t.server.clients()) connection.close(1012, "test drop");
      for (let i = 0; i < 100; i += 1)
        t.publish(stateChanged("light.kitchen", String(i), { room: "kitchen" }));
      await expect
        .poll(() => out.text, { timeout: 15_000 })
        .toMatch(
          /snapshot +current state \(\d+ items\) instead of a replay: history is gone \(gap_too_old\) #\d+/,
        );
      t.publish(stateChanged("light.kitchen", "live", { room: "kitchen" }));
      await expect.poll(() => out.text, { timeout: 15_000 }).toMatch(/light\.kitchen off → live/);
      stop.abort();
      expect(await running).toBe(0);
      expect(out.text).not.toMatch(/ignored a frame/);
    },
    TEST_TIMEOUT,
  );
});
