import { describe, expect, it } from "vitest";
import type { PmaMessage } from "../../src/client/index.js";
import {
  DashboardState,
  entityState,
  filterTail,
  occupancyOf,
  relativeTime,
  Series,
  TAIL_CATEGORIES,
} from "../../src/dashboard/app/state.js";

const T = "2026-03-01T18:00:00.000Z";
let seq = 0;
const msg = <M extends PmaMessage>(type: M["type"], data: M["data"]): PmaMessage =>
  ({ type, data, timestamp: T, seq: ++seq }) as PmaMessage;

function stateChanged(
  entityId: string,
  oldState: string | null,
  newState: string | null,
  roomId: string | null,
  attributes = {},
) {
  return msg("pma_entity_state_changed", {
    entity_id: entityId,
    entity_type: entityId.split(".")[0] ?? "",
    source: "homeassistant",
    old_state: oldState,
    new_state: newState,
    attributes,
    changed_attributes: [],
    room_id: roomId,
    area_id: null,
    last_changed: null,
    last_updated: null,
    user_id: null,
  });
}

function entityAdded(id: string, name: string, state: string, roomId: string | null, attributes = {}) {
  return msg("pma_entity_added", {
    entity: {
      id,
      name,
      type: id.split(".")[0] ?? "",
      source: "homeassistant",
      state,
      attributes,
      device_id: null,
      disabled: false,
      last_changed: null,
      last_updated: null,
    },
    room_id: roomId,
    area_id: null,
  });
}

const prediction = (transition: "occupied" | "vacant", roomId = "kitchen") =>
  msg("prediction_update", {
    room_id: roomId,
    room_name: "Kitchen",
    predictor_room_id: roomId,
    predicted_time: "2026-03-01T18:10:00.000Z",
    transition_type: transition,
    raw_transition_type: `x_to_${transition}`,
    confidence_score: 0.8,
    current_state: null,
    model_type: "ensemble",
    model_version: "v1",
    alternatives: [],
    features_used: null,
    prediction_made_at: null,
    prediction_metadata: { certainty_level: null },
    time_until_seconds: 600,
    time_until_human: "10 minutes",
  });

const roomAdded = (id: string, name: string, floor: string) =>
  msg("pma_room_added", {
    room: { id, name, area: floor, entity_count: 0 },
    action: "added",
    source: "homeassistant",
  });

describe("DashboardState", () => {
  it("groups entities into their rooms, sorted by floor then name, and derives occupancy from presence sensors", () => {
    const s = new DashboardState(() => 1000);
    s.apply(roomAdded("kitchen", "Kitchen", "ground_floor"));
    s.apply(roomAdded("bedroom", "Bedroom", "upstairs"));
    s.apply(roomAdded("hallway", "Hallway", "ground_floor"));
    s.apply(
      entityAdded("binary_sensor.kitchen_motion", "Kitchen Motion", "off", "kitchen", {
        device_class: "motion",
      }),
    );
    s.apply(entityAdded("light.kitchen_ceiling", "Kitchen Ceiling", "off", "kitchen"));
    s.apply(
      entityAdded("sensor.bedroom_temperature", "Bedroom Temperature", "19.5", "bedroom", {
        unit_of_measurement: "°C",
      }),
    );
    s.apply(entityAdded("sensor.outdoor_temperature", "Outdoor", "12", null));
    const list = s.roomList();
    expect(list.map((r) => r.room.id)).toEqual(["hallway", "kitchen", "bedroom"]);
    const kitchen = list[1];
    expect(kitchen?.entities.map((e) => e.id)).toEqual([
      "binary_sensor.kitchen_motion",
      "light.kitchen_ceiling",
    ]);
    expect(kitchen?.occupied).toBe(false);
    expect(list[2]?.occupied).toBeNull();
    expect(list[2]?.entities[0]?.unit).toBe("°C");

    s.apply(
      stateChanged("binary_sensor.kitchen_motion", "off", "on", "kitchen", {
        device_class: "motion",
        friendly_name: "Kitchen Motion",
      }),
    );
    expect(s.roomList()[1]?.occupied).toBe(true);
  });

  it("creates a room it has not been told about from an entity's room id", () => {
    const s = new DashboardState();
    s.apply(stateChanged("light.attic", null, "on", "attic"));
    s.apply(stateChanged("light.guest_room_lamp", null, "on", "guest_room"));
    expect(s.roomList().map((r) => r.room)).toEqual([
      { id: "attic", name: "Attic", floor: null },
      { id: "guest_room", name: "Guest Room", floor: null },
    ]);
  });

  it("follows renames and removals", () => {
    const s = new DashboardState();
    s.apply(entityAdded("light.old", "Lamp", "on", "kitchen"));
    s.apply(
      msg("pma_entity_updated", {
        entity: {
          id: "light.new",
          name: "Lamp",
          type: "light",
          source: "homeassistant",
          state: "on",
          attributes: {},
          device_id: null,
          disabled: false,
          last_changed: null,
          last_updated: null,
        },
        old_entity_id: "light.old",
        changes: ["entity_id"],
        room_id: "kitchen",
        area_id: null,
        old_room_id: "kitchen",
      }),
    );
    expect([...s.entities.keys()]).toEqual(["light.new"]);
    s.apply(
      msg("pma_entity_removed", {
        entity_id: "light.new",
        source: "homeassistant",
        room_id: "kitchen",
        area_id: null,
      }),
    );
    expect(s.entities.size).toBe(0);
  });

  it("keeps the latest prediction per room and the latest status per adapter", () => {
    const s = new DashboardState();
    s.apply(prediction("occupied"));
    s.apply(prediction("vacant"));
    expect(s.predictions.get("kitchen")?.transition_type).toBe("vacant");
    const adapter = (status: "connected" | "disconnected") =>
      msg("adapter_status", {
        adapter_id: "mqtt",
        adapter_name: "MQTT broker",
        source: "mqtt",
        status,
        health: { is_healthy: status === "connected", issues: [], last_sync: null },
      });
    s.apply(adapter("connected"));
    s.apply(adapter("disconnected"));
    expect([...s.adapters.values()].map((a) => a.status)).toEqual(["disconnected"]);
  });

  it("keeps a bounded, newest-first tail of what happened", () => {
    let now = 0;
    const s = new DashboardState(() => ++now);
    for (let i = 0; i < 250; i++) s.apply(stateChanged("sensor.power", String(i), String(i + 1), "kitchen"));
    expect(s.tail).toHaveLength(200);
    expect(s.tail[0]?.summary).toBe("sensor.power: 249 → 250");
    expect(s.messageCount).toBe(250);
  });

  it("leaves replies out of the tail", () => {
    const s = new DashboardState();
    s.apply(msg("pong", { timestamp: T, server_time: T }));
    s.apply(
      msg("subscription_update", {
        action: "subscribed",
        type: "ha_events",
        items: ["state_changed"],
        total_subscriptions: 1,
      }),
    );
    expect(s.tail).toEqual([]);
  });
});

describe("filterTail", () => {
  const s = new DashboardState();
  s.apply(stateChanged("light.kitchen_ceiling", "off", "on", "kitchen"));
  s.apply(stateChanged("light.bedroom_ceiling", "off", "on", "bedroom"));
  s.apply(
    msg("alert", {
      alert_id: "a",
      alert_type: "x",
      severity: "warning",
      title: "t",
      message: "accuracy low",
      room_id: "kitchen",
      component: "c",
      resolved: false,
      created_at: T,
      recommended_action: null,
    }),
  );

  it("keeps only the chosen categories", () => {
    expect(filterTail(s.tail, new Set(["alerts"]), "").map((e) => e.type)).toEqual(["alert"]);
  });

  it("matches the query against room, entity and text, case-insensitively", () => {
    expect(filterTail(s.tail, new Set(TAIL_CATEGORIES), "KITCHEN").map((e) => e.type)).toEqual([
      "alert",
      "pma_entity_state_changed",
    ]);
    expect(filterTail(s.tail, new Set(TAIL_CATEGORIES), "bedroom_ceiling")).toHaveLength(1);
  });
});

describe("occupancyOf, relativeTime and Series", () => {
  it("ignores sensors whose state is unknown", () => {
    const sensor = {
      id: "binary_sensor.x",
      name: "x",
      domain: "binary_sensor",
      unit: null,
      deviceClass: "occupancy",
      roomId: "r",
      changedAt: 0,
    };
    expect(occupancyOf([{ ...sensor, state: "unavailable" }])).toBeNull();
    expect(
      occupancyOf([
        { ...sensor, state: "unavailable" },
        { ...sensor, state: "off" },
      ]),
    ).toBe(false);
  });

  it("says how far a time is, ahead or behind", () => {
    const now = Date.parse(T);
    expect(relativeTime("2026-03-01T18:00:45.000Z", now)).toBe("in 45 s");
    expect(relativeTime("2026-03-01T18:12:00.000Z", now)).toBe("in 12 min");
    expect(relativeTime("2026-03-01T19:30:00.000Z", now)).toBe("in 1 h 30 min");
    expect(relativeTime("2026-03-01T17:58:00.000Z", now)).toBe("2 min ago");
  });

  it("keeps the last samples up to its capacity", () => {
    const series = new Series(3);
    for (const v of [1, 2, 3, 4]) series.push(v);
    expect(series.values).toEqual([2, 3, 4]);
    expect(series.last).toBe(4);
  });
});

describe("entityState", () => {
  const entity = {
    id: "x.y",
    name: "x",
    domain: "sensor",
    unit: null,
    deviceClass: null,
    roomId: null,
    changedAt: 0,
  };

  it("adds the unit to a measurement", () => {
    expect(entityState({ ...entity, state: "21.5", unit: "°C" })).toBe("21.5 °C");
  });

  it("shows a timestamp state (a scene's last activation) as a time of day", () => {
    const shown = entityState({ ...entity, domain: "scene", state: "2026-11-22T02:11:14.372001+00:00" });
    expect(shown).not.toContain("2026");
    expect(shown).toMatch(/\d{1,2}[:.]\d{2}/);
  });

  it("shows a missing state as a dash", () => {
    expect(entityState({ ...entity, state: null })).toBe("–");
  });
});

describe("DashboardState with a snapshot", () => {
  const snapshot = (events: PmaMessage[]) =>
    msg("snapshot", { reason: "gap_too_old", epoch: "e2", last_seq: 90, events });

  it("replaces entities, rooms, predictions and statuses with the snapshot's content", () => {
    let now = 1_000;
    const s = new DashboardState(() => now);
    s.apply(roomAdded("attic", "Attic", "top"));
    s.apply(stateChanged("light.attic", null, "on", "attic"));
    s.apply(stateChanged("light.kitchen", null, "off", "kitchen"));
    s.apply(prediction("occupied", "attic"));
    now = 10_000;
    s.apply(
      snapshot([
        roomAdded("kitchen", "Kitchen", "ground"),
        roomAdded("bedroom", "Bedroom", "upstairs"),
        stateChanged("light.kitchen", "on", "on", "kitchen", { friendly_name: "Kitchen light" }),
        stateChanged("binary_sensor.bedroom_motion", "on", "on", "bedroom", { device_class: "motion" }),
        prediction("vacant", "bedroom"),
      ]),
    );

    const rooms = s.roomList();
    expect(
      rooms.map((r) => [r.room.name, r.entities.map((e) => e.id), r.occupied, r.prediction?.transition_type]),
    ).toEqual([
      ["Kitchen", ["light.kitchen"], null, undefined],
      ["Bedroom", ["binary_sensor.bedroom_motion"], true, "vacant"],
    ]);
    expect([...s.predictions.keys()]).toEqual(["bedroom"]);
    expect(s.entities.get("light.kitchen")).toMatchObject({
      name: "Kitchen light",
      state: "on",
      changedAt: 10_000,
    });
    // Not a change: what the dashboard meets for the first time in a snapshot is not highlighted.
    expect(s.entities.get("binary_sensor.bedroom_motion")?.changedAt).toBe(0);
    // One tail line for the snapshot, none for its items.
    expect(s.tail[0]).toMatchObject({ type: "snapshot", category: "system" });
    expect(s.tail[0]?.summary).toContain("2 rooms, 2 entities (gap_too_old)");
    expect(s.tail).toHaveLength(5);
  });
});
