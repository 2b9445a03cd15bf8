import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { silentLogger } from "../../src/core/logger.js";
import { HomeActivity } from "../../src/demo/activity.js";
import { DEMO_ENTITIES, DEMO_ROOMS, demoHome } from "../../src/demo/home.js";
import type { RoomOccupancy } from "../../src/demo/predictor.js";
import { seededRandom } from "../../src/simulator/generator.js";
import { SimulatedHomeAssistant } from "../../src/simulator/index.js";

describe("demoHome", () => {
  it("gives every room a presence sensor and a light in that room's area, via their devices", () => {
    const home = demoHome();
    const deviceArea = new Map(home.devices.map((d) => [d.id, d.area_id]));
    for (const room of DEMO_ROOMS) {
      for (const entityId of [`binary_sensor.${room.id}_${room.presence}`, `light.${room.id}_ceiling`]) {
        const entry = home.entities.find((e) => e.entity_id === entityId);
        expect(entry?.device_id && deviceArea.get(entry.device_id)).toBe(room.id);
        expect(home.states.some((s) => s.entity_id === entityId)).toBe(true);
      }
    }
  });

  it("has unique registry and device ids, and a state for every registry entry", () => {
    const home = demoHome();
    expect(new Set(home.entities.map((e) => e.id)).size).toBe(home.entities.length);
    expect(new Set(home.devices.map((d) => d.id)).size).toBe(home.devices.length);
    const withState = new Set(home.states.map((s) => s.entity_id));
    expect(home.entities.filter((e) => !withState.has(e.entity_id))).toEqual([]);
  });
});

describe("HomeActivity", () => {
  let sim: SimulatedHomeAssistant;
  let activity: HomeActivity;
  let now: number;

  beforeEach(async () => {
    sim = await SimulatedHomeAssistant.start({ token: "t", home: demoHome() });
    now = Date.parse("2026-03-01T18:00:00Z");
    // A pace so slow that its own timer never fires: the test steps the clock and ticks by hand.
    activity = new HomeActivity(
      sim,
      { speed: 1e-6, random: seededRandom(5), now: () => now },
      silentLogger(),
    );
    await activity.start();
  });
  afterEach(async () => {
    await activity.stop();
    await sim.stop();
  });

  const occupiedRooms = (): string[] =>
    activity
      .rooms()
      .filter((r) => r.occupied)
      .map((r) => r.roomId)
      .sort();

  it("starts with the residents in the living room and the office, sensors and lights on there only", () => {
    expect(occupiedRooms()).toEqual(["living_room", "office"]);
    expect(sim.stateOf("binary_sensor.living_room_occupancy")?.state).toBe("on");
    expect(sim.stateOf("light.office_ceiling")?.state).toBe("on");
    expect(sim.stateOf("binary_sensor.kitchen_motion")?.state).toBe("off");
    expect(sim.stateOf("light.kitchen_ceiling")?.state).toBe("off");
  });

  it("knows when each occupied room will empty, within a resident's planned stay", () => {
    for (const room of activity.rooms().filter((r) => r.occupied)) {
      const ahead = (room.nextChangeAt?.getTime() ?? 0) - now;
      expect(ahead / 1e6).toBeGreaterThanOrEqual(20_000);
      expect(ahead / 1e6).toBeLessThanOrEqual(80_000);
    }
  });

  it("moves residents when their stay is over, flipping sensors and lights and telling listeners", () => {
    const changes: RoomOccupancy[] = [];
    activity.onChange((room) => changes.push(room));
    const before = occupiedRooms();
    const firstLeave = Math.min(
      ...activity.rooms().flatMap((r) => (r.occupied && r.nextChangeAt ? [r.nextChangeAt.getTime()] : [])),
    );
    now = firstLeave;
    activity.tick();
    expect(changes.length).toBeGreaterThan(0);
    expect(occupiedRooms()).not.toEqual(before);
    for (const change of changes) {
      const room = DEMO_ROOMS.find((r) => r.id === change.roomId);
      expect(sim.stateOf(`binary_sensor.${change.roomId}_${room?.presence}`)?.state).toBe(
        change.occupied ? "on" : "off",
      );
      expect(sim.stateOf(`light.${change.roomId}_ceiling`)?.state).toBe(change.occupied ? "on" : "off");
    }
  });

  it("over a simulated hour fires the motion-light automation and drifts the temperatures", () => {
    const temperatures = () =>
      DEMO_ROOMS.filter((r) => r.climate).map((r) => sim.stateOf(`sensor.${r.id}_temperature`)?.state);
    const initial = temperatures();
    for (let step = 0; step < 3600; step++) {
      now += 1e9; // one tick of the slowed pace: a second of the demo's time
      activity.tick();
    }
    expect(sim.stateOf(DEMO_ENTITIES.motionLights)?.attributes.last_triggered).not.toBeNull();
    expect(temperatures()).not.toEqual(initial);
    expect(sim.stateOf(DEMO_ENTITIES.frontDoor)?.state).toBe("locked");
  });
});
