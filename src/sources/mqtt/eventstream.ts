/**
 * Home Assistant's `mqtt_eventstream` feed: one topic carrying `{"event_type": …, "event_data": {…}}` for every
 * HA event. Pure parsing into what the home model's `StateFeed` and the `source_event` kind need.
 */
import type { Attributes, JsonValue } from "../../core/events.js";
import type { HaStateObject } from "../../core/home.js";
import { isObject, type Parsed } from "./normalize.js";

export type EventstreamMessage =
  | {
      readonly type: "state_changed";
      readonly entityId: string;
      /** Null when the entity was removed. */
      readonly newState: HaStateObject | null;
    }
  | { readonly type: "other"; readonly eventType: string; readonly eventData: JsonValue };

const ENTITY_ID = /^[a-z0-9_]+\.[a-z0-9_]+$/;

export function parseEventstream(payload: JsonValue): Parsed<EventstreamMessage> {
  if (!isObject(payload)) return invalid("eventstream message is not a JSON object");
  const eventType = payload.event_type;
  if (typeof eventType !== "string" || eventType === "") return invalid("event_type is missing");
  const eventData = payload.event_data ?? {};
  if (eventType !== "state_changed") return { ok: true, value: { type: "other", eventType, eventData } };
  if (!isObject(eventData)) return invalid("state_changed event_data is not an object");
  const entityId = eventData.entity_id;
  if (typeof entityId !== "string" || !ENTITY_ID.test(entityId))
    return invalid("state_changed has no valid entity_id");
  const rawNew = eventData.new_state;
  if (rawNew === null || rawNew === undefined)
    return { ok: true, value: { type: "state_changed", entityId, newState: null } };
  const newState = parseState(rawNew, entityId);
  if (newState === undefined) return invalid(`new_state of ${entityId} is not a state object`);
  return { ok: true, value: { type: "state_changed", entityId, newState } };
}

function parseState(value: JsonValue, entityId: string): HaStateObject | undefined {
  if (!isObject(value) || typeof value.state !== "string") return undefined;
  if (value.entity_id !== undefined && value.entity_id !== entityId) return undefined;
  const attributes: Attributes = isObject(value.attributes) ? { ...value.attributes } : {};
  const context = value.context;
  return {
    entity_id: entityId,
    state: value.state,
    attributes,
    ...(typeof value.last_changed === "string" ? { last_changed: value.last_changed } : {}),
    ...(typeof value.last_updated === "string" ? { last_updated: value.last_updated } : {}),
    ...(isObject(context) && typeof context.id === "string"
      ? {
          context: {
            id: context.id,
            parent_id: typeof context.parent_id === "string" ? context.parent_id : null,
            user_id: typeof context.user_id === "string" ? context.user_id : null,
          },
        }
      : {}),
  };
}

function invalid(detail: string): Parsed<never> {
  return { ok: false, reason: "invalid_payload", detail };
}
