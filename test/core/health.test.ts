import { describe, expect, it } from "vitest";
import { HealthRegistry } from "../../src/core/health.js";

describe("HealthRegistry", () => {
  it("is ready only when every registered component is", () => {
    const health = new HealthRegistry();
    expect(health.report().ready).toBe(true);
    health.register("homeassistant");
    health.register("mqtt");
    expect(health.report()).toMatchObject({
      ready: false,
      reasons: ["homeassistant: starting", "mqtt: starting"],
    });
    health.set("homeassistant", true);
    health.set("mqtt", false, "broker refused the credentials");
    expect(health.report().reasons).toEqual(["mqtt: broker refused the credentials"]);
    health.set("mqtt", true);
    expect(health.report().ready).toBe(true);
  });

  it("tells listeners about changes only, and keeps the time of the last transition", () => {
    let clock = new Date("2026-01-01T00:00:00Z");
    const health = new HealthRegistry(() => clock);
    const seen: string[] = [];
    health.onChange((name, h) => seen.push(`${name}:${h.ready}:${h.reason ?? ""}`));
    health.set("ha", false, "connecting");
    health.set("ha", false, "connecting");
    clock = new Date("2026-01-01T00:01:00Z");
    health.set("ha", true);
    clock = new Date("2026-01-01T00:02:00Z");
    health.set("ha", true);
    expect(seen).toEqual(["ha:false:connecting", "ha:true:"]);
    expect(health.get("ha")?.since).toBe("2026-01-01T00:01:00.000Z");
  });

  it("does not re-register a component that already reported", () => {
    const health = new HealthRegistry();
    health.set("server", true);
    health.register("server");
    expect(health.get("server")?.ready).toBe(true);
    health.unregister("server");
    expect(health.get("server")).toBeUndefined();
  });
});
