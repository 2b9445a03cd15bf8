import type { AlertData, DriftData, JsonValue } from "../core/events.js";
import {
  type PredictionUpdateData,
  parseSnapshotData,
  type RateLimitWarningData,
  RESUME_STATUS_SPEC,
  type ResumeStatusData,
  SNAPSHOT_SPEC,
  type SnapshotData,
} from "./pma-protocol.js";
import { type FieldSpec, fieldProblem, isRecord, type ParseRejection, type ParseResult } from "./validate.js";

/**
 * The occupancy dialect (paths `/ws/predictions`, `/ws/system-status`, `/ws/alerts`, `/ws/room/{room_id}`),
 * the seed 002 system's protocol as the bridge serves it.
 */

export type OccupancyEndpoint = "/ws/predictions" | "/ws/system-status" | "/ws/alerts" | `/ws/room/${string}`;

export interface ConnectionData {
  readonly client_id: string;
  readonly server_version: string;
  readonly api_version: string;
  readonly endpoint: string;
  readonly authentication_required: boolean;
  readonly [key: string]: JsonValue;
}

export interface AuthenticationData {
  readonly success: boolean;
  readonly message: string;
  readonly subject?: string;
  readonly client_name?: string;
  readonly capabilities: readonly string[];
  readonly room_filters: readonly string[];
}

export interface SubscriptionStatusData {
  readonly action: "subscribe" | "unsubscribe";
  readonly success: boolean;
  readonly endpoint: string;
  readonly room_id: string | null;
  readonly message: string;
}

export interface SystemStatusUpdateData {
  readonly [key: string]: JsonValue;
}

/** Home Assistant changes in one room, with the occupancy the bridge derives from its sensors. */
export interface RoomStateUpdateData {
  readonly room_id: string;
  readonly [key: string]: JsonValue;
}

export interface HeartbeatData {
  readonly server_time: string;
  readonly connection_uptime: number;
}

export interface OccupancyErrorData {
  readonly error: string;
  readonly error_code: string;
  readonly timestamp: string;
  /** The detailed code of validation and authentication errors, e.g. `UNKNOWN_MESSAGE_ID`. */
  readonly reason?: string;
}

export interface OccupancyDataByType {
  connection: ConnectionData;
  authentication: AuthenticationData;
  subscription_status: SubscriptionStatusData;
  prediction_update: PredictionUpdateData;
  system_status_update: SystemStatusUpdateData;
  alert_notification: AlertData;
  drift_notification: DriftData;
  room_state_update: RoomStateUpdateData;
  heartbeat: HeartbeatData;
  error: OccupancyErrorData;
  rate_limit_warning: RateLimitWarningData;
  resume_status: ResumeStatusData;
  /** Its events are the messages this connection's endpoints would have sent live (`room_state_update`, …). */
  snapshot: SnapshotData<OccupancyMessage>;
}

export type OccupancyMessageType = keyof OccupancyDataByType;

/** One frame from the bridge; `requires_ack` ones must be acknowledged by `message_id`. */
export type OccupancyMessage<T extends OccupancyMessageType = OccupancyMessageType> = {
  [P in T]: {
    readonly message_id: string;
    readonly message_type: P;
    readonly timestamp: string;
    readonly endpoint: string | null;
    readonly room_id: string | null;
    readonly requires_ack: boolean;
    readonly data: OccupancyDataByType[P];
    readonly seq: number | null;
  };
}[T];

/** Every message a client may send. */
export type OccupancyClientMessage =
  | {
      readonly type: "authentication";
      readonly data: {
        readonly api_key?: string;
        readonly token?: string;
        readonly client_name: string;
        readonly capabilities: readonly string[];
        readonly room_filters: readonly string[];
      };
    }
  | {
      readonly type: "subscribe" | "unsubscribe";
      readonly data: {
        readonly endpoint: string;
        readonly room_id: string | null;
        readonly filters?: Record<string, JsonValue>;
      };
    }
  | { readonly type: "heartbeat"; readonly data: { readonly client_time: string } }
  | { readonly type: "acknowledge"; readonly data: { readonly message_id: string } }
  | { readonly type: "resume"; readonly data: { readonly last_seq: number; readonly epoch: string | null } };

const SPECS: { readonly [T in OccupancyMessageType]: FieldSpec } = {
  connection: { client_id: "string", api_version: "string", authentication_required: "boolean" },
  authentication: { success: "boolean", message: "string" },
  subscription_status: { action: "string", success: "boolean", endpoint: "string" },
  prediction_update: {
    room_id: "string",
    predicted_time: "string",
    transition_type: "string",
    confidence_score: "number",
  },
  system_status_update: {},
  alert_notification: { alert_id: "string", severity: "string", message: "string" },
  drift_notification: { message: "string" },
  room_state_update: { room_id: "string" },
  heartbeat: { server_time: "string" },
  error: { error: "string", error_code: "string" },
  rate_limit_warning: { message: "string", max_messages_per_minute: "number" },
  resume_status: RESUME_STATUS_SPEC,
  snapshot: SNAPSHOT_SPEC,
};

export function isOccupancyMessageType(type: string): type is OccupancyMessageType {
  return Object.hasOwn(SPECS, type);
}

const nullableString = (value: unknown): value is string | null | undefined =>
  value === undefined || value === null || typeof value === "string";

/** The one parser of occupancy frames: validates an untrusted value into a typed message, or says what is wrong. */
export function parseOccupancyMessage(raw: unknown): ParseResult<OccupancyMessage> {
  if (!isRecord(raw)) return { ok: false, error: "frame is not a JSON object", raw };
  const { message_id, message_type, timestamp, endpoint, room_id, requires_ack, data, seq } = raw;
  if (typeof message_type !== "string") return { ok: false, error: "message_type must be a string", raw };
  if (!isOccupancyMessageType(message_type)) {
    return { ok: false, error: `unknown message type ${JSON.stringify(message_type)}`, raw };
  }
  if (!isRecord(data)) return { ok: false, error: "data must be an object", raw };
  if (typeof message_id !== "string") return { ok: false, error: "message_id must be a string", raw };
  if (typeof timestamp !== "string") return { ok: false, error: "timestamp must be a string", raw };
  if (!nullableString(endpoint) || !nullableString(room_id)) {
    return { ok: false, error: "endpoint and room_id must be strings or null", raw };
  }
  if (requires_ack !== undefined && typeof requires_ack !== "boolean") {
    return { ok: false, error: "requires_ack must be a boolean", raw };
  }
  if (seq !== undefined && seq !== null && typeof seq !== "number")
    return { ok: false, error: "seq must be a number", raw };
  const problem = fieldProblem(data, SPECS[message_type]);
  if (problem !== undefined) return { ok: false, error: `${message_type}: ${problem}`, raw };
  let payload: Record<string, unknown> | SnapshotData<OccupancyMessage> = data;
  let rejected: readonly ParseRejection[] | undefined;
  if (message_type === "snapshot") {
    const snapshot = parseSnapshotData(data, parseOccupancyMessage);
    if (!snapshot.ok) return { ok: false, error: snapshot.error, raw };
    payload = snapshot.data;
    rejected = snapshot.rejected;
  }
  const message = {
    message_id,
    message_type,
    timestamp,
    endpoint: endpoint ?? null,
    room_id: room_id ?? null,
    requires_ack: requires_ack ?? false,
    data: payload,
    seq: seq ?? null,
  };
  return { ok: true, message: message as OccupancyMessage, ...(rejected === undefined ? {} : { rejected }) };
}
