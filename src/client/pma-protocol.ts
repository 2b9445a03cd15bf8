import type {
  AdapterStatusData,
  AlertData,
  AreaUpdatedData,
  AutomationTriggeredData,
  ConnectionStatusData,
  DriftData,
  EntityAddedData,
  EntityRemovedData,
  EntityStateChangedData,
  EntityUpdatedData,
  JsonValue,
  PredictionData,
  RoomChangedData,
  SceneActivatedData,
  SourceEventData,
  SyncStatusData,
  SystemStatusData,
} from "../core/events.js";
import {
  type FieldSpec,
  fieldProblem,
  isRecord,
  type ParseRejection,
  type ParseResult,
  parseItems,
} from "./validate.js";

/** The PMA dialect (path `/ws`): what the bridge sends and what a client may send. */

export interface WelcomeData {
  readonly client_id: string;
  readonly server_time: string;
  readonly message: string;
  readonly features: readonly string[];
  readonly protocol_version: string;
  /** Changes when the bridge lost its history (a restart): `seq` values of another epoch do not compare. */
  readonly epoch: string;
  /** The bridge's latest `seq` when this connection opened. */
  readonly last_seq: number;
  readonly authentication_required: boolean;
}

export interface AuthenticationSuccessData {
  readonly client_id: string;
  readonly subject: string;
  readonly capabilities: readonly string[];
  readonly rooms: readonly string[];
}

export interface AuthenticationFailureData {
  readonly code: string;
  readonly message: string;
}

/** Which selector family a subscription message changes. */
export type SubscriptionType = "ha_events" | "ha_entities" | "ha_rooms" | "room";

export interface SubscriptionUpdateData {
  readonly action: "subscribed" | "unsubscribed";
  readonly type: SubscriptionType;
  readonly items: readonly string[];
  readonly total_subscriptions: number;
}

export interface SubscriptionErrorData {
  readonly action: string;
  readonly type: SubscriptionType;
  readonly error: string;
  readonly code: string;
  readonly [key: string]: JsonValue;
}

export interface PongData {
  readonly timestamp: string;
  readonly server_time: string;
}

export interface RateLimitWarningData {
  readonly message: string;
  readonly max_messages_per_minute: number;
  readonly current_count: number;
  /** When the whole budget is available again. */
  readonly reset_time: string;
}

export interface ErrorData {
  readonly code: string;
  readonly message: string;
  readonly details?: JsonValue;
}

/** A prediction as the bridge sends it: the stored one plus the time left, computed at send time (null if unreadable). */
export interface PredictionUpdateData extends PredictionData {
  readonly time_until_seconds: number | null;
  readonly time_until_human: string | null;
}

/** Why a resume was answered with the current state instead of the missed events. */
export type SnapshotReason = "gap_too_old" | "epoch_changed";

const SNAPSHOT_REASONS: ReadonlySet<string> = new Set<SnapshotReason>(["gap_too_old", "epoch_changed"]);

/** The end of a replay after a resume (both dialects); live messages follow. */
export interface ResumeStatusData {
  readonly result: "replayed";
  /** The `last_seq` the client resumed from. */
  readonly from_seq: number;
  /** The seq this connection is now current with: resume from here next time. */
  readonly last_seq: number;
  /** How many missed events were replayed (only those matching the subscriptions). */
  readonly replayed: number;
  readonly epoch: string;
}

/**
 * The current state, sent once instead of a replay when the bridge no longer has the missed events. Replace
 * what you know with `events`; live messages continue after `last_seq`.
 */
export interface SnapshotData<M> {
  readonly reason: SnapshotReason;
  readonly epoch: string;
  readonly last_seq: number;
  /** Each item exactly as its live message, all numbered `last_seq`, filtered by subscriptions and permissions. */
  readonly events: readonly M[];
}

/** Every message the bridge sends on `/ws`, by `type`. */
export interface PmaDataByType {
  welcome: WelcomeData;
  authentication_success: AuthenticationSuccessData;
  authentication_failure: AuthenticationFailureData;
  subscription_update: SubscriptionUpdateData;
  subscription_error: SubscriptionErrorData;
  pma_entity_state_changed: EntityStateChangedData;
  pma_entity_added: EntityAddedData;
  pma_entity_removed: EntityRemovedData;
  pma_entity_updated: EntityUpdatedData;
  pma_room_added: RoomChangedData;
  pma_room_updated: RoomChangedData;
  pma_room_removed: RoomChangedData;
  pma_area_updated: AreaUpdatedData;
  pma_automation_triggered: AutomationTriggeredData;
  pma_scene_activated: SceneActivatedData;
  prediction_update: PredictionUpdateData;
  alert: AlertData;
  drift: DriftData;
  system_status: SystemStatusData;
  sync_status: SyncStatusData;
  adapter_status: AdapterStatusData;
  connection_status: ConnectionStatusData;
  source_event: SourceEventData;
  rate_limit_warning: RateLimitWarningData;
  pong: PongData;
  error: ErrorData;
  resume_status: ResumeStatusData;
  snapshot: SnapshotData<PmaMessage>;
}

export type PmaMessageType = keyof PmaDataByType;

/** One frame from the bridge. `seq` numbers event messages (for resume); replies carry none. */
export type PmaMessage<T extends PmaMessageType = PmaMessageType> = {
  [P in T]: {
    readonly type: P;
    readonly data: PmaDataByType[P];
    readonly timestamp: string;
    readonly seq: number | null;
  };
}[T];

/** Event types a client can subscribe to with `subscribe_ha_events` (HA names plus the bridge's own kinds). */
export type PmaEventType =
  | "state_changed"
  | "automation_triggered"
  | "call_service"
  | "service_call"
  | "entity_registry_updated"
  | "device_registry_updated"
  | "area_registry_updated"
  | "floor_registry_updated"
  | "prediction_update"
  | "alert"
  | "drift"
  | "system_status"
  | "sync_status"
  | "adapter_status"
  | "connection_status"
  | "source_event";

export interface EventFilters {
  readonly domains?: readonly string[];
  readonly rooms?: readonly string[];
  readonly entity_types?: readonly string[];
  readonly sources?: readonly string[];
}

/** Every message a client may send on `/ws`. */
export type PmaClientMessage =
  | { readonly type: "authenticate"; readonly data: { readonly token: string } }
  | {
      readonly type: "subscribe_ha_events" | "unsubscribe_ha_events";
      readonly data: { readonly event_types: readonly string[]; readonly filters?: EventFilters };
    }
  | {
      readonly type: "subscribe_ha_entities" | "unsubscribe_ha_entities";
      readonly data: { readonly entity_ids: readonly string[] };
    }
  | {
      readonly type: "subscribe_ha_rooms" | "unsubscribe_ha_rooms";
      readonly data: { readonly room_ids: readonly string[] };
    }
  | {
      readonly type: "subscribe_room" | "unsubscribe_room";
      readonly data: { readonly room_id: string | number };
    }
  | { readonly type: "ping"; readonly data: { readonly timestamp: string } }
  | { readonly type: "resume"; readonly data: { readonly last_seq: number; readonly epoch: string | null } };

/** The fields of `resume_status` (both dialects). */
export const RESUME_STATUS_SPEC: FieldSpec = {
  result: "string",
  from_seq: "number",
  last_seq: "number",
  replayed: "number",
  epoch: "string",
};

/** A snapshot's own fields (both dialects); its `events` are checked one by one with the dialect's parser. */
export const SNAPSHOT_SPEC: FieldSpec = {
  reason: "string",
  epoch: "string",
  last_seq: "number",
  events: "array",
};

/**
 * Checks a snapshot's reason and parses its items. An item the parser rejects is left out and reported, so one
 * unknown item (a newer bridge) does not cost the client the rest of the state.
 */
export function parseSnapshotData<M>(
  data: Record<string, unknown>,
  parse: (raw: unknown) => ParseResult<M>,
): { ok: true; data: SnapshotData<M>; rejected: ParseRejection[] } | { ok: false; error: string } {
  const problem = fieldProblem(data, SNAPSHOT_SPEC);
  if (problem !== undefined) return { ok: false, error: `snapshot: ${problem}` };
  const { reason, events } = data;
  if (typeof reason !== "string" || !SNAPSHOT_REASONS.has(reason))
    return { ok: false, error: `snapshot: unknown reason ${JSON.stringify(reason)}` };
  const { items, rejected } = parseItems(events as unknown[], parse);
  // `epoch` and `last_seq` were checked by the spec above.
  return { ok: true, data: { ...(data as Omit<SnapshotData<M>, "events">), events: items }, rejected };
}

/** The fields each type's handlers rely on; the rest of the payload is passed through as the bridge sent it. */
const SPECS: { readonly [T in PmaMessageType]: FieldSpec } = {
  welcome: { client_id: "string", server_time: "string" },
  authentication_success: { client_id: "string", subject: "string", capabilities: "array", rooms: "array" },
  authentication_failure: { code: "string", message: "string" },
  subscription_update: { action: "string", type: "string", items: "array", total_subscriptions: "number" },
  subscription_error: { action: "string", error: "string", code: "string" },
  pma_entity_state_changed: {
    entity_id: "string",
    old_state: "string|null",
    new_state: "string|null",
    attributes: "object",
  },
  pma_entity_added: { entity: "object" },
  pma_entity_removed: { entity_id: "string" },
  pma_entity_updated: { entity: "object", changes: "array" },
  pma_room_added: { room: "object", action: "string" },
  pma_room_updated: { room: "object", action: "string" },
  pma_room_removed: { room: "object", action: "string" },
  pma_area_updated: { area: "object", action: "string" },
  pma_automation_triggered: { rule_id: "string", rule_name: "string", trigger: "object" },
  pma_scene_activated: { scene_id: "string" },
  prediction_update: {
    room_id: "string",
    predicted_time: "string",
    transition_type: "string",
    confidence_score: "number",
  },
  alert: { alert_id: "string", severity: "string", message: "string" },
  drift: { drift_id: "string", message: "string" },
  system_status: { status: "string" },
  sync_status: { source: "string", status: "string" },
  adapter_status: { adapter_id: "string", status: "string" },
  connection_status: { source: "string", status: "string" },
  source_event: { source: "string", event_type: "string" },
  rate_limit_warning: { message: "string", max_messages_per_minute: "number" },
  pong: {},
  error: { code: "string", message: "string" },
  resume_status: RESUME_STATUS_SPEC,
  snapshot: SNAPSHOT_SPEC,
};

export function isPmaMessageType(type: string): type is PmaMessageType {
  return Object.hasOwn(SPECS, type);
}

/** The one parser of PMA frames: validates an untrusted value into a typed message, or says what is wrong. */
export function parsePmaMessage(raw: unknown): ParseResult<PmaMessage> {
  if (!isRecord(raw)) return { ok: false, error: "frame is not a JSON object", raw };
  const { type, data, timestamp, seq } = raw;
  if (typeof type !== "string") return { ok: false, error: "type must be a string", raw };
  if (!isPmaMessageType(type))
    return { ok: false, error: `unknown message type ${JSON.stringify(type)}`, raw };
  if (!isRecord(data)) return { ok: false, error: "data must be an object", raw };
  if (typeof timestamp !== "string") return { ok: false, error: "timestamp must be a string", raw };
  if (seq !== undefined && seq !== null && typeof seq !== "number")
    return { ok: false, error: "seq must be a number", raw };
  const problem = fieldProblem(data, SPECS[type]);
  if (problem !== undefined) return { ok: false, error: `${type}: ${problem}`, raw };
  if (type === "snapshot") {
    const snapshot = parseSnapshotData(data, parsePmaMessage);
    if (!snapshot.ok) return { ok: false, error: snapshot.error, raw };
    const message: PmaMessage<"snapshot"> = { type, data: snapshot.data, timestamp, seq: seq ?? null };
    return { ok: true, message, rejected: snapshot.rejected };
  }
  return { ok: true, message: { type, data, timestamp, seq: seq ?? null } as PmaMessage };
}
