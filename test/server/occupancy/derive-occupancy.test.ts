import { describe, expect, it } from "vitest";
import type { EntityStateChangedData } from "../../../src/core/events.js";
import { deriveOccupancy } from "../../../src/server/occupancy/encoder.js";
import { homeWithRoom } from "../../helpers/home-directory.js";
import { stateChanged } from "../../helpers/ws-events.js";

/** A kitchen as the directory knows it: what the room's members say before the change arrives. */
const KITCHEN: Record<string, { state: string | null; device_class?: string }> = {
  "light.kitchen": { state: "on" },
  "binary_sensor.kitchen_motion": { state: "off", device_class: "motion" },
  "binary_sensor.kitchen_door": { state: "on", device_class: "door" },
  "binary_sensor.kitchen_presence": { state: "off", device_class: "presence" },
  "binary_sensor.kitchen_radar": { state: "unavailable", device_class: "occupancy" },
};

/** The state change of `entityId` in the kitchen, as the source publishes it. */
function change(entityId: string, newState: string, deviceClass?: string): EntityStateChangedData {
  return stateChanged(entityId, newState, {
    room: "kitchen",
    attributes: deviceClass === undefined ? {} : { device_class: deviceClass },
  }).data;
}

describe("deriveOccupancy", () => {
  it("lists the room's occupancy, motion and presence sensors in the room's order, the change winning over the directory", () => {
    expect(
      deriveOccupancy(
        homeWithRoom("kitchen", KITCHEN),
        "kitchen",
        change("binary_sensor.kitchen_motion", "on", "motion"),
      ),
    ).toEqual({
      occupied: true,
      sensors: [
        { entity_id: "binary_sensor.kitchen_motion", state: "on" },
        { entity_id: "binary_sensor.kitchen_presence", state: "off" },
        { entity_id: "binary_sensor.kitchen_radar", state: "unavailable" },
      ],
    });
  });

  it("is unoccupied when every sensor that knows says off, whatever changed", () => {
    const result = deriveOccupancy(
      homeWithRoom("kitchen", KITCHEN),
      "kitchen",
      change("light.kitchen", "off"),
    );
    expect(result.occupied).toBe(false);
    expect(result.sensors.map((s) => s.entity_id)).toEqual([
      "binary_sensor.kitchen_motion",
      "binary_sensor.kitchen_presence",
      "binary_sensor.kitchen_radar",
    ]);
  });

  it("does not know (null) when no sensor has an on or off state", () => {
    const home = homeWithRoom("kitchen", {
      "binary_sensor.kitchen_radar": { state: "unavailable", device_class: "occupancy" },
    });
    expect(deriveOccupancy(home, "kitchen", change("light.kitchen", "on"))).toEqual({
      occupied: null,
      sensors: [{ entity_id: "binary_sensor.kitchen_radar", state: "unavailable" }],
    });
  });

  it("adds a changed sensor the directory does not list yet at the end", () => {
    const result = deriveOccupancy(
      homeWithRoom("kitchen", KITCHEN),
      "kitchen",
      change("binary_sensor.kitchen_new", "on", "occupancy"),
    );
    expect(result.occupied).toBe(true);
    expect(result.sensors.at(-1)).toEqual({ entity_id: "binary_sensor.kitchen_new", state: "on" });
    expect(result.sensors).toHaveLength(4);
  });

  it("ignores binary sensors of other classes, and a room without sensors has none and no verdict", () => {
    expect(
      deriveOccupancy(
        homeWithRoom("kitchen", KITCHEN),
        "kitchen",
        change("binary_sensor.kitchen_door", "on", "door"),
      ).occupied,
    ).toBe(false);
    expect(deriveOccupancy(homeWithRoom("kitchen", KITCHEN), "hall", change("light.hall", "on"))).toEqual({
      occupied: null,
      sensors: [],
    });
    expect(
      deriveOccupancy(undefined, "kitchen", change("binary_sensor.kitchen_motion", "on", "motion")),
    ).toEqual({
      occupied: true,
      sensors: [{ entity_id: "binary_sensor.kitchen_motion", state: "on" }],
    });
  });
});
