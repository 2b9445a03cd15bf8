/**
 * The bridge's internal vocabulary: every source turns what it reads into `BridgeEvent`s, the hub numbers
 * them, and each dialect encodes them for its clients. This module has no imports on purpose, so clients
 * and every layer can depend on it.
 */

export enum EventKind {
  EntityStateChanged = "entity_state_changed",
  EntityAdded = "entity_added",
  EntityRemoved = "entity_removed",
  EntityUpdated = "entity_updated",
  RoomAdded = "room_added",
  RoomUpdated = "room_updated",
  RoomRemoved = "room_removed",
  AreaUpdated = "area_updated",
  AutomationTriggered = "automation_triggered",
  SceneActivated = "scene_activated",
  PredictionUpdate = "prediction_update",
  Alert = "alert",
  Drift = "drift",
  SystemStatus = "system_status",
  SyncStatus = "sync_status",
  AdapterStatus = "adapter_status",
  ConnectionStatus = "connection_status",
  SourceEvent = "source_event",
}

export type EventSourceName = "homeassistant" | "mqtt" | "bridge";

export type JsonValue =
  | string
  | number
  | boolean
  | null
  | readonly JsonValue[]
  | { readonly [key: string]: JsonValue };
export type Attributes = Record<string, JsonValue>;

/** A Home Assistant entity as the bridge describes it to clients (`pma_entity_added` and snapshots). */
export interface EntityInfo {
  /** The HA entity id, `domain.object_id`. */
  readonly id: string;
  readonly name: string;
  /** The HA domain (`light`, `sensor`, …). */
  readonly type: string;
  readonly source: EventSourceName;
  /** The raw HA state string; null for registry-only (e.g. disabled) entities. */
  readonly state: string | null;
  readonly attributes: Attributes;
  readonly device_id: string | null;
  readonly disabled: boolean;
  readonly last_changed: string | null;
  readonly last_updated: string | null;
}

export interface RoomInfo {
  /** The HA area id. */
  readonly id: string;
  readonly name: string;
  /** The HA floor id this area is on (PMA calls it the area). */
  readonly area: string | null;
  readonly entity_count: number;
}

export interface FloorInfo {
  /** The HA floor id. */
  readonly id: string;
  readonly name: string;
  readonly level: number | null;
  readonly room_ids: readonly string[];
}

export interface EntityStateChangedData {
  readonly entity_id: string;
  readonly entity_type: string;
  readonly source: EventSourceName;
  readonly old_state: string | null;
  readonly new_state: string | null;
  readonly attributes: Attributes;
  /** Attribute keys whose values changed (added, changed or removed) in this change. */
  readonly changed_attributes: readonly string[];
  readonly room_id: string | null;
  readonly area_id: string | null;
  readonly last_changed: string | null;
  readonly last_updated: string | null;
  /** HA user that caused the change, when HA says. */
  readonly user_id: string | null;
}

export interface EntityAddedData {
  readonly entity: EntityInfo;
  readonly room_id: string | null;
  readonly area_id: string | null;
}

export interface EntityRemovedData {
  readonly entity_id: string;
  readonly source: EventSourceName;
  readonly room_id: string | null;
  readonly area_id: string | null;
}

export interface EntityUpdatedData {
  readonly entity: EntityInfo;
  /** Set when the entity was renamed. */
  readonly old_entity_id: string | null;
  /** Which registry facets changed: `entity_id`, `name`, `room`, `disabled`, `device`, … */
  readonly changes: readonly string[];
  readonly room_id: string | null;
  readonly area_id: string | null;
  readonly old_room_id: string | null;
}

export type RoomAction = "added" | "updated" | "removed";

export interface RoomChangedData {
  readonly room: RoomInfo;
  readonly action: RoomAction;
  readonly source: EventSourceName;
}

export interface AreaUpdatedData {
  readonly area: FloorInfo;
  readonly action: RoomAction;
  readonly source: EventSourceName;
}

export interface AutomationTriggeredData {
  /** The automation's entity id, e.g. `automation.morning_routine`. */
  readonly rule_id: string;
  readonly rule_name: string;
  readonly trigger: { readonly type: string; readonly value: string | null };
  /** HA does not report executed actions over the WebSocket API; null when unknown. */
  readonly actions_executed: number | null;
  readonly success: boolean;
  readonly source: EventSourceName;
}

export interface SceneActivatedData {
  readonly scene_id: string;
  readonly scene_name: string;
  readonly source: EventSourceName;
  readonly user_id: string | null;
}

export type TargetState = "occupied" | "vacant";

export interface PredictionAlternative {
  readonly predicted_time: string;
  readonly confidence: number;
}

/**
 * A room prediction as the occupancy dialect sends it. `time_until_*` are NOT stored: dialects recompute
 * them from `predicted_time` when they send.
 */
export interface PredictionData {
  readonly room_id: string;
  readonly room_name: string;
  /** The predictor's own room id, before mapping onto a HA area. */
  readonly predictor_room_id: string;
  readonly predicted_time: string;
  readonly transition_type: TargetState;
  /** As the predictor sent it, e.g. `vacant_to_occupied`. */
  readonly raw_transition_type: string;
  readonly confidence_score: number;
  readonly current_state: TargetState | null;
  readonly model_type: string;
  readonly model_version: string;
  readonly alternatives: readonly PredictionAlternative[];
  readonly features_used: number | null;
  readonly prediction_made_at: string | null;
  readonly prediction_metadata: {
    readonly certainty_level: string | null;
    readonly [key: string]: JsonValue;
  };
}

export type AlertSeverity = "info" | "warning" | "error" | "critical";

export interface AlertData {
  readonly alert_id: string;
  readonly alert_type: string;
  readonly severity: AlertSeverity;
  readonly title: string;
  readonly message: string;
  readonly room_id: string | null;
  readonly component: string;
  readonly resolved: boolean;
  readonly created_at: string;
  readonly recommended_action: string | null;
  readonly [key: string]: JsonValue;
}

export interface DriftData {
  readonly drift_id: string;
  readonly room_id: string | null;
  readonly severity: AlertSeverity;
  readonly message: string;
  readonly created_at: string;
  readonly [key: string]: JsonValue;
}

export type SystemHealth = "healthy" | "degraded" | "offline";

export interface SystemStatusData {
  readonly status: SystemHealth;
  readonly details: { readonly [key: string]: JsonValue };
}

export type SyncState = "syncing" | "completed" | "completed_with_errors" | "error";

export interface SyncStatusData {
  readonly source: EventSourceName;
  readonly status: SyncState;
  readonly message: string;
  readonly entity_count: number;
  readonly room_count: number;
  readonly progress: number;
  readonly error_count: number;
}

export type AdapterState = "connecting" | "connected" | "disconnected" | "error";

export interface AdapterStatusData {
  readonly adapter_id: string;
  readonly adapter_name: string;
  readonly source: EventSourceName;
  readonly status: AdapterState;
  readonly health: {
    readonly is_healthy: boolean;
    readonly issues: readonly string[];
    readonly last_sync: string | null;
    readonly [key: string]: JsonValue;
  };
}

export type ConnectionState = "connected" | "disconnected" | "reconnecting";

export interface ConnectionStatusData {
  readonly source: EventSourceName;
  readonly status: ConnectionState;
  readonly message: string;
  readonly attempt: number;
}

export interface SourceEventData {
  readonly source: EventSourceName;
  readonly event_type: string;
  readonly event_data: JsonValue;
}

/** Maps each kind to its payload: the single place that says what an event of a kind carries. */
export interface EventDataByKind {
  [EventKind.EntityStateChanged]: EntityStateChangedData;
  [EventKind.EntityAdded]: EntityAddedData;
  [EventKind.EntityRemoved]: EntityRemovedData;
  [EventKind.EntityUpdated]: EntityUpdatedData;
  [EventKind.RoomAdded]: RoomChangedData;
  [EventKind.RoomUpdated]: RoomChangedData;
  [EventKind.RoomRemoved]: RoomChangedData;
  [EventKind.AreaUpdated]: AreaUpdatedData;
  [EventKind.AutomationTriggered]: AutomationTriggeredData;
  [EventKind.SceneActivated]: SceneActivatedData;
  [EventKind.PredictionUpdate]: PredictionData;
  [EventKind.Alert]: AlertData;
  [EventKind.Drift]: DriftData;
  [EventKind.SystemStatus]: SystemStatusData;
  [EventKind.SyncStatus]: SyncStatusData;
  [EventKind.AdapterStatus]: AdapterStatusData;
  [EventKind.ConnectionStatus]: ConnectionStatusData;
  [EventKind.SourceEvent]: SourceEventData;
}

/** What a source produces: everything but the numbering, which the hub assigns. */
export type NewBridgeEvent<K extends EventKind = EventKind> = {
  [P in K]: {
    readonly kind: P;
    /** ISO-8601 UTC with `Z`: when the bridge observed the event (or the upstream's own time, if given). */
    readonly time: string;
    readonly source: EventSourceName;
    readonly entity_id?: string;
    readonly domain?: string;
    readonly room_id?: string | null;
    readonly area_id?: string | null;
    /** The HA event type that caused this (`state_changed`, `call_service`, …), used for subscriptions. */
    readonly ha_event_type?: string;
    /** Critical events need an acknowledgement from clients that support it. */
    readonly critical: boolean;
    readonly data: EventDataByKind[P];
  };
}[K];

/** A numbered event. `seq` increases strictly within one `epoch`; a new epoch means history was lost. */
export type BridgeEvent<K extends EventKind = EventKind> = NewBridgeEvent<K> & {
  readonly seq: number;
  readonly epoch: string;
};

/** Where sources hand their events. The hub implements it. */
export interface EventSink {
  publish(event: NewBridgeEvent): void;
}
