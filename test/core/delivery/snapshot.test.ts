import { describe, expect, it } from "vitest";
import { LastKnown, snapshotEvents } from "../../../src/core/delivery/snapshot.js";
import {
  type BridgeEvent,
  type EntityInfo,
  EventKind,
  type FloorInfo,
  type RoomInfo,
} from "../../../src/core/events.js";
import type { HomeDirectory } from "../../../src/core/home.js";
import { stateEvent } from "./fixtures.js";

function entity(id: string, state: string | null): EntityInfo {
  return {
    id,
    name: id,
    type: id.split(".")[0] ?? "",
    source: "homeassistant",
    state,
    attributes: { brightness: 10 },
    device_id: null,
    disabled: false,
    last_changed: "2026-01-01T00:00:00.000Z",
    last_updated: "2026-01-01T00:00:00.000Z",
  };
}

class FixedHome implements HomeDirectory {
  private readonly roomList: RoomInfo[] = [
    { id: "kitchen", name: "Kitchen", area: "ground", entity_count: 1 },
  ];
  private readonly floorList: FloorInfo[] = [
    { id: "ground", name: "Ground", level: 0, room_ids: ["kitchen"] },
  ];
  private readonly entityList = [entity("light.kitchen", "on"), entity("switch.disabled", null)];
  rooms(): readonly RoomInfo[] {
    return this.roomList;
  }
  room(roomId: string): RoomInfo | undefined {
    return this.roomList.find((r) => r.id === roomId);
  }
  floors(): readonly FloorInfo[] {
    return this.floorList;
  }
  entities(): readonly EntityInfo[] {
    return this.entityList;
  }
  entity(entityId: string): EntityInfo | undefined {
    return this.entityList.find((e) => e.id === entityId);
  }
  roomOf(entityId: string): string | null {
    return entityId === "light.kitchen" ? "kitchen" : null;
  }
  roomEntityIds(roomId: string): readonly string[] {
    return roomId === "kitchen" ? ["light.kitchen"] : [];
  }
}

function prediction(seq: number, roomId: string, time: string): BridgeEvent {
  return {
    seq,
    epoch: "e1",
    kind: EventKind.PredictionUpdate,
    time,
    source: "mqtt",
    room_id: roomId,
    critical: false,
    data: {
      room_id: roomId,
      room_name: roomId,
      predictor_room_id: roomId,
      predicted_time: time,
      transition_type: "occupied",
      raw_transition_type: "vacant_to_occupied",
      confidence_score: 0.9,
      current_state: null,
      model_type: "ensemble",
      model_version: "1",
      alternatives: [],
      features_used: null,
      prediction_made_at: null,
      prediction_metadata: { certainty_level: null },
    },
  };
}

describe("LastKnown", () => {
  it("keeps the latest prediction per room and ignores entity events", () => {
    const cache = new LastKnown();
    cache.observe(prediction(1, "kitchen", "2026-01-01T01:00:00.000Z"));
    cache.observe(prediction(2, "bedroom", "2026-01-01T01:00:00.000Z"));
    cache.observe(prediction(3, "kitchen", "2026-01-01T02:00:00.000Z"));
    cache.observe(stateEvent(4));
    expect(cache.events().map((e) => e.seq)).toEqual([2, 3]);
  });
});

describe("snapshotEvents", () => {
  it("describes floors, rooms, entities with a state, and the last known predictions, at the snapshot's seq", () => {
    const cache = new LastKnown();
    cache.observe(prediction(5, "kitchen", "2026-01-01T01:00:00.000Z"));
    const events = snapshotEvents(new FixedHome(), cache, {
      seq: 99,
      epoch: "e2",
      time: "2026-01-02T00:00:00.000Z",
    });
    expect(events.map((e) => e.kind)).toEqual([
      EventKind.AreaUpdated,
      EventKind.RoomUpdated,
      EventKind.EntityStateChanged,
      EventKind.PredictionUpdate,
    ]);
    expect(events.every((e) => e.seq === 99 && e.epoch === "e2")).toBe(true);
    const state = events[2];
    expect(state?.kind === EventKind.EntityStateChanged && state.data).toMatchObject({
      entity_id: "light.kitchen",
      new_state: "on",
      room_id: "kitchen",
      area_id: "ground",
      attributes: { brightness: 10 },
    });
  });

  it("without a home directory has only the last known events", () => {
    expect(snapshotEvents(undefined, new LastKnown(), { seq: 1, epoch: "e", time: "t" })).toEqual([]);
  });
});
