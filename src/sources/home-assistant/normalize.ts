import {
  type AdapterState,
  type Attributes,
  type ConnectionState,
  EventKind,
  type JsonValue,
  type NewBridgeEvent,
  type SyncState,
} from "../../core/events.js";
import type { HaStateObject, HomeDirectory } from "../../core/home.js";
import { isoFromMs } from "../../core/iso-time.js";
import type { CompressedState, HaEvent, StateDiff } from "./messages.js";

/**
 * Pure normalisation of what Home Assistant sends into the bridge's vocabulary: compressed states into
 * state objects, HA events into `BridgeEvent`s, and the source's own status messages.
 */

export const ADAPTER_ID = "homeassistant";
export const ADAPTER_NAME = "Home Assistant";

/**
 * Compressed times are float epoch seconds; the bridge speaks ISO-8601 UTC with `Z` (millisecond precision).
 * The parser admits only times within Date's range.
 */
export function epochToIso(seconds: number): string {
  return isoFromMs(seconds * 1000);
}

type Context = NonNullable<HaStateObject["context"]>;

function expandContext(c: CompressedState["c"], previous?: Context | null): Context | null {
  if (c === undefined) return previous ?? null;
  if (typeof c === "string")
    return { id: c, parent_id: previous?.parent_id ?? null, user_id: previous?.user_id ?? null };
  return {
    id: c.id ?? previous?.id ?? "",
    parent_id: c.parent_id === undefined ? (previous?.parent_id ?? null) : c.parent_id,
    user_id: c.user_id === undefined ? (previous?.user_id ?? null) : c.user_id,
  };
}

/** A compressed state (snapshot or `a` diff) as a full state object; `lu` defaults to `lc`. */
export function expandState(entityId: string, compressed: CompressedState): HaStateObject {
  return {
    entity_id: entityId,
    state: compressed.s,
    attributes: compressed.a,
    last_changed: epochToIso(compressed.lc),
    last_updated: epochToIso(compressed.lu ?? compressed.lc),
    context:
      typeof compressed.c === "string"
        ? { id: compressed.c, parent_id: null, user_id: null }
        : (expandContext(compressed.c) ?? null),
  };
}

/**
 * Applies a `c` diff: `+.lc` moves both times, `+.lu` only last_updated; a string `+.c` replaces only the
 * context id (HA sends a bare id when parent and user did not change); an object is merged.
 */
export function applyStateDiff(current: HaStateObject, diff: StateDiff): HaStateObject {
  const plus = diff["+"] ?? {};
  const attributes: Attributes = { ...current.attributes, ...plus.a };
  for (const key of diff["-"]?.a ?? []) delete attributes[key];
  const lastChanged = plus.lc === undefined ? current.last_changed : epochToIso(plus.lc);
  const lastUpdated =
    plus.lc !== undefined ? lastChanged : plus.lu !== undefined ? epochToIso(plus.lu) : current.last_updated;
  const context = expandContext(plus.c, current.context ?? null);
  return {
    entity_id: current.entity_id,
    state: plus.s ?? current.state,
    attributes,
    ...(lastChanged === undefined ? {} : { last_changed: lastChanged }),
    ...(lastUpdated === undefined ? {} : { last_updated: lastUpdated }),
    context,
  };
}

function eventTime(event: HaEvent, fallback: string): string {
  if (event.time_fired === undefined) return fallback;
  const ms = Date.parse(event.time_fired);
  return Number.isNaN(ms) ? fallback : new Date(ms).toISOString();
}

function stringField(data: HaEvent["data"], key: string): string | undefined {
  const value = data?.[key];
  return typeof value === "string" ? value : undefined;
}

/**
 * HA describes what fired an automation as prose: `state of binary_sensor.hallway_motion`,
 * `time pattern`, `event 'foo'`. The part before ` of ` is the trigger type, the rest its value.
 */
export function triggerOf(source: string | undefined): {
  readonly type: string;
  readonly value: string | null;
} {
  if (source === undefined || source === "") return { type: "unknown", value: null };
  const match = /^(.+?) of (.+)$/.exec(source);
  if (match?.[1] !== undefined && match[2] !== undefined) {
    return { type: match[1].trim().replaceAll(" ", "_"), value: match[2].trim() };
  }
  return { type: source.trim().replaceAll(" ", "_"), value: null };
}

/** `automation_triggered` → `pma_automation_triggered`. */
export function automationTriggeredEvent(
  event: HaEvent,
  home: HomeDirectory,
  now: string,
): NewBridgeEvent<EventKind.AutomationTriggered> | undefined {
  const entityId = stringField(event.data, "entity_id");
  if (entityId === undefined) return undefined;
  const roomId = home.roomOf(entityId);
  return {
    kind: EventKind.AutomationTriggered,
    time: eventTime(event, now),
    source: "homeassistant",
    entity_id: entityId,
    domain: "automation",
    room_id: roomId,
    area_id: roomId === null ? null : (home.room(roomId)?.area ?? null),
    ha_event_type: "automation_triggered",
    critical: false,
    data: {
      rule_id: entityId,
      rule_name: stringField(event.data, "name") ?? home.entity(entityId)?.name ?? entityId,
      trigger: triggerOf(stringField(event.data, "source")),
      actions_executed: null,
      success: true,
      source: "homeassistant",
    },
  };
}

function entityIdsOf(value: JsonValue | undefined): string[] {
  if (typeof value === "string") return value.split(",").map((s) => s.trim());
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === "string");
  return [];
}

/**
 * Scene activations come from `call_service` for `scene.turn_on` (by a user, an automation or a script:
 * every service call fires it), one event per scene. The scene's own state change is not used, so an
 * activation is never reported twice.
 */
export function sceneActivatedEvents(
  event: HaEvent,
  home: HomeDirectory,
  now: string,
): NewBridgeEvent<EventKind.SceneActivated>[] {
  if (event.event_type !== "call_service") return [];
  if (stringField(event.data, "domain") !== "scene" || stringField(event.data, "service") !== "turn_on")
    return [];
  const serviceData = event.data?.service_data;
  const targets =
    serviceData !== null && typeof serviceData === "object" && !Array.isArray(serviceData)
      ? entityIdsOf((serviceData as { readonly [key: string]: JsonValue }).entity_id)
      : [];
  return targets
    .filter((id) => id.startsWith("scene."))
    .map((sceneId) => {
      const roomId = home.roomOf(sceneId);
      return {
        kind: EventKind.SceneActivated,
        time: eventTime(event, now),
        source: "homeassistant",
        entity_id: sceneId,
        domain: "scene",
        room_id: roomId,
        area_id: roomId === null ? null : (home.room(roomId)?.area ?? null),
        ha_event_type: "call_service",
        critical: false,
        data: {
          scene_id: sceneId,
          scene_name: home.entity(sceneId)?.name ?? sceneId,
          source: "homeassistant",
          user_id: event.context?.user_id ?? null,
        },
      };
    });
}

/** Any other subscribed HA event, passed through under its own type. */
export function sourceEvent(event: HaEvent, now: string): NewBridgeEvent<EventKind.SourceEvent> {
  const entityId = stringField(event.data, "entity_id");
  return {
    kind: EventKind.SourceEvent,
    time: eventTime(event, now),
    source: "homeassistant",
    ...(entityId === undefined ? {} : { entity_id: entityId }),
    ha_event_type: event.event_type,
    critical: false,
    data: { source: "homeassistant", event_type: event.event_type, event_data: event.data ?? {} },
  };
}

export function syncStatusEvent(
  status: SyncState,
  message: string,
  progress: number,
  counts: { readonly entities: number; readonly rooms: number; readonly errors: number },
  now: string,
): NewBridgeEvent<EventKind.SyncStatus> {
  return {
    kind: EventKind.SyncStatus,
    time: now,
    source: "homeassistant",
    critical: false,
    data: {
      source: "homeassistant",
      status,
      message,
      entity_count: counts.entities,
      room_count: counts.rooms,
      progress: Math.max(0, Math.min(100, Math.round(progress))),
      error_count: counts.errors,
    },
  };
}

export function adapterStatusEvent(
  status: AdapterState,
  health: {
    readonly issues: readonly string[];
    readonly lastSync: string | null;
    readonly haVersion: string | null;
  },
  now: string,
): NewBridgeEvent<EventKind.AdapterStatus> {
  return {
    kind: EventKind.AdapterStatus,
    time: now,
    source: "homeassistant",
    critical: false,
    data: {
      adapter_id: ADAPTER_ID,
      adapter_name: ADAPTER_NAME,
      source: "homeassistant",
      status,
      health: {
        is_healthy: status === "connected" && health.issues.length === 0,
        issues: health.issues,
        last_sync: health.lastSync,
        ha_version: health.haVersion,
      },
    },
  };
}

export function connectionStatusEvent(
  status: ConnectionState,
  message: string,
  attempt: number,
  now: string,
): NewBridgeEvent<EventKind.ConnectionStatus> {
  return {
    kind: EventKind.ConnectionStatus,
    time: now,
    source: "homeassistant",
    critical: false,
    data: { source: "homeassistant", status, message, attempt },
  };
}
