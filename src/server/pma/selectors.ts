import { type BridgeEvent, EventKind } from "../../core/events.js";
import { perEvent } from "../../core/hub/per-event.js";
import { entityKey, eventRoom, roomKey } from "../../core/hub/subscription-index.js";
import { sharedKindKey, typeKeyIn, typeKeyTable } from "../index-keys.js";
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

/** Index keys of the HA event types the bridge knows, shared by every client subscribed to them. */
const KNOWN_TYPE_KEYS = typeKeyTable(KINDS_BY_HA_TYPE.keys());

export function canonicalEventType(name: string): string {
  return ALIASES[name] ?? name;
}

/** The subscription names an event answers to: its bridge kind (for bridge kinds) and its HA event type. */
const eventTypesOf = perEvent((event): readonly string[] => {
  const names: string[] = BRIDGE_EVENT_TYPES.has(event.kind) ? [event.kind] : [];
  const haType = event.ha_event_type ?? HA_TYPE_OF_KIND[event.kind];
  if (haType !== undefined) names.push(haType);
  return names;
});

export function domainOf(event: BridgeEvent): string | undefined {
  if (event.domain !== undefined) return event.domain;
  const dot = event.entity_id?.indexOf(".") ?? -1;
  return dot > 0 ? event.entity_id?.slice(0, dot) : undefined;
}

interface EventSelector {
  /** Canonical names, no duplicates; an array because a selector holds a few names (cheaper than a `Set`). */
  readonly types: string[];
  readonly filters: EventFilters | null;
}

/** The id selectors a client may hold; each set exists only once something was added to it. */
export type IdSelection = "entities" | "rooms" | "legacyRooms";

function passes(filter: readonly string[] | undefined, value: string | null | undefined): boolean {
  // An event that lacks the filtered field passes on its type alone (e.g. a room-less event and a room filter).
  return filter === undefined || value === undefined || value === null || filter.includes(value);
}

/** Whether the selector names any of `types`. Plain loops: this runs per delivery, and closures allocate. */
function namesAny(selector: EventSelector, types: readonly string[]): boolean {
  for (const type of types) if (selector.types.includes(type)) return true;
  return false;
}

function selectorMatches(selector: EventSelector, event: BridgeEvent, types: readonly string[]): boolean {
  if (!namesAny(selector, types)) return false;
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
 * Most items (entity ids, room ids, event types) one connection may follow: more than a large home has
 * entities, and a bound on what one client can make the server keep and index.
 */
export const MAX_SUBSCRIPTIONS = 10_000;

function sameList(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  return (
    a === b || (a !== undefined && b !== undefined && a.length === b.length && a.every((x, i) => x === b[i]))
  );
}

function sameFilters(a: EventFilters | null, b: EventFilters | null): boolean {
  if (a === null || b === null) return a === b;
  return (
    sameList(a.domains, b.domains) &&
    sameList(a.rooms, b.rooms) &&
    sameList(a.entity_types, b.entity_types) &&
    sameList(a.sources, b.sources)
  );
}

/**
 * A PMA client's selectors. A message is delivered when ANY selector matches (union): an event-type selector
 * (with its optional filters), an entity id, a room id, or a legacy integer room. Most clients use one kind
 * of selector, so the others are allocated on first use (idle memory per connection).
 */
export class PmaSubscriptions {
  private eventSelectors: EventSelector[] | undefined;
  private entities: Set<string> | undefined;
  private rooms: Set<string> | undefined;
  private legacyRooms: Set<string> | undefined;

  /**
   * Adds event types under `filters`, into the selector with the same filters when there is one (a client
   * repeating a subscription does not pile up selectors); returns the canonical names it added, or
   * undefined, changing nothing, when the connection would hold more than `MAX_SUBSCRIPTIONS` items.
   */
  addEventTypes(types: readonly string[], filters: EventFilters | null): string[] | undefined {
    const canonical = [...new Set(types.map(canonicalEventType))];
    const selectors = this.eventSelectors ?? [];
    const same = selectors.find((selector) => sameFilters(selector.filters, filters));
    const added = canonical.filter((type) => same?.types.includes(type) !== true);
    if (this.total() + added.length > MAX_SUBSCRIPTIONS) return undefined;
    if (same === undefined) selectors.push({ types: added, filters });
    else same.types.push(...added);
    this.eventSelectors = selectors;
    return added;
  }

  /** Removes the types from every selector; returns those that were subscribed. */
  removeEventTypes(types: readonly string[]): string[] {
    const selectors = this.eventSelectors;
    if (selectors === undefined) return [];
    const removed = new Set<string>();
    for (const type of types.map(canonicalEventType)) {
      for (const selector of selectors) {
        const index = selector.types.indexOf(type);
        if (index < 0) continue;
        selector.types.splice(index, 1);
        removed.add(type);
      }
    }
    for (let i = selectors.length - 1; i >= 0; i--) {
      if (selectors[i]?.types.length === 0) selectors.splice(i, 1);
    }
    if (selectors.length === 0) this.eventSelectors = undefined;
    return [...removed];
  }

  /**
   * Adds ids to one selection; returns those not already in it (in the order given), or undefined, changing
   * nothing, when the connection would hold more than `MAX_SUBSCRIPTIONS` items.
   */
  addIds(selection: IdSelection, ids: readonly string[]): string[] | undefined {
    const set = this[selection] ?? new Set<string>();
    const added = [...new Set(ids)].filter((id) => !set.has(id));
    if (this.total() + added.length > MAX_SUBSCRIPTIONS) return undefined;
    this[selection] = set;
    for (const id of added) set.add(id);
    return added;
  }

  /** Removes ids from one selection; returns those that were in it. */
  removeIds(selection: IdSelection, ids: readonly string[]): string[] {
    const set = this[selection];
    if (set === undefined) return [];
    const removed = ids.filter((id) => set.delete(id));
    if (set.size === 0) this[selection] = undefined;
    return removed;
  }

  /** Every subscribed item, counted once per selector entry. */
  total(): number {
    let total = (this.entities?.size ?? 0) + (this.rooms?.size ?? 0) + (this.legacyRooms?.size ?? 0);
    for (const selector of this.eventSelectors ?? []) total += selector.types.length;
    return total;
  }

  /** `room` is the event's room (`eventRoom`), which the caller has at hand. */
  matches(event: BridgeEvent, room: string | null = eventRoom(event)): boolean {
    if (event.entity_id !== undefined && this.entities?.has(event.entity_id) === true) return true;
    if (room !== null && (this.rooms?.has(room) === true || this.legacyRooms?.has(room) === true))
      return true;
    const selectors = this.eventSelectors;
    if (selectors === undefined) return false;
    const types = eventTypesOf(event);
    for (const selector of selectors) if (selectorMatches(selector, event, types)) return true;
    return false;
  }

  /** The hub index keys under which every event this client may match can be found. */
  indexKeys(): string[] {
    const keys: string[] = [];
    for (const id of this.entities ?? []) keys.push(entityKey(id));
    for (const id of this.rooms ?? []) keys.push(roomKey(id));
    for (const id of this.legacyRooms ?? []) keys.push(roomKey(id));
    for (const selector of this.eventSelectors ?? []) {
      for (const type of selector.types) {
        if (BRIDGE_EVENT_TYPES.has(type)) keys.push(sharedKindKey(type));
        else {
          keys.push(typeKeyIn(KNOWN_TYPE_KEYS, type));
          for (const kind of KINDS_BY_HA_TYPE.get(type) ?? []) keys.push(sharedKindKey(kind));
        }
      }
    }
    return keys;
  }

  describe(): { event_types: string[]; entity_ids: string[]; room_ids: string[]; legacy_rooms: string[] } {
    return {
      event_types: [...new Set((this.eventSelectors ?? []).flatMap((s) => s.types))],
      entity_ids: [...(this.entities ?? [])],
      room_ids: [...(this.rooms ?? [])],
      legacy_rooms: [...(this.legacyRooms ?? [])],
    };
  }
}
