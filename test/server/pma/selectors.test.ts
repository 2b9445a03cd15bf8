import { describe, expect, it } from "vitest";
import type { BridgeEvent } from "../../../src/core/events.js";
import { PmaSubscriptions } from "../../../src/server/pma/selectors.js";
import { stateChanged as newStateChanged } from "../../helpers/ws-events.js";

function stateChanged(entityId: string, room: string | null): BridgeEvent {
  return { ...newStateChanged(entityId, "on", { room }), seq: 1, epoch: "e" };
}

describe("PmaSubscriptions", () => {
  it("matches nothing and describes nothing before any subscription", () => {
    const subs = new PmaSubscriptions();
    expect(subs.matches(stateChanged("light.a", "kitchen"))).toBe(false);
    expect(subs.total()).toBe(0);
    expect(subs.indexKeys()).toEqual([]);
    expect(subs.describe()).toEqual({ event_types: [], entity_ids: [], room_ids: [], legacy_rooms: [] });
  });

  it("reports only the ids that were new when adding and only those present when removing", () => {
    const subs = new PmaSubscriptions();
    expect(subs.addIds("entities", ["light.a", "light.b"])).toEqual(["light.a", "light.b"]);
    expect(subs.addIds("entities", ["light.b", "light.c"])).toEqual(["light.c"]);
    expect(subs.removeIds("entities", ["light.a", "light.x"])).toEqual(["light.a"]);
    expect(subs.removeIds("rooms", ["kitchen"])).toEqual([]);
    expect(subs.describe().entity_ids).toEqual(["light.b", "light.c"]);
    expect(subs.total()).toBe(2);
  });

  it("matches by entity, by room and by legacy room, and stops once the last id is removed", () => {
    const subs = new PmaSubscriptions();
    subs.addIds("entities", ["light.a"]);
    subs.addIds("rooms", ["kitchen"]);
    subs.addIds("legacyRooms", ["7"]);
    expect(subs.matches(stateChanged("light.a", null))).toBe(true);
    expect(subs.matches(stateChanged("light.z", "kitchen"))).toBe(true);
    expect(subs.matches(stateChanged("light.z", "7"))).toBe(true);
    expect(subs.matches(stateChanged("light.z", "hall"))).toBe(false);
    subs.removeIds("entities", ["light.a"]);
    subs.removeIds("rooms", ["kitchen"]);
    subs.removeIds("legacyRooms", ["7"]);
    expect(subs.matches(stateChanged("light.a", "kitchen"))).toBe(false);
    expect(subs.indexKeys()).toEqual([]);
  });

  it("removes event types from every selector and drops emptied selectors", () => {
    const subs = new PmaSubscriptions();
    expect(subs.addEventTypes(["state_changed", "service_call"], null)).toEqual([
      "state_changed",
      "call_service",
    ]);
    subs.addEventTypes(["state_changed"], { rooms: ["kitchen"] });
    expect(subs.total()).toBe(3);
    expect(subs.removeEventTypes(["state_changed", "alert"])).toEqual(["state_changed"]);
    expect(subs.total()).toBe(1);
    expect(subs.describe().event_types).toEqual(["call_service"]);
    expect(subs.matches(stateChanged("light.a", "kitchen"))).toBe(false);
    expect(subs.removeEventTypes(["service_call"])).toEqual(["call_service"]);
    expect(subs.indexKeys()).toEqual([]);
  });
});
