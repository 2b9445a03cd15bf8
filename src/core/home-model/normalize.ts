import {
  type Attributes,
  type EntityInfo,
  EventKind,
  type FloorInfo,
  type JsonValue,
  type NewBridgeEvent,
  type RoomAction,
  type RoomInfo,
} from "../events.js";

/**
 * Pure normalisation of home-model changes: two views of the same thing (before, after) in, the
 * `BridgeEvent`s a client must see out. The model computes the views; these functions decide what changed.
 */

/** Everything the bridge says about one entity at one moment. */
export interface EntityView {
  readonly info: EntityInfo;
  readonly room_id: string | null;
  readonly area_id: string | null;
  /** The registry's own name override; only this (not `friendly_name`) counts as a rename. */
  readonly registry_name: string | null;
  /** The HA user whose action produced the current state, when HA says. */
  readonly user_id: string | null;
}

export function domainOf(entityId: string): string {
  const dot = entityId.indexOf(".");
  return dot < 0 ? entityId : entityId.slice(0, dot);
}

function sameJson(a: JsonValue | undefined, b: JsonValue | undefined): boolean {
  if (a === b) return true;
  // Two different strings, booleans or finite numbers never serialize alike (most attribute values).
  const type = typeof a;
  if (
    type !== "object" &&
    type === typeof b &&
    (type !== "number" || (Number.isFinite(a) && Number.isFinite(b)))
  )
    return false;
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Attribute keys added, changed or removed between two attribute sets. */
export function changedAttributes(before: Attributes, after: Attributes): string[] {
  const keys: string[] = [];
  if (before === after) return keys;
  for (const key of Object.keys(after)) if (!sameJson(before[key], after[key])) keys.push(key);
  for (const key of Object.keys(before)) if (!(key in after)) keys.push(key);
  return keys;
}

function envelope(view: EntityView, haEventType: string, time: string) {
  return {
    time,
    source: view.info.source,
    entity_id: view.info.id,
    domain: view.info.type,
    room_id: view.room_id,
    area_id: view.area_id,
    ha_event_type: haEventType,
    critical: false,
  } as const;
}

/** Registry facets that differ between two views of one entity (`entity_id` is reported by renames). */
function registryChanges(before: EntityView, after: EntityView): string[] {
  const changes: string[] = [];
  if (before.info.id !== after.info.id) changes.push("entity_id");
  if (before.registry_name !== after.registry_name) changes.push("name");
  if (before.room_id !== after.room_id) changes.push("room");
  if (before.area_id !== after.area_id) changes.push("area");
  if (before.info.disabled !== after.info.disabled) changes.push("disabled");
  if (before.info.device_id !== after.info.device_id) changes.push("device");
  return changes;
}

/**
 * The events for one entity going from `before` to `after` (either may be absent): added, removed,
 * updated (registry facets: rename, room move, disable) and state changed (value or attributes).
 */
export function entityEvents(
  before: EntityView | undefined,
  after: EntityView | undefined,
  time: string,
): NewBridgeEvent[] {
  if (after === undefined) {
    if (before === undefined) return [];
    return [
      {
        ...envelope(before, "state_changed", time),
        kind: EventKind.EntityRemoved,
        data: {
          entity_id: before.info.id,
          source: before.info.source,
          room_id: before.room_id,
          area_id: before.area_id,
        },
      },
    ];
  }
  if (before === undefined) {
    return [
      {
        ...envelope(after, "state_changed", time),
        kind: EventKind.EntityAdded,
        data: { entity: after.info, room_id: after.room_id, area_id: after.area_id },
      },
    ];
  }
  const events: NewBridgeEvent[] = [];
  const changes = registryChanges(before, after);
  if (changes.length > 0) {
    events.push({
      ...envelope(after, "entity_registry_updated", time),
      kind: EventKind.EntityUpdated,
      data: {
        entity: after.info,
        old_entity_id: before.info.id === after.info.id ? null : before.info.id,
        changes,
        room_id: after.room_id,
        area_id: after.area_id,
        old_room_id: before.room_id,
      },
    });
  }
  const attributeKeys = changedAttributes(before.info.attributes, after.info.attributes);
  if (before.info.state !== after.info.state || attributeKeys.length > 0) {
    events.push({
      ...envelope(after, "state_changed", time),
      kind: EventKind.EntityStateChanged,
      data: {
        entity_id: after.info.id,
        entity_type: after.info.type,
        source: after.info.source,
        old_state: before.info.state,
        new_state: after.info.state,
        attributes: after.info.attributes,
        changed_attributes: attributeKeys,
        room_id: after.room_id,
        area_id: after.area_id,
        last_changed: after.info.last_changed,
        last_updated: after.info.last_updated,
        user_id: after.user_id,
      },
    });
  }
  return events;
}

function sameRoom(a: RoomInfo, b: RoomInfo): boolean {
  return a.name === b.name && a.area === b.area && a.entity_count === b.entity_count;
}

function roomEvent(room: RoomInfo, action: RoomAction, time: string): NewBridgeEvent {
  const base = {
    time,
    source: "homeassistant",
    room_id: room.id,
    area_id: room.area,
    ha_event_type: "area_registry_updated",
    critical: false,
    data: { room, action, source: "homeassistant" },
  } as const;
  switch (action) {
    case "added":
      return { ...base, kind: EventKind.RoomAdded };
    case "updated":
      return { ...base, kind: EventKind.RoomUpdated };
    case "removed":
      return { ...base, kind: EventKind.RoomRemoved };
  }
}

/** Rooms (HA areas) that appeared, changed (name, floor, entity count) or went away. */
export function roomEvents(
  before: ReadonlyMap<string, RoomInfo>,
  after: ReadonlyMap<string, RoomInfo>,
  time: string,
): { readonly upserts: NewBridgeEvent[]; readonly removals: NewBridgeEvent[] } {
  const upserts: NewBridgeEvent[] = [];
  const removals: NewBridgeEvent[] = [];
  for (const [id, room] of after) {
    const previous = before.get(id);
    if (previous === undefined) upserts.push(roomEvent(room, "added", time));
    else if (!sameRoom(previous, room)) upserts.push(roomEvent(room, "updated", time));
  }
  for (const [id, room] of before) if (!after.has(id)) removals.push(roomEvent(room, "removed", time));
  return { upserts, removals };
}

function sameFloor(a: FloorInfo, b: FloorInfo): boolean {
  return a.name === b.name && a.level === b.level && sameJson(a.room_ids, b.room_ids);
}

function floorEvent(area: FloorInfo, action: RoomAction, time: string): NewBridgeEvent {
  return {
    kind: EventKind.AreaUpdated,
    time,
    source: "homeassistant",
    area_id: area.id,
    ha_event_type: "floor_registry_updated",
    critical: false,
    data: { area, action, source: "homeassistant" },
  };
}

/** Floors (PMA areas) that appeared, changed (name, level, rooms on it) or went away. */
export function floorEvents(
  before: ReadonlyMap<string, FloorInfo>,
  after: ReadonlyMap<string, FloorInfo>,
  time: string,
): { readonly upserts: NewBridgeEvent[]; readonly removals: NewBridgeEvent[] } {
  const upserts: NewBridgeEvent[] = [];
  const removals: NewBridgeEvent[] = [];
  for (const [id, floor] of after) {
    const previous = before.get(id);
    if (previous === undefined) upserts.push(floorEvent(floor, "added", time));
    else if (!sameFloor(previous, floor)) upserts.push(floorEvent(floor, "updated", time));
  }
  for (const [id, floor] of before) if (!after.has(id)) removals.push(floorEvent(floor, "removed", time));
  return { upserts, removals };
}
