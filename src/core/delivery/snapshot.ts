import { type BridgeEvent, EventKind, type NewBridgeEvent } from "../events.js";
import type { HomeDirectory } from "../home.js";

/** Most keys the last-known cache holds (predictions are per room, statuses per source or adapter). */
const MAX_KEYS = 10_000;

/** The key under which an event is "the latest of its kind", or null for events that are not state. */
function lastKnownKey(event: BridgeEvent): string | null {
  switch (event.kind) {
    case EventKind.PredictionUpdate:
      return `prediction:${event.data.room_id}`;
    case EventKind.SystemStatus:
      return "system_status";
    case EventKind.SyncStatus:
      return `sync_status:${event.data.source}`;
    case EventKind.AdapterStatus:
      return `adapter_status:${event.data.adapter_id}`;
    case EventKind.ConnectionStatus:
      return `connection_status:${event.data.source}`;
    case EventKind.EntityStateChanged:
    case EventKind.EntityAdded:
    case EventKind.EntityRemoved:
    case EventKind.EntityUpdated:
    case EventKind.RoomAdded:
    case EventKind.RoomUpdated:
    case EventKind.RoomRemoved:
    case EventKind.AreaUpdated:
      // Current from the home directory instead.
      return null;
    case EventKind.AutomationTriggered:
    case EventKind.SceneActivated:
    case EventKind.SourceEvent:
    case EventKind.Alert:
    case EventKind.Drift:
      // Happenings, not state; alerts and drift reach their clients through acknowledged delivery.
      return null;
  }
}

/**
 * The latest prediction per room and the latest status per source: what a snapshot needs besides the home
 * model. Fed from every hub event; bounded by the number of rooms and sources (and a hard cap).
 */
export class LastKnown {
  private readonly latest = new Map<string, BridgeEvent>();

  observe(event: BridgeEvent): void {
    const key = lastKnownKey(event);
    if (key === null) return;
    this.latest.delete(key);
    this.latest.set(key, event);
    if (this.latest.size > MAX_KEYS) {
      const oldest = this.latest.keys().next();
      if (oldest.done !== true) this.latest.delete(oldest.value);
    }
  }

  events(): BridgeEvent[] {
    return [...this.latest.values()].sort((a, b) => a.seq - b.seq);
  }
}

/** Where a snapshot stands in the stream: live messages after it continue from `seq`. */
export interface SnapshotPosition {
  readonly seq: number;
  readonly epoch: string;
  readonly time: string;
}

/**
 * The current state as events, for a client whose gap cannot be replayed: floors, rooms and every entity
 * with a state from the home directory, then the latest predictions and statuses. Each carries the
 * snapshot's seq. The caller filters them by the client's subscriptions and permissions, like live events.
 */
export function snapshotEvents(
  home: HomeDirectory | undefined,
  lastKnown: LastKnown,
  at: SnapshotPosition,
): BridgeEvent[] {
  const events: NewBridgeEvent[] = [];
  if (home !== undefined) {
    for (const floor of home.floors()) {
      events.push({
        kind: EventKind.AreaUpdated,
        time: at.time,
        source: "homeassistant",
        area_id: floor.id,
        critical: false,
        data: { area: floor, action: "updated", source: "homeassistant" },
      });
    }
    for (const room of home.rooms()) {
      events.push({
        kind: EventKind.RoomUpdated,
        time: at.time,
        source: "homeassistant",
        room_id: room.id,
        area_id: room.area,
        critical: false,
        data: { room, action: "updated", source: "homeassistant" },
      });
    }
    for (const entity of home.entities()) {
      if (entity.state === null) continue;
      const roomId = home.roomOf(entity.id);
      const areaId = roomId === null ? null : (home.room(roomId)?.area ?? null);
      events.push({
        kind: EventKind.EntityStateChanged,
        time: at.time,
        source: entity.source,
        entity_id: entity.id,
        domain: entity.type,
        room_id: roomId,
        area_id: areaId,
        ha_event_type: "state_changed",
        critical: false,
        data: {
          entity_id: entity.id,
          entity_type: entity.type,
          source: entity.source,
          old_state: entity.state,
          new_state: entity.state,
          attributes: entity.attributes,
          changed_attributes: [],
          room_id: roomId,
          area_id: areaId,
          last_changed: entity.last_changed,
          last_updated: entity.last_updated,
          user_id: null,
        },
      });
    }
  }
  const numbered: BridgeEvent[] = events.map(
    (event) => ({ ...event, seq: at.seq, epoch: at.epoch }) as BridgeEvent,
  );
  for (const event of lastKnown.events()) numbered.push({ ...event, seq: at.seq, epoch: at.epoch });
  return numbered;
}
