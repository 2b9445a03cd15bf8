import { isRecord } from "../../config/schema.js";
import {
  acknowledgedMessageId,
  MAX_ECHO_CHARS,
  optionalString,
  optionalStringArray,
  ProtocolError,
  ROOM_ID,
  readEnvelope,
} from "../validation.js";

export type EndpointKind = "predictions" | "system-status" | "alerts" | "room";

/** An occupancy endpoint: one of the three fixed ones (optionally narrowed to a room) or a room's own. */
export interface Endpoint {
  readonly kind: EndpointKind;
  readonly room: string | null;
}

const FIXED: Readonly<Record<string, EndpointKind>> = {
  "/ws/predictions": "predictions",
  "/ws/system-status": "system-status",
  "/ws/alerts": "alerts",
};

/** `/ws/predictions` … `/ws/room/{room_id}` → endpoint; null for anything else. */
export function parseEndpointPath(path: string): Endpoint | null {
  const fixed = FIXED[path];
  if (fixed !== undefined) return { kind: fixed, room: null };
  const match = /^\/ws\/room\/([^/]+)$/.exec(path);
  if (match === null) return null;
  let room: string;
  try {
    room = decodeURIComponent(match[1] ?? "");
  } catch {
    return null;
  }
  return ROOM_ID.test(room) ? { kind: "room", room } : null;
}

/** The wire label of an endpoint (`endpoint` in every envelope). */
export function endpointPath(endpoint: Endpoint): string {
  return endpoint.kind === "room" ? `/ws/room/${endpoint.room}` : `/ws/${endpoint.kind}`;
}

/** Key of a subscription: endpoint plus narrowing room. */
export function endpointKey(endpoint: Endpoint): string {
  return endpoint.kind === "room" || endpoint.room === null
    ? endpointPath(endpoint)
    : `${endpointPath(endpoint)}#${endpoint.room}`;
}

/** Every message an occupancy client may send, validated. */
export type OccupancyCommand =
  | {
      readonly type: "authentication";
      readonly apiKey: string | undefined;
      readonly token: string | undefined;
      readonly clientName: string | undefined;
      readonly capabilities: readonly string[] | undefined;
      readonly roomFilters: readonly string[] | undefined;
    }
  | { readonly type: "subscribe" | "unsubscribe"; readonly endpoint: Endpoint }
  | { readonly type: "heartbeat"; readonly clientTime: string | null }
  | { readonly type: "acknowledge"; readonly messageId: string }
  /** `data` is checked by the shared resume parser (`core/delivery/resume.ts`), the same for both dialects. */
  | { readonly type: "resume"; readonly data: Record<string, unknown> };

/** Heartbeats and acknowledgements are not counted by the rate limit. */
export function isExemptOccupancyMessage(input: unknown): boolean {
  return isRecord(input) && (input.type === "heartbeat" || input.type === "acknowledge");
}

export function parseOccupancyMessage(input: unknown): OccupancyCommand {
  const { type, data } = readEnvelope(input);
  switch (type) {
    case "authentication": {
      const apiKey = optionalString(data, "api_key");
      const token = optionalString(data, "token");
      if (!apiKey && !token)
        throw new ProtocolError("INVALID_MESSAGE_FORMAT", "`api_key` or `token` is required");
      const roomFilters = optionalStringArray(data, "room_filters");
      if (roomFilters?.some((room) => !ROOM_ID.test(room)) === true) {
        throw new ProtocolError("INVALID_ROOM_ID", "`room_filters` holds an invalid room id");
      }
      return {
        type,
        apiKey: apiKey || undefined,
        token: token || undefined,
        clientName: optionalString(data, "client_name", 100),
        capabilities: optionalStringArray(data, "capabilities"),
        roomFilters,
      };
    }
    case "subscribe":
    case "unsubscribe":
      return { type, endpoint: parseSubscriptionEndpoint(data) };
    case "heartbeat": {
      const clientTime = data.client_time;
      return {
        type,
        clientTime: typeof clientTime === "string" ? clientTime.slice(0, MAX_ECHO_CHARS) : null,
      };
    }
    case "acknowledge":
      return { type, messageId: acknowledgedMessageId(data) };
    case "resume":
      return { type, data };
    default:
      throw new ProtocolError(
        "UNKNOWN_MESSAGE_TYPE",
        `unsupported message type ${JSON.stringify(type.slice(0, 100))}`,
      );
  }
}

function parseSubscriptionEndpoint(data: Record<string, unknown>): Endpoint {
  const path = optionalString(data, "endpoint", 200);
  if (path === undefined) throw new ProtocolError("INVALID_MESSAGE_FORMAT", "`endpoint` is required");
  const endpoint = parseEndpointPath(path);
  if (endpoint === null)
    throw new ProtocolError("UNKNOWN_ENDPOINT", `unknown endpoint ${JSON.stringify(path)}`);
  const roomId = optionalString(data, "room_id", 200);
  if (roomId === undefined) return endpoint;
  if (!ROOM_ID.test(roomId)) throw new ProtocolError("INVALID_ROOM_ID", "`room_id` is not a valid room id");
  if (endpoint.kind === "room" && endpoint.room !== roomId) {
    throw new ProtocolError("INVALID_ROOM_ID", "`room_id` differs from the room in `endpoint`");
  }
  return { kind: endpoint.kind, room: roomId };
}
