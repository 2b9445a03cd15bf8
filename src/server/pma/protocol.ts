import { isRecord } from "../../config/schema.js";
import {
  acknowledgedMessageId,
  ENTITY_ID,
  MAX_ECHO_CHARS,
  optionalString,
  optionalStringArray,
  ProtocolError,
  ROOM_ID,
  readEnvelope,
  stringList,
} from "../validation.js";

/** HA event type names (and bridge kinds) a client may subscribe to. */
const EVENT_TYPE = /^[A-Za-z0-9_.:-]{1,100}$/;

export interface EventFilters {
  readonly domains?: readonly string[];
  readonly rooms?: readonly string[];
  readonly entity_types?: readonly string[];
  readonly sources?: readonly string[];
}

export type SubscriptionCommandType =
  | "subscribe_ha_events"
  | "unsubscribe_ha_events"
  | "subscribe_ha_entities"
  | "unsubscribe_ha_entities"
  | "subscribe_ha_rooms"
  | "unsubscribe_ha_rooms"
  | "subscribe_room"
  | "unsubscribe_room";

/** Every message a PMA client may send, validated. */
export type PmaCommand =
  | { readonly type: "authenticate"; readonly token: string }
  | { readonly type: "ping"; readonly timestamp: string | null }
  | {
      readonly type: "subscribe_ha_events" | "unsubscribe_ha_events";
      readonly eventTypes: readonly string[];
      readonly filters: EventFilters | null;
    }
  | {
      readonly type: "subscribe_ha_entities" | "unsubscribe_ha_entities";
      readonly entityIds: readonly string[];
    }
  | { readonly type: "subscribe_ha_rooms" | "unsubscribe_ha_rooms"; readonly roomIds: readonly string[] }
  | { readonly type: "subscribe_room" | "unsubscribe_room"; readonly roomId: string }
  | { readonly type: "acknowledge"; readonly messageId: string }
  /** `data` is checked by the shared resume parser (`core/delivery/resume.ts`), the same for both dialects. */
  | { readonly type: "resume"; readonly data: Record<string, unknown> };

/** A rejected command, with the command type when it was recognised (subscriptions answer with `subscription_error`). */
export class PmaCommandError extends ProtocolError {
  constructor(
    readonly command: string | null,
    cause: ProtocolError,
  ) {
    super(cause.code, cause.message, cause.details === undefined ? undefined : { ...cause.details });
  }
}

export function isSubscriptionCommand(type: string | null): type is SubscriptionCommandType {
  return type !== null && /^(un)?subscribe_(ha_events|ha_entities|ha_rooms|room)$/.test(type);
}

/** Message types that the rate limit does not count. */
export function isExemptPmaMessage(input: unknown): boolean {
  return isRecord(input) && (input.type === "ping" || input.type === "acknowledge");
}

export function parsePmaMessage(input: unknown): PmaCommand {
  let type: string | null = null;
  try {
    const envelope = readEnvelope(input);
    type = envelope.type;
    return parseCommand(envelope.type, envelope.data);
  } catch (error) {
    if (error instanceof ProtocolError) throw new PmaCommandError(type, error);
    throw error;
  }
}

function parseCommand(type: string, data: Record<string, unknown>): PmaCommand {
  switch (type) {
    case "authenticate": {
      const token = optionalString(data, "token");
      if (token === undefined || token === "")
        throw new ProtocolError("INVALID_MESSAGE_FORMAT", "`token` is required");
      return { type, token };
    }
    case "ping": {
      const timestamp = data.timestamp;
      return {
        type,
        timestamp:
          typeof timestamp === "string" || typeof timestamp === "number"
            ? String(timestamp).slice(0, MAX_ECHO_CHARS)
            : null,
      };
    }
    case "subscribe_ha_events":
    case "unsubscribe_ha_events":
      return {
        type,
        eventTypes: stringList(data, "event_types", EVENT_TYPE, "INVALID_EVENT_TYPE"),
        filters: type === "subscribe_ha_events" ? parseFilters(data.filters) : null,
      };
    case "subscribe_ha_entities":
    case "unsubscribe_ha_entities":
      return { type, entityIds: stringList(data, "entity_ids", ENTITY_ID, "INVALID_ENTITY_ID") };
    case "subscribe_ha_rooms":
    case "unsubscribe_ha_rooms":
      return { type, roomIds: stringList(data, "room_ids", ROOM_ID, "INVALID_ROOM_ID") };
    case "subscribe_room":
    case "unsubscribe_room":
      return { type, roomId: legacyRoomId(data.room_id) };
    case "acknowledge":
      return { type, messageId: acknowledgedMessageId(data) };
    case "resume":
      return { type, data };
    default:
      throw new ProtocolError(
        "UNKNOWN_MESSAGE_TYPE",
        `unknown message type ${JSON.stringify(type.slice(0, 100))}`,
      );
  }
}

/** The legacy PMA room id is an integer; it is matched as its decimal string. A string id is accepted as is. */
function legacyRoomId(value: unknown): string {
  if (typeof value === "number" && Number.isSafeInteger(value) && value >= 0) return String(value);
  if (typeof value === "string" && ROOM_ID.test(value)) return value;
  throw new ProtocolError("INVALID_ROOM_ID", "`room_id` must be a non-negative integer or a room id", {
    room_id: typeof value === "string" ? value.slice(0, 100) : String(value),
  });
}

function parseFilters(value: unknown): EventFilters | null {
  if (value === undefined || value === null) return null;
  if (!isRecord(value)) throw new ProtocolError("INVALID_MESSAGE_FORMAT", "`filters` must be an object");
  const filters: Record<string, readonly string[]> = {};
  for (const field of ["domains", "rooms", "entity_types", "sources"] as const) {
    const list = optionalStringArray(value, field);
    if (list !== undefined && list.length > 0) filters[field] = list;
  }
  return Object.keys(filters).length === 0 ? null : filters;
}
