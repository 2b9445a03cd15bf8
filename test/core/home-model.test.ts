import { describe, expect, it } from "vitest";
import { EventKind } from "../../src/core/events.js";
import {
  changedAttributes,
  type EntityView,
  entityEvents,
  roomEvents,
} from "../../src/core/home-model/normalize.js";
import { HomeModel, type RegistrySnapshot } from "../../src/core/home-model.js";

const NOW = "2026-07-21T09:00:00.000Z";

const registries: RegistrySnapshot = {
  floors: [{ floor_id: "ground_floor", name: "Ground Floor", level: 0 }],
  areas: [
    { area_id: "living_room", name: "Living Room", floor_id: "ground_floor" },
    { area_id: "kitchen", name: "Kitchen", floor_id: "ground_floor" },
  ],
  devices: [{ id: "d1", name: "Ceiling", area_id: "living_room" }],
  entities: [
    {
      id: "r1",
      entity_id: "light.ceiling",
      name: null,
      original_name: null,
      device_id: "d1",
      area_id: null,
      disabled_by: null,
    },
    {
      id: "r2",
      entity_id: "light.spots",
      name: "Spots",
      original_name: null,
      device_id: null,
      area_id: "kitchen",
      disabled_by: null,
    },
    {
      id: "r3",
      entity_id: "light.night",
      name: null,
      original_name: "Night",
      device_id: "d1",
      area_id: null,
      disabled_by: "user",
    },
  ],
};

function model(): HomeModel {
  const m = new HomeModel(() => new Date(NOW));
  m.resync({
    registries,
    states: [
      { entity_id: "light.ceiling", state: "off", attributes: { friendly_name: "Ceiling Light" } },
      { entity_id: "light.spots", state: "on", attributes: { brightness: 255 } },
    ],
  });
  return m;
}

describe("HomeModel", () => {
  it("keeps nothing for ids it does not know, however many a client asks about", () => {
    const m = model();
    // The caches behind entity lookups: a regression here is a leak that clients can drive.
    const caches = m as unknown as { placements: Map<string, unknown>; views: Map<string, unknown> };
    const before = { placements: caches.placements.size, views: caches.views.size };
    for (let i = 0; i < 10_000; i++) {
      expect(m.entity(`sensor.made_up_${i}`)).toBeUndefined();
      expect(m.roomOf(`sensor.made_up_${i}`)).toBeNull();
    }
    expect({ placements: caches.placements.size, views: caches.views.size }).toEqual(before);
  });

  it("derives rooms from the entity's own area, else its device's, and floors as PMA areas", () => {
    const m = model();
    expect(m.roomOf("light.ceiling")).toBe("living_room");
    expect(m.roomOf("light.spots")).toBe("kitchen");
    expect(m.roomOf("light.unknown")).toBeNull();
    expect(m.entity("light.ceiling")).toMatchObject({
      name: "Ceiling Light",
      type: "light",
      device_id: "d1",
      disabled: false,
    });
    expect(m.entity("light.spots")?.name).toBe("Spots");
    expect(m.entity("light.night")).toMatchObject({ name: "Night", state: null, disabled: true });
    // Disabled entities are not counted in a room.
    expect(m.rooms()).toEqual([
      { id: "living_room", name: "Living Room", area: "ground_floor", entity_count: 1 },
      { id: "kitchen", name: "Kitchen", area: "ground_floor", entity_count: 1 },
    ]);
    expect(m.floors()).toEqual([
      { id: "ground_floor", name: "Ground Floor", level: 0, room_ids: ["living_room", "kitchen"] },
    ]);
    expect(
      m
        .entities()
        .map((e) => e.id)
        .sort(),
    ).toEqual(["light.ceiling", "light.night", "light.spots"]);
  });

  it("lists each room's entities and keeps the list current as entities appear, move and go", () => {
    const m = model();
    expect(m.roomEntityIds("living_room")).toEqual(["light.ceiling", "light.night"]);
    expect(m.roomEntityIds("kitchen")).toEqual(["light.spots"]);
    expect(m.roomEntityIds("garage")).toEqual([]);
    // A live change of a known entity keeps the index; the device moving rooms re-homes its entities.
    m.applyStateChange(
      "light.spots",
      { entity_id: "light.spots", state: "off", attributes: {} },
      "homeassistant",
    );
    m.resync({ registries: { devices: [{ id: "d1", name: "Ceiling", area_id: "kitchen" }] } });
    expect(m.roomEntityIds("living_room")).toEqual([]);
    expect(m.roomEntityIds("kitchen")).toEqual(["light.ceiling", "light.spots", "light.night"]);
    expect(m.room("kitchen")?.entity_count).toBe(2);
    m.applyStateChange("light.spots", null, "homeassistant");
    m.resync({ registries: { entities: registries.entities.filter((e) => e.entity_id !== "light.spots") } });
    expect(m.roomEntityIds("kitchen")).toEqual(["light.ceiling", "light.night"]);
  });

  it("reports the first sync as additions of floors, rooms and entities, in that order", () => {
    const m = new HomeModel(() => new Date(NOW));
    const events = m.resync({ registries, states: [] });
    expect(events.map((e) => e.kind)).toEqual([
      EventKind.AreaUpdated,
      EventKind.RoomAdded,
      EventKind.RoomAdded,
      EventKind.EntityAdded,
      EventKind.EntityAdded,
      EventKind.EntityAdded,
    ]);
    expect(m.resync({ registries, states: [] })).toEqual([]);
  });

  it("feeds state changes from another source (StateFeed) into the same events", () => {
    const m = model();
    const events = m.applyStateChange(
      "light.ceiling",
      {
        entity_id: "light.ceiling",
        state: "on",
        attributes: { friendly_name: "Ceiling Light", brightness: 12 },
      },
      "mqtt",
    );
    expect(events).toEqual([
      {
        kind: EventKind.EntityStateChanged,
        time: NOW,
        source: "mqtt",
        entity_id: "light.ceiling",
        domain: "light",
        room_id: "living_room",
        area_id: "ground_floor",
        ha_event_type: "state_changed",
        critical: false,
        data: {
          entity_id: "light.ceiling",
          entity_type: "light",
          source: "mqtt",
          old_state: "off",
          new_state: "on",
          attributes: { friendly_name: "Ceiling Light", brightness: 12 },
          changed_attributes: ["brightness"],
          room_id: "living_room",
          area_id: "ground_floor",
          last_changed: null,
          last_updated: null,
          user_id: null,
        },
      },
    ]);
  });

  it("adds and removes state-only entities, updating the room counts", () => {
    const m = model();
    const added = m.applyStateChange(
      "sensor.outdoor",
      { entity_id: "sensor.outdoor", state: "17.9", attributes: {} },
      "homeassistant",
    );
    expect(added.map((e) => e.kind)).toEqual([EventKind.EntityAdded]);
    const removedState = m.applyStateChange("light.spots", null, "homeassistant");
    // The registry still holds light.spots: its state went away, the entity did not.
    expect(removedState.map((e) => e.kind)).toEqual([EventKind.EntityStateChanged]);
    const removed = m.applyStateChange("sensor.outdoor", null, "homeassistant");
    expect(removed.map((e) => e.kind)).toEqual([EventKind.EntityRemoved]);
    expect(m.applyStateChange("sensor.never", null, "homeassistant")).toEqual([]);
  });

  it("reports a room's deletion, and the entities that lost their room", () => {
    const m = model();
    const events = m.resync({
      registries: {
        areas: registries.areas.filter((a) => a.area_id !== "kitchen"),
        entities: registries.entities.map((e) => (e.area_id === "kitchen" ? { ...e, area_id: null } : e)),
      },
    });
    expect(events.map((e) => [e.kind, e.entity_id ?? e.room_id ?? e.area_id])).toEqual([
      [EventKind.AreaUpdated, "ground_floor"],
      [EventKind.EntityUpdated, "light.spots"],
      [EventKind.RoomRemoved, "kitchen"],
    ]);
  });

  it("names and places an entity by the current registries after they change, not as first seen", () => {
    const m = model();
    const ceiling = (state: string, friendly: string) =>
      m.applyStateChange(
        "light.ceiling",
        { entity_id: "light.ceiling", state, attributes: { friendly_name: friendly } },
        "homeassistant",
      );
    ceiling("on", "Ceiling Light");
    expect(m.entity("light.ceiling")?.name).toBe("Ceiling Light");
    ceiling("on", "Big Light");
    expect(m.entity("light.ceiling")?.name).toBe("Big Light");
    m.resync({
      registries: {
        devices: [{ id: "d1", name: "Ceiling", area_id: "kitchen" }],
        entities: registries.entities.map((e) =>
          e.entity_id === "light.ceiling" ? { ...e, name: "Main Light" } : e,
        ),
      },
    });
    const [changed] = ceiling("off", "Big Light");
    expect(changed).toMatchObject({ kind: EventKind.EntityStateChanged, room_id: "kitchen" });
    expect(m.entity("light.ceiling")).toMatchObject({ name: "Main Light", state: "off" });
    expect(m.roomOf("light.ceiling")).toBe("kitchen");
  });

  it("falls back to the registry's original name, then the device's, when a state loses its friendly_name", () => {
    const m = model();
    m.applyStateChange(
      "light.ceiling",
      { entity_id: "light.ceiling", state: "on", attributes: {} },
      "homeassistant",
    );
    expect(m.entity("light.ceiling")?.name).toBe("Ceiling");
    m.applyStateChange(
      "light.night",
      { entity_id: "light.night", state: "on", attributes: {} },
      "homeassistant",
    );
    expect(m.entity("light.night")?.name).toBe("Night");
  });

  it("a rename onto an id that already has a state keeps the newer state", () => {
    const m = model();
    m.applyStateChange(
      "light.lounge",
      { entity_id: "light.lounge", state: "on", attributes: {} },
      "homeassistant",
    );
    const events = m.renameEntity("light.ceiling", "light.lounge");
    expect(events[0]).toMatchObject({
      kind: EventKind.EntityUpdated,
      data: { old_entity_id: "light.ceiling" },
    });
    expect(m.state("light.lounge")?.state).toBe("on");
    expect(m.entity("light.ceiling")).toBeUndefined();
    expect(m.renameEntity("light.missing", "light.other")).toEqual([]);
  });
});

describe("home-model normalisation", () => {
  const view = (
    overrides: Partial<EntityView["info"]> = {},
    room: string | null = "kitchen",
  ): EntityView => ({
    info: {
      id: "light.spots",
      name: "Spots",
      type: "light",
      source: "homeassistant",
      state: "on",
      attributes: { brightness: 255 },
      device_id: null,
      disabled: false,
      last_changed: null,
      last_updated: null,
      ...overrides,
    },
    room_id: room,
    area_id: room === null ? null : "ground_floor",
    registry_name: null,
    user_id: null,
  });

  it("lists changed, added and removed attribute keys", () => {
    expect(changedAttributes({ a: 1, b: [1], c: 3 }, { a: 1, b: [2], d: 4 })).toEqual(["b", "d", "c"]);
  });

  it("compares attribute values as their JSON, whatever their type", () => {
    const before = { n: 1, s: "1", t: true, o: { x: [1] }, z: null, e: "a", neg: -0 };
    const after = { n: 1, s: 1, t: false, o: { x: [1] }, z: null, e: "b", neg: 0 };
    expect(changedAttributes(before, after)).toEqual(["s", "t", "e"]);
    expect(changedAttributes(before, before)).toEqual([]);
  });

  it("emits nothing when nothing a client sees changed", () => {
    expect(entityEvents(view(), view({ last_updated: "2026-07-21T09:00:00.000Z" }), NOW)).toEqual([]);
    expect(entityEvents(undefined, undefined, NOW)).toEqual([]);
  });

  it("emits the registry update before the state change when both changed", () => {
    const events = entityEvents(view(), view({ state: "off", disabled: true }, null), NOW);
    expect(events.map((e) => e.kind)).toEqual([EventKind.EntityUpdated, EventKind.EntityStateChanged]);
    expect(events[0]?.kind === EventKind.EntityUpdated && events[0].data.changes).toEqual([
      "room",
      "area",
      "disabled",
    ]);
  });

  it("reports a room whose entity count changed as updated", () => {
    const before = new Map([["kitchen", { id: "kitchen", name: "Kitchen", area: null, entity_count: 1 }]]);
    const after = new Map([["kitchen", { id: "kitchen", name: "Kitchen", area: null, entity_count: 2 }]]);
    const { upserts, removals } = roomEvents(before, after, NOW);
    expect(upserts.map((e) => [e.kind, e.ha_event_type])).toEqual([
      [EventKind.RoomUpdated, "area_registry_updated"],
    ]);
    expect(removals).toEqual([]);
  });
});
