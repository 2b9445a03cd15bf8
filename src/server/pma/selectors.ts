import { type BridgeEvent, EventKind } from "../../core/events.js";
import { entityKey, eventRoom, kindKey, roomKey, typeKey } from "../../core/hub/subscription-index.js";
import type { EventFilters } from "./protocol.js";

/** Bridge kinds a client may name in `event_types` (matched against the event's kind). */
export const BRIDGE_EVENT_TYPES: ReadonlySet<string> = new Set([
  EventKind.PredictionUpdate,
  EventKind.Alert,
  EventKind.Drift,
  EventKind.SystemStatus,
  EventKind.SyncStatus,
  EventKind.AdapterStatus,
  EventKind.ConnectionStatus,
  EventKind.SourceEvent,
]);

/** The seed's own name for HA's `call_service`. */
const ALIASES: Readonly<Record<string, string>> = { service_call: "call_service" };

/**
 * The HA event behind each kind, for events whose source did not say (`ha_event_type` absent): what a client
 * subscribed to that HA name expects to receive.
 */
const HA_TYPE_OF_KIND: Partial<Record<EventKind, string>> = {
  [EventKind.EntityStateChanged]: "state_changed",
  [EventKind.EntityAdded]: "state_changed",
  [EventKind.EntityRemoved]: "state_changed",
  [EventKind.EntityUpdated]: "entity_registry_updated",
  [EventKind.RoomAdded]: "area_registry_updated",
  [EventKind.RoomUpdated]: "area_registry_updated",
  [EventKind.RoomRemoved]: "area_registry_updated",
  [EventKind.AreaUpdated]: "floor_registry_updated",
  [EventKind.AutomationTriggered]: "automation_triggered",
  [EventKind.SceneActivated]: "call_service",
};

const KINDS_BY_HA_TYPE = new Map<string, EventKind[]>();
for (const [kind, haType] of Object.entries(HA_TYPE_OF_KIND)) {
  KINDS_BY_HA_TYPE.set(haType, [...(KINDS_BY_HA_TYPE.get(haType) ?? []), kind as EventKind]);
}

export function canonicalEventType(name: string): string {
  return ALIASES[name] ?? name;
}

/** The subscription names an event answers to: its bridge kind (for bridge kinds) and its HA event type. */
function eventTypesOf(event: BridgeEvent): string[] {
  const names: string[] = BRIDGE_EVENT_TYPES.has(event.kind) ? [event.kind] : [];
  const haType = event.ha_event_type ?? HA_TYPE_OF_KIND[event.kind];
  if (haType !== undefined) names.push(haType);
  return names;
}

export function domainOf(event: BridgeEvent): string | undefined {
  if (event.domain !== undefined) return event.domain;
  const dot = event.entity_id?.indexOf(".") ?? -1;
  return dot > 0 ? event.entity_id?.slice(0, dot) : undefined;
}

interface EventSelector {
  readonly types: Set<string>;
  readonly filters: EventFilters | null;
}

function passes(filter: readonly string[] | undefined, value: string | null | undefined): boolean {
  // An event that lacks the filtered field passes on its type alone (e.g. a room-less event and a room filter).
  return filter === undefined || value === undefined || value === null || filter.includes(value);
}

function selectorMatches(selector: EventSelector, event: BridgeEvent, types: readonly string[]): boolean {
  if (!types.some((type) => selector.types.has(type))) return false;
  const f = selector.filters;
  if (f === null) return true;
  const domain = domainOf(event);
  const entityType = event.kind === EventKind.EntityStateChanged ? event.data.entity_type : domain;
  return (
    passes(f.domains, domain) &&
    passes(f.rooms, eventRoom(event)) &&
    passes(f.entity_types, entityType) &&
    passes(f.sources, event.source)
  );
}

/**
 * A PMA client's selectors. A message is delivered when ANY selector matches (union): an event-type selector
 * (with its optional filters), an entity id, a room id, or a legacy integer room.
 */
export class PmaSubscriptions {
  private readonly eventSelectors: EventSelector[] = [];
  readonly entities = new Set<string>();
  readonly rooms = new Set<string>();
  readonly legacyRooms = new Set<string>();

  /** Adds one selector; returns the canonical type names it holds. */
  addEventTypes(types: readonly string[], filters: EventFilters | null): string[] {
    const canonical = [...new Set(types.map(canonicalEventType))];
    this.eventSelectors.push({ types: new Set(canonical), filters });
    return canonical;
  }

  /** Removes the types from every selector; returns those that were subscribed. */
  removeEventTypes(types: readonly string[]): string[] {
    const removed = new Set<string>();
    for (const type of types.map(canonicalEventType)) {
      for (const selector of this.eventSelectors) if (selector.types.delete(type)) removed.add(type);
    }
    for (let i = this.eventSelectors.length - 1; i >= 0; i--) {
      if (this.eventSelectors[i]?.types.size === 0) this.eventSelectors.splice(i, 1);
    }
    return [...removed];
  }

  /** Every subscribed item, counted once per selector entry. */
  total(): number {
    let total = this.entities.size + this.rooms.size + this.legacyRooms.size;
    for (const selector of this.eventSelectors) total += selector.types.size;
    return total;
  }

  matches(event: BridgeEvent): boolean {
    if (event.entity_id !== undefined && this.entities.has(event.entity_id)) return true;
    const room = eventRoom(event);
    if (room !== null && (this.rooms.has(room) || this.legacyRooms.has(room))) return true;
    if (this.eventSelectors.length === 0) return false;
    const types = eventTypesOf(event);
    return this.eventSelectors.some((selector) => selectorMatches(selector, event, types));
  }

  /** The hub index keys under which every event this client may match can be found. */
  indexKeys(): string[] {
    const keys: string[] = [];
    for (const id of this.entities) keys.push(entityKey(id));
    for (const id of this.rooms) keys.push(roomKey(id));
    for (const id of this.legacyRooms) keys.push(roomKey(id));
    for (const selector of this.eventSelectors) {
      for (const type of selector.types) {
        if (BRIDGE_EVENT_TYPES.has(type)) keys.push(kindKey(type));
        else {
          keys.push(typeKey(type));
          for (const kind of KINDS_BY_HA_TYPE.get(type) ?? []) keys.push(kindKey(kind));
        }
      }
    }
    return keys;
  }

  describe(): { event_types: string[]; entity_ids: string[]; room_ids: string[]; legacy_rooms: string[] } {
    return {
      event_types: [...new Set(this.eventSelectors.flatMap((s) => [...s.types]))],
      entity_ids: [...this.entities],
      room_ids: [...this.rooms],
      legacy_rooms: [...this.legacyRooms],
    };
  }
}
