import type { EntityInfo, FloorInfo, RoomInfo } from "../../src/core/events.js";
import type { HomeDirectory } from "../../src/core/home.js";

/** A small fixed home for server tests: rooms with occupancy sensors. */
export class FixtureHome implements HomeDirectory {
  private readonly roomList: RoomInfo[] = [
    { id: "kitchen", name: "Kitchen", area: "ground_floor", entity_count: 2 },
    { id: "bedroom", name: "Bedroom", area: "first_floor", entity_count: 1 },
  ];
  private readonly entityList: EntityInfo[];
  private readonly roomByEntity = new Map<string, string>();

  constructor() {
    const entity = (id: string, state: string, deviceClass: string | null): EntityInfo => ({
      id,
      name: id,
      type: id.split(".")[0] ?? "",
      source: "homeassistant",
      state,
      attributes: deviceClass === null ? {} : { device_class: deviceClass },
      device_id: null,
      disabled: false,
      last_changed: null,
      last_updated: null,
    });
    this.entityList = [
      entity("binary_sensor.kitchen_motion", "off", "motion"),
      entity("binary_sensor.kitchen_presence", "off", "presence"),
      entity("binary_sensor.kitchen_window", "on", "window"),
      entity("light.kitchen", "off", null),
      entity("binary_sensor.bedroom_occupancy", "on", "occupancy"),
    ];
    for (const e of this.entityList)
      this.roomByEntity.set(e.id, e.id.includes("kitchen") ? "kitchen" : "bedroom");
  }

  rooms(): readonly RoomInfo[] {
    return this.roomList;
  }
  room(roomId: string): RoomInfo | undefined {
    return this.roomList.find((r) => r.id === roomId);
  }
  floors(): readonly FloorInfo[] {
    return [];
  }
  entities(): readonly EntityInfo[] {
    return this.entityList;
  }
  entity(entityId: string): EntityInfo | undefined {
    return this.entityList.find((e) => e.id === entityId);
  }
  roomOf(entityId: string): string | null {
    return this.roomByEntity.get(entityId) ?? null;
  }
  roomEntityIds(roomId: string): readonly string[] {
    return [...this.roomByEntity].filter(([, room]) => room === roomId).map(([id]) => id);
  }
}
