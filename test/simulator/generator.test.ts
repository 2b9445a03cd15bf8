import { describe, expect, it } from "vitest";
import { generateHome, SimulatedHomeAssistant, seededRandom } from "../../src/simulator/index.js";
import { TOKEN, waitFor } from "../helpers/ha-harness.js";
import { RawHaClient } from "../helpers/ha-raw-client.js";

describe("generateHome", () => {
  it("builds a consistent home of the requested size, the same for the same seed", () => {
    const home = generateHome({ entities: 2000, areas: 30, seed: 11 });
    expect(home.areas).toHaveLength(30);
    expect(home.floors).toHaveLength(4);
    expect(home.entities.length).toBeGreaterThanOrEqual(2000);
    expect(home.entities.length).toBeLessThan(2003);
    const areaIds = new Set(home.areas.map((a) => a.area_id));
    const deviceIds = new Set(home.devices.map((d) => d.id));
    expect(areaIds.size).toBe(30);
    expect(home.devices.every((d) => d.area_id !== null && areaIds.has(d.area_id))).toBe(true);
    expect(home.entities.every((e) => e.device_id === null || deviceIds.has(e.device_id))).toBe(true);
    expect(new Set(home.entities.map((e) => e.entity_id)).size).toBe(home.entities.length);
    expect(generateHome({ entities: 2000, areas: 30, seed: 11 })).toEqual(home);
    expect(generateHome({ entities: 2000, areas: 30, seed: 12 })).not.toEqual(home);
  });
});

describe("SimulatedHomeAssistant activity", () => {
  it("produces state changes, automation runs and scene activations until stopped", async () => {
    const ha = await SimulatedHomeAssistant.start({
      token: TOKEN,
      home: generateHome({ entities: 300, areas: 6, seed: 2 }),
    });
    const client = await RawHaClient.authenticated(ha.url, TOKEN);
    try {
      await client.command({ id: 2, type: "subscribe_events" });
      const stop = ha.startActivity({ eventsPerSecond: 2000, tickMs: 10 });
      const types = (): Set<unknown> =>
        new Set(
          client.received
            .filter((r) => r.message.type === "event")
            .map((r) => (r.message.event as Record<string, unknown>).event_type),
        );
      await waitFor(
        () => ["state_changed", "automation_triggered", "call_service"].every((t) => types().has(t)),
        "varied activity",
      );
      stop();
      // Let frames already written arrive before counting.
      await new Promise((resolve) => setTimeout(resolve, 100));
      const count = client.received.length;
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(client.received.length).toBe(count);
    } finally {
      client.close();
      await ha.stop();
    }
  });
});

describe("seededRandom", () => {
  it("repeats its sequence for the same seed and stays in [0, 1)", () => {
    const a = seededRandom(7);
    const b = seededRandom(7);
    const values = Array.from({ length: 100 }, () => a());
    expect(values).toEqual(Array.from({ length: 100 }, () => b()));
    expect(values.every((v) => v >= 0 && v < 1)).toBe(true);
    expect(new Set(values).size).toBe(100);
  });
});
