import {
  type BridgeEvent,
  type EntityStateChangedData,
  EventKind,
  type JsonValue,
} from "../../core/events.js";
import type { HomeDirectory } from "../../core/home.js";
import { EncodedEvent, type EventEncoder } from "../../core/hub/encoded-event.js";
import { eventRoom } from "../../core/hub/subscription-index.js";
import { sanitizeAttributes } from "../auth/sanitize.js";
import type { OutboundMessage } from "../outbound-queue.js";
import { predictionWithTimeUntil } from "../pma/encoder.js";

export type OccupancyMessageType =
  | "prediction_update"
  | "system_status_update"
  | "alert_notification"
  | "drift_notification"
  | "room_state_update";

/** The occupancy message an event becomes, or null when the dialect has none for it. */
export function occupancyMessageType(event: BridgeEvent): OccupancyMessageType | null {
  switch (event.kind) {
    case EventKind.PredictionUpdate:
      return "prediction_update";
    case EventKind.SystemStatus:
      return "system_status_update";
    case EventKind.Alert:
      return "alert_notification";
    case EventKind.Drift:
      return "drift_notification";
    case EventKind.EntityStateChanged:
      return eventRoom(event) === null ? null : "room_state_update";
    default:
      return null;
  }
}

/**
 * The message id of an event on one endpoint: unique per event and endpoint, and the same every time it is
 * (re)delivered, so an acknowledgement names exactly one message.
 */
export function occupancyMessageId(event: BridgeEvent, endpoint: string): string {
  return `${event.epoch}:${event.seq}:${endpoint}`;
}

/** Under congestion a newer state of the same entity (or prediction of the same room) replaces the older. */
function conflationKey(event: BridgeEvent, view: string): string | null {
  switch (event.kind) {
    case EventKind.EntityStateChanged:
      return `state:${event.data.entity_id}:${view}`;
    case EventKind.PredictionUpdate:
      return `prediction:${event.data.room_id}:${view}`;
    default:
      return null;
  }
}

/** Binary sensors whose `on` means someone is in the room. */
const OCCUPANCY_CLASSES: ReadonlySet<JsonValue> = new Set(["occupancy", "motion", "presence"]);

// A room's member list is replaced whenever the home's structure changes, so it can key the filtered list.
const NO_MEMBERS: readonly string[] = [];
const binarySensorsOf = new WeakMap<readonly string[], readonly string[]>();

/** The binary sensors among a room's entities (computed once per member list, not per event). */
function binarySensors(members: readonly string[]): readonly string[] {
  let sensors = binarySensorsOf.get(members);
  if (sensors === undefined) {
    sensors = members.filter((id) => id.startsWith("binary_sensor."));
    binarySensorsOf.set(members, sensors);
  }
  return sensors;
}

export interface RoomOccupancy {
  /** True when any sensor is `on`, false when all sensors that know are `off`, null when none knows. */
  readonly occupied: boolean | null;
  /** The room's occupancy/motion/presence binary sensors in the room's order; the changed one last if new. */
  readonly sensors: { readonly entity_id: string; readonly state: string | null }[];
}

/**
 * The room's occupancy as its occupancy/motion/presence binary sensors say, with the changed entity's new
 * state taking precedence over the directory (which may not have caught up yet). Null when the room has none.
 * Runs once per room state change, so it builds nothing but its result.
 */
export function deriveOccupancy(
  home: HomeDirectory | undefined,
  roomId: string,
  change: EntityStateChangedData,
): RoomOccupancy {
  const changeCounts =
    change.entity_type === "binary_sensor" && OCCUPANCY_CLASSES.has(change.attributes.device_class ?? null);
  const sensors: { entity_id: string; state: string | null }[] = [];
  let changeListed = false;
  let on = false;
  let known = false;
  const add = (entityId: string, state: string | null): void => {
    sensors.push({ entity_id: entityId, state });
    if (state === "on") on = known = true;
    else if (state === "off") known = true;
  };
  for (const id of binarySensors(home?.roomEntityIds(roomId) ?? NO_MEMBERS)) {
    if (changeCounts && id === change.entity_id) {
      add(id, change.new_state);
      changeListed = true;
      continue;
    }
    const entity = home?.entity(id);
    if (entity !== undefined && OCCUPANCY_CLASSES.has(entity.attributes.device_class ?? null)) {
      add(entity.id, entity.state);
    }
  }
  if (changeCounts && !changeListed) add(change.entity_id, change.new_state);
  return { occupied: known ? on : null, sensors };
}

/**
 * Encodes an event for the occupancy dialect. The `data` part is serialized once per event; each endpoint
 * label (view) gets its own small envelope around it, rendered once and shared by all its recipients.
 */
export class OccupancyEncoder implements EventEncoder<OutboundMessage> {
  readonly dialect = "occupancy";

  constructor(
    private readonly countRender: (dialect: string) => void,
    private readonly home: HomeDirectory | undefined,
    private readonly ackTypes: ReadonlySet<string>,
    private readonly now: () => number = Date.now,
  ) {}

  requiresAck(type: string): boolean {
    return this.ackTypes.has(type);
  }

  encode(event: BridgeEvent): EncodedEvent<OutboundMessage> | null {
    const type = occupancyMessageType(event);
    if (type === null) return null;
    let dataJson: string | undefined;
    const requiresAck = this.requiresAck(type);
    const typeAndTime = `"message_type":${JSON.stringify(type)},"timestamp":${JSON.stringify(event.time)}`;
    const roomAndAck = `"room_id":${JSON.stringify(eventRoom(event))},"requires_ack":${requiresAck}`;
    return new EncodedEvent(
      event,
      (view) => {
        dataJson ??= JSON.stringify(this.data(event));
        const frame = Buffer.from(
          `{"message_id":${JSON.stringify(occupancyMessageId(event, view))},${typeAndTime},"endpoint":${JSON.stringify(view)},${roomAndAck},"data":${dataJson},"seq":${event.seq}}`,
        );
        return {
          frame,
          seq: event.seq,
          conflationKey: conflationKey(event, view),
          requiresAck,
          shared: true,
        };
      },
      () => this.countRender(this.dialect),
    );
  }

  private data(event: BridgeEvent): unknown {
    switch (event.kind) {
      case EventKind.PredictionUpdate:
        return predictionWithTimeUntil(event.data, this.now());
      case EventKind.SystemStatus:
        return { system_health: event.data.status, ...event.data.details, status: event.data.status };
      case EventKind.EntityStateChanged: {
        const roomId = eventRoom(event) ?? "";
        return {
          room_id: roomId,
          room_name: this.home?.room(roomId)?.name ?? roomId,
          entity_id: event.data.entity_id,
          entity_type: event.data.entity_type,
          old_state: event.data.old_state,
          new_state: event.data.new_state,
          attributes: sanitizeAttributes(event.data.entity_type, event.data.attributes),
          changed_attributes: event.data.changed_attributes,
          last_changed: event.data.last_changed,
          occupancy: deriveOccupancy(this.home, roomId, event.data),
        };
      }
      default:
        return event.data;
    }
  }
}
