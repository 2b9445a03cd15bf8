import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connectAsync } from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../src/core/logger.js";
import { type Demo, demoBanner, isLoopback, startDemo } from "../../src/demo/index.js";
import { verifyToken } from "../../src/server/auth/jwt.js";
import { readSecrets } from "../../src/server/auth/secrets.js";

describe("startDemo", () => {
  let demo: Demo;
  let dataDir: string;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), "pma-demo-"));
    demo = await startDemo({ port: 0, dataDir, speed: 20, seed: 11, logLevel: "silent" }, silentLogger());
  });
  afterAll(async () => {
    await demo?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("binds to loopback and prints every URL, the token, the API key and a runnable example command", () => {
    expect(demo.urls.http).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const banner = demoBanner(demo);
    for (const text of [
      demo.urls.dashboard,
      demo.urls.pma,
      `${demo.urls.occupancy}/ws/predictions`,
      demo.token,
      demo.apiKey,
    ]) {
      expect(banner).toContain(text);
    }
    expect(demo.exampleCommand).toBe(`node examples/node/pma-client.mjs ${demo.urls.pma} ${demo.token}`);
    expect(demo.urls.dashboard).toBe(`${demo.urls.http}/#token=${demo.token}`);
  });

  it("allows anonymous reads because it is bound to loopback, and says so", () => {
    expect(demo.anonymousReads).toBe(true);
    expect(demoBanner(demo)).toContain("Anonymous clients on this address may read");
  });

  it("mints a full-access token from the secret kept in its data directory", async () => {
    const secret = readSecrets(dataDir)?.jwt_secret;
    expect(secret).toBeDefined();
    const claims = await verifyToken(secret ?? "", demo.token);
    expect(claims.subject).toBe("demo-admin");
    expect(claims.capabilities).toEqual(
      expect.arrayContaining(["predictions", "alerts", "entities", "admin"]),
    );
    expect(claims.rooms).toEqual([]);
  });

  it("runs a prediction publisher on the embedded broker, under the predictor's own room ids", async () => {
    const client = await connectAsync(demo.urls.mqtt, { clientId: "demo-test-watcher" });
    const topics = new Set<string>();
    client.on("message", (topic) => topics.add(topic));
    await client.subscribeAsync("occupancy/predictions/+/prediction");
    await expect
      .poll(() => topics.has("occupancy/predictions/living_kitchen/prediction"), { timeout: 5_000 })
      .toBe(true);
    expect(topics.has("occupancy/predictions/bedroom/prediction")).toBe(true);
    await client.endAsync();
  });

  it("keeps the simulated home alive: presence sensors change as residents move", async () => {
    const presence = () =>
      demo.simulator
        .entityIds()
        .filter((id) => /^binary_sensor\..*_(motion|occupancy)$/.test(id))
        .map((id) => `${id}=${demo.simulator.stateOf(id)?.state}`)
        .join(",");
    const first = presence();
    await expect.poll(presence, { timeout: 10_000, interval: 50 }).not.toBe(first);
  });
});

describe("startDemo on a busy port", () => {
  it("says the port is in use and how to pick another", async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", () => resolve()));
    const port = (blocker.address() as AddressInfo).port;
    const dataDir = mkdtempSync(join(tmpdir(), "pma-demo-busy-"));
    try {
      await expect(startDemo({ port, dataDir, logLevel: "silent" }, silentLogger())).rejects.toMatchObject({
        code: "PORT_IN_USE",
        message: expect.stringContaining("--port"),
      });
    } finally {
      await new Promise<void>((resolve) => blocker.close(() => resolve()));
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe("isLoopback", () => {
  it.each([
    ["127.0.0.1", true],
    ["127.1.2.3", true],
    ["::1", true],
    ["localhost", true],
    ["0.0.0.0", false],
    ["192.168.1.10", false],
    ["::", false],
  ])("%s → %s", (host, loopback) => {
    expect(isLoopback(host)).toBe(loopback);
  });
});
