import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TestClient } from "../helpers/ws-client.js";
import { prediction } from "../helpers/ws-events.js";
import { ADMIN_KEY, startTestServer, type TestServer } from "../helpers/ws-server.js";

const PER_DIALECT = 500;

describe("BridgeServer fan-out", () => {
  let t: TestServer;
  const pma: TestClient[] = [];
  const occupancy: TestClient[] = [];

  beforeAll(async () => {
    t = await startTestServer({
      config: { server: { max_connections: 2000, max_connections_per_ip: 2000 } },
    });
    for (let i = 0; i < PER_DIALECT; i++) {
      const p = await t.connect(`/ws?token=${ADMIN_KEY}`);
      p.send({ type: "subscribe_ha_events", data: { event_types: ["prediction_update"] } });
      pma.push(p);
      const o = await t.connect("/ws/predictions");
      o.send({ type: "authentication", data: { api_key: ADMIN_KEY } });
      occupancy.push(o);
    }
    await Promise.all([
      ...pma.map((c) => c.nextOfType("subscription_update", 30_000)),
      ...occupancy.map((c) => c.nextOfType("subscription_status", 30_000)),
    ]);
  }, 120_000);

  afterAll(async () => {
    await t.stop();
  });

  it("serializes one event for 1000 subscribed clients once per dialect, identical bytes to all", async () => {
    const before = t.hub.stats();
    t.publish(prediction("kitchen", "2026-01-15T15:45:00.000Z"));
    const lastFrame = async (c: TestClient): Promise<string | undefined> => {
      await c.nextOfType("prediction_update", 30_000);
      return c.raw.at(-1)?.toString();
    };
    const pmaFrames = await Promise.all(pma.map(lastFrame));
    const occFrames = await Promise.all(occupancy.map(lastFrame));
    const after = t.hub.stats();
    expect((after.encodes.pma ?? 0) - (before.encodes.pma ?? 0)).toBe(1);
    expect((after.encodes.occupancy ?? 0) - (before.encodes.occupancy ?? 0)).toBe(1);
    expect((after.renders.pma ?? 0) - (before.renders.pma ?? 0)).toBe(1);
    expect((after.renders.occupancy ?? 0) - (before.renders.occupancy ?? 0)).toBe(1);
    expect(after.delivered - before.delivered).toBe(2 * PER_DIALECT);
    expect(new Set(pmaFrames).size).toBe(1);
    expect(new Set(occFrames).size).toBe(1);
  }, 60_000);
});
