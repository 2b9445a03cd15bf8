import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { EventKind, type NewBridgeEvent } from "../../../src/core/events.js";
import { HomeModel } from "../../../src/core/home-model.js";
import {
  type HaEvent,
  parseAreaList,
  parseCoreConfig,
  parseDeviceList,
  parseEntitiesEvent,
  parseEntityList,
  parseFloorList,
  parseHaEvent,
  registryOfEvent,
  renameOf,
} from "../../../src/sources/home-assistant/messages.js";
import {
  adapterStatusEvent,
  applyStateDiff,
  automationTriggeredEvent,
  connectionStatusEvent,
  epochToIso,
  expandState,
  sceneActivatedEvents,
  sourceEvent,
  syncStatusEvent,
  triggerOf,
} from "../../../src/sources/home-assistant/normalize.js";

const fixture = (name: string): Record<string, unknown> =>
  JSON.parse(readFileSync(new URL(`../../fixtures/ha/${name}`, import.meta.url), "utf8")) as Record<
    string,
    unknown
  >;
const entities = fixture("subscribe-entities.json");
const registries = fixture("registries.json");
const events = fixture("events.json");
const NOW = "2026-07-21T20:00:00.000Z";

function ok<T>(parsed: { ok: true; value: T } | { ok: false; error: string }): T {
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.value;
}

function haEvent(name: string): HaEvent {
  return ok(parseHaEvent(events[name]));
}

/** The fixture home loaded the way the source loads it: parsed registries and the snapshot, in one resync. */
function fixtureModel(): HomeModel {
  const model = new HomeModel(() => new Date(NOW));
  const snapshot = ok(parseEntitiesEvent(entities.snapshot));
  model.resync({
    registries: {
      floors: ok(parseFloorList(registries.floors)).items,
      areas: ok(parseAreaList(registries.areas)).items,
      devices: ok(parseDeviceList(registries.devices)).items,
      entities: ok(parseEntityList(registries.entities)).items,
    },
    states: [...snapshot.added].map(([id, compressed]) => expandState(id, compressed)),
  });
  return model;
}

/** Applies one `subscribe_entities` event to a model exactly as the live source does. */
function applyEntitiesEvent(model: HomeModel, raw: unknown): NewBridgeEvent[] {
  const event = ok(parseEntitiesEvent(raw));
  const out: NewBridgeEvent[] = [];
  for (const [id, c] of event.added)
    out.push(...model.applyStateChange(id, expandState(id, c), "homeassistant"));
  for (const [id, diff] of event.changed) {
    const current = model.state(id);
    if (current !== undefined)
      out.push(...model.applyStateChange(id, applyStateDiff(current, diff), "homeassistant"));
  }
  for (const id of event.removed) out.push(...model.applyStateChange(id, null, "homeassistant"));
  return out;
}

describe("Home Assistant message parsing", () => {
  it("keeps valid entries of a snapshot and names the malformed ones", () => {
    const parsed = ok(parseEntitiesEvent(entities.malformed));
    expect([...parsed.added.keys()]).toEqual(["sensor.good"]);
    expect(parsed.malformed).toEqual(["sensor.bad", "sensor.worse"]);
    expect(parseEntitiesEvent("nonsense").ok).toBe(false);
    expect(parseEntitiesEvent({ r: "sensor.x" }).ok).toBe(false);
  });

  it("reads registry lists, taking the device name as name_by_user ?? name and skipping broken entries", () => {
    expect(ok(parseDeviceList(registries.devices)).items[0]).toEqual({
      id: "9f2c41b7e0d84a5f9c1e3b6a7d8e0f12",
      name: "Sofa Lamp",
      area_id: "living_room",
    });
    const list = ok(parseEntityList(registries.entities));
    expect(list.items).toHaveLength(5);
    expect(list.malformed).toBe(1);
    expect(ok(parseFloorList(registries.floors)).items[1]).toEqual({
      floor_id: "upstairs",
      name: "Upstairs",
      level: 1,
    });
    expect(parseAreaList({ not: "a list" }).ok).toBe(false);
  });

  it("reads events, the core state, registry event kinds and renames", () => {
    expect(parseHaEvent(events.malformed).ok).toBe(false);
    expect(ok(parseCoreConfig({ state: "STARTING", version: "2026.7.3", extra: 1 }))).toEqual({
      state: "STARTING",
      version: "2026.7.3",
    });
    expect(registryOfEvent("floor_registry_updated")).toBe("floors");
    expect(registryOfEvent("state_changed")).toBeUndefined();
    expect(renameOf(haEvent("entity_renamed"))).toEqual({ from: "light.living_room", to: "light.lounge" });
    expect(renameOf(haEvent("area_reorder"))).toBeUndefined();
  });
});

describe("compressed state normalisation", () => {
  it("expands a compressed state: lu defaults to lc, a bare context id has null parent and user", () => {
    const snapshot = ok(parseEntitiesEvent(entities.snapshot));
    const light = snapshot.added.get("light.living_room");
    expect(light && expandState("light.living_room", light)).toEqual({
      entity_id: "light.living_room",
      state: "off",
      attributes: {
        supported_color_modes: ["color_temp"],
        color_mode: null,
        brightness: null,
        color_temp: null,
        friendly_name: "Living Room",
      },
      last_changed: "2026-07-21T08:02:17.880Z",
      last_updated: "2026-07-21T08:02:17.880Z",
      context: { id: "01K0Q8Y3ZB6W4T2R9M5N7P1QXD", parent_id: null, user_id: null },
    });
    const temperature = snapshot.added.get("sensor.bedroom_temperature");
    expect(temperature && expandState("sensor.bedroom_temperature", temperature)).toMatchObject({
      state: "21.4",
      last_updated: epochToIso(1784624703.5),
      context: { user_id: "c1d2e3f4a5b60718293a4b5c6d7e8f90" },
    });
  });

  it("applies diffs: lc moves both times, lu only last_updated, a string context keeps parent and user", () => {
    const model = fixtureModel();
    applyEntitiesEvent(model, entities.turn_on_by_user);
    const on = model.state("light.living_room");
    expect(on).toMatchObject({ state: "on", last_changed: epochToIso(1784625641.004512) });
    expect(on?.last_updated).toBe(on?.last_changed);
    expect(on?.context).toEqual({
      id: "01K0QDRZ8Q2V5X7B9C3D4F6G8H",
      parent_id: null,
      user_id: "c1d2e3f4a5b60718293a4b5c6d7e8f90",
    });
    applyEntitiesEvent(model, entities.attribute_only);
    expect(model.state("light.living_room")).toMatchObject({
      state: "on",
      attributes: { brightness: 90, color_temp: 3000 },
      last_changed: epochToIso(1784625641.004512),
      last_updated: epochToIso(1784625670.250007),
      context: { id: "01K0QDSW3J5K7M9N1P3Q5R7S9T", user_id: "c1d2e3f4a5b60718293a4b5c6d7e8f90" },
    });
  });
});

describe("pma_* payloads (seed 000 shapes)", () => {
  it("pma_entity_state_changed: state change with room and area from the registries", () => {
    const [change, ...rest] = applyEntitiesEvent(fixtureModel(), entities.turn_on_by_user);
    expect(rest).toEqual([]);
    expect(change).toMatchObject({
      kind: EventKind.EntityStateChanged,
      source: "homeassistant",
      entity_id: "light.living_room",
      domain: "light",
      room_id: "living_room",
      area_id: "main_floor",
      ha_event_type: "state_changed",
      critical: false,
      data: {
        entity_id: "light.living_room",
        entity_type: "light",
        source: "homeassistant",
        old_state: "off",
        new_state: "on",
        attributes: { brightness: 255, color_temp: 3000 },
        room_id: "living_room",
        area_id: "main_floor",
        changed_attributes: ["color_mode", "brightness", "color_temp"],
        user_id: "c1d2e3f4a5b60718293a4b5c6d7e8f90",
      },
    });
  });

  it("pma_entity_state_changed: numeric states stay as HA sends them, attribute removals are listed", () => {
    const model = fixtureModel();
    applyEntitiesEvent(model, entities.restored_placeholder);
    const [change] = applyEntitiesEvent(model, entities.integration_loaded);
    expect(change?.kind === EventKind.EntityStateChanged && change.data).toMatchObject({
      old_state: "unavailable",
      new_state: "48",
      room_id: "bedroom",
      area_id: "upstairs",
      changed_attributes: ["friendly_name", "restored", "supported_features"],
    });
  });

  it("pma_entity_added: an entity new to the model, with its room and area", () => {
    const model = fixtureModel();
    const emitted = model.resync({
      registries: {
        entities: [
          ...ok(parseEntityList(registries.entities)).items,
          {
            id: "e1",
            entity_id: "switch.new_device",
            name: null,
            original_name: null,
            device_id: null,
            area_id: "bedroom",
            disabled_by: null,
          },
        ],
      },
      states: [
        ...[...ok(parseEntitiesEvent(entities.snapshot)).added].map(([id, c]) => expandState(id, c)),
        { entity_id: "switch.new_device", state: "off", attributes: { friendly_name: "New Device" } },
      ],
    });
    expect(emitted.filter((e) => e.kind.startsWith("entity_"))).toMatchObject([
      {
        kind: EventKind.EntityAdded,
        ha_event_type: "state_changed",
        entity_id: "switch.new_device",
        room_id: "bedroom",
        area_id: "upstairs",
        data: {
          entity: {
            id: "switch.new_device",
            name: "New Device",
            type: "switch",
            source: "homeassistant",
            state: "off",
          },
          room_id: "bedroom",
          area_id: "upstairs",
        },
      },
    ]);
    expect(emitted.find((e) => e.kind === EventKind.RoomUpdated)?.data).toMatchObject({
      room: { id: "bedroom", entity_count: 3 },
      action: "updated",
    });
  });

  it("a registry-only entity that gets a state reports a state change from null, not a second addition", () => {
    const model = fixtureModel();
    const events = model.applyStateChange(
      "sensor.bedroom_humidity",
      { entity_id: "sensor.bedroom_humidity", state: "48", attributes: {} },
      "homeassistant",
    );
    expect(events.map((e) => [e.kind, e.kind === EventKind.EntityStateChanged && e.data.old_state])).toEqual([
      [EventKind.EntityStateChanged, null],
    ]);
  });

  it("pma_entity_removed: the last known room is kept", () => {
    const model = fixtureModel();
    model.applyStateChange(
      "sensor.old_device",
      { entity_id: "sensor.old_device", state: "3", attributes: {} },
      "homeassistant",
    );
    model.applyStateChange("sensor.old_device", null, "homeassistant");
    const events = model.resync({
      registries: {
        entities: ok(parseEntityList(registries.entities)).items.filter(
          (e) => e.entity_id !== "sensor.old_device",
        ),
      },
    });
    expect(events.find((e) => e.kind === EventKind.EntityRemoved)?.data).toEqual({
      entity_id: "sensor.old_device",
      source: "homeassistant",
      room_id: "garage",
      area_id: null,
    });
  });

  it("pma_entity_updated: a rename keeps continuity and names the old id", () => {
    const model = fixtureModel();
    const rename = renameOf(haEvent("entity_renamed"));
    const [updated, ...rest] = rename ? model.renameEntity(rename.from, rename.to) : [];
    expect(rest).toEqual([]);
    expect(updated).toMatchObject({
      kind: EventKind.EntityUpdated,
      entity_id: "light.lounge",
      ha_event_type: "entity_registry_updated",
      data: {
        entity: { id: "light.lounge", state: "off" },
        old_entity_id: "light.living_room",
        changes: ["entity_id"],
        room_id: "living_room",
        old_room_id: "living_room",
      },
    });
  });

  it("pma_room_updated and pma_area_updated: a room moved to another floor", () => {
    const model = fixtureModel();
    const areas = ok(parseAreaList(registries.areas)).items.map((a) =>
      a.area_id === "living_room" ? { ...a, floor_id: "upstairs" } : a,
    );
    const emitted = model.resync({ registries: { areas } });
    expect(emitted.filter((e) => e.kind === EventKind.RoomUpdated).map((e) => e.data)).toEqual([
      {
        room: { id: "living_room", name: "Living Room", area: "upstairs", entity_count: 1 },
        action: "updated",
        source: "homeassistant",
      },
    ]);
    expect(
      emitted.filter((e) => e.kind === EventKind.AreaUpdated).map((e) => [e.area_id, e.data.area.room_ids]),
    ).toEqual([
      ["main_floor", []],
      ["upstairs", ["living_room", "bedroom"]],
    ]);
    expect(
      emitted.filter((e) => e.kind === EventKind.EntityUpdated).map((e) => [e.entity_id, e.data.changes]),
    ).toEqual([["light.living_room", ["area"]]]);
  });

  it("pma_room_added and pma_room_removed: rooms appearing on the first sync and deleted later", () => {
    const model = new HomeModel(() => new Date(NOW));
    const first = model.resync({
      registries: {
        floors: ok(parseFloorList(registries.floors)).items,
        areas: ok(parseAreaList(registries.areas)).items,
      },
    });
    expect(first.find((e) => e.kind === EventKind.RoomAdded && e.room_id === "living_room")).toMatchObject({
      ha_event_type: "area_registry_updated",
      area_id: "main_floor",
      data: {
        room: { id: "living_room", name: "Living Room", area: "main_floor", entity_count: 0 },
        action: "added",
        source: "homeassistant",
      },
    });
    const removed = model.resync({
      registries: { areas: ok(parseAreaList(registries.areas)).items.filter((a) => a.area_id !== "garage") },
    });
    expect(removed.filter((e) => e.kind === EventKind.RoomRemoved).map((e) => e.data)).toEqual([
      {
        room: { id: "garage", name: "Garage", area: null, entity_count: 0 },
        action: "removed",
        source: "homeassistant",
      },
    ]);
  });

  it("registry references to missing areas and floors count as none", () => {
    const model = fixtureModel();
    expect(model.room("attic")).toMatchObject({ area: null });
    expect(model.roomOf("switch.cellar_plug")).toBeNull();
    expect(model.counts().dangling_references).toBe(2);
  });

  it("pma_automation_triggered: from HA's automation_triggered", () => {
    const model = fixtureModel();
    expect(automationTriggeredEvent(haEvent("automation_triggered"), model, NOW)).toEqual({
      kind: EventKind.AutomationTriggered,
      time: "2024-01-01T12:00:00.000Z",
      source: "homeassistant",
      entity_id: "automation.morning_routine",
      domain: "automation",
      room_id: null,
      area_id: null,
      ha_event_type: "automation_triggered",
      critical: false,
      data: {
        rule_id: "automation.morning_routine",
        rule_name: "Morning Routine",
        trigger: { type: "time", value: null },
        actions_executed: null,
        success: true,
        source: "homeassistant",
      },
    });
    expect(
      automationTriggeredEvent(haEvent("automation_triggered_by_state"), model, NOW)?.data.trigger,
    ).toEqual({
      type: "state",
      value: "binary_sensor.hallway_motion",
    });
    expect(triggerOf("numeric state of sensor.x")).toEqual({ type: "numeric_state", value: "sensor.x" });
    expect(triggerOf(undefined)).toEqual({ type: "unknown", value: null });
  });

  it("pma_scene_activated: one per scene of a scene.turn_on call, none for other services", () => {
    const model = fixtureModel();
    const scenes = sceneActivatedEvents(haEvent("scene_turn_on"), model, NOW);
    expect(scenes.map((e) => [e.entity_id, e.ha_event_type, e.data])).toEqual([
      [
        "scene.movie_night",
        "call_service",
        {
          scene_id: "scene.movie_night",
          scene_name: "scene.movie_night",
          source: "homeassistant",
          user_id: "c1d2e3f4a5b60718293a4b5c6d7e8f90",
        },
      ],
      [
        "scene.dim_hall",
        "call_service",
        {
          scene_id: "scene.dim_hall",
          scene_name: "scene.dim_hall",
          source: "homeassistant",
          user_id: "c1d2e3f4a5b60718293a4b5c6d7e8f90",
        },
      ],
    ]);
    expect(sceneActivatedEvents(haEvent("light_turn_on"), model, NOW)).toEqual([]);
  });

  it("source_event: any other subscribed HA event under its own type", () => {
    expect(sourceEvent(haEvent("custom"), NOW)).toEqual({
      kind: EventKind.SourceEvent,
      time: "2026-07-21T20:00:02.000Z",
      source: "homeassistant",
      entity_id: "cover.garage_door",
      ha_event_type: "mobile_app_notification_action",
      critical: false,
      data: {
        source: "homeassistant",
        event_type: "mobile_app_notification_action",
        event_data: { action: "OPEN_GARAGE", entity_id: "cover.garage_door" },
      },
    });
  });

  it("sync_status, adapter_status and connection_status", () => {
    expect(
      syncStatusEvent("syncing", "Synchronizing entities", 75, { entities: 150, rooms: 12, errors: 0 }, NOW)
        .data,
    ).toEqual({
      source: "homeassistant",
      status: "syncing",
      message: "Synchronizing entities",
      entity_count: 150,
      room_count: 12,
      progress: 75,
      error_count: 0,
    });
    expect(
      syncStatusEvent("completed", "done", 140, { entities: 1, rooms: 1, errors: 0 }, NOW).data.progress,
    ).toBe(100);
    expect(
      adapterStatusEvent(
        "connected",
        { issues: [], lastSync: "2024-01-01T11:55:00.000Z", haVersion: "2026.7.3" },
        NOW,
      ).data,
    ).toEqual({
      adapter_id: "homeassistant",
      adapter_name: "Home Assistant",
      source: "homeassistant",
      status: "connected",
      health: { is_healthy: true, issues: [], last_sync: "2024-01-01T11:55:00.000Z", ha_version: "2026.7.3" },
    });
    expect(
      adapterStatusEvent(
        "error",
        { issues: ["Home Assistant rejected the access token"], lastSync: null, haVersion: null },
        NOW,
      ).data.health.is_healthy,
    ).toBe(false);
    expect(connectionStatusEvent("reconnecting", "connection lost", 2, NOW)).toMatchObject({
      kind: EventKind.ConnectionStatus,
      data: { source: "homeassistant", status: "reconnecting", message: "connection lost", attempt: 2 },
    });
  });
});
