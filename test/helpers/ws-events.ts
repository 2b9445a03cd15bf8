import {
  type AlertData,
  type Attributes,
  EventKind,
  type EventSourceName,
  type NewBridgeEvent,
  type PredictionData,
} from "../../src/core/events.js";

const TIME = "2026-01-15T14:30:00.000Z";

/** Fixture events, as sources would publish them. */
export function stateChanged(
  entityId: string,
  newState: string,
  options: {
    room?: string | null;
    attributes?: Attributes;
    source?: EventSourceName;
    haEventType?: string;
  } = {},
): NewBridgeEvent<EventKind.EntityStateChanged> {
  const domain = entityId.split(".")[0] ?? "";
  const room = options.room === undefined ? null : options.room;
  return {
    kind: EventKind.EntityStateChanged,
    time: TIME,
    source: options.source ?? "homeassistant",
    entity_id: entityId,
    domain,
    room_id: room,
    area_id: room === null ? null : "ground_floor",
    ha_event_type: options.haEventType ?? "state_changed",
    critical: false,
    data: {
      entity_id: entityId,
      entity_type: domain,
      source: options.source ?? "homeassistant",
      old_state: "off",
      new_state: newState,
      attributes: options.attributes ?? {},
      changed_attributes: [],
      room_id: room,
      area_id: room === null ? null : "ground_floor",
      last_changed: TIME,
      last_updated: TIME,
      user_id: null,
    },
  };
}

export function prediction(
  roomId: string,
  predictedTime: string,
): NewBridgeEvent<EventKind.PredictionUpdate> {
  const data: PredictionData = {
    room_id: roomId,
    room_name: roomId.replace(/_/g, " "),
    predictor_room_id: roomId,
    predicted_time: predictedTime,
    transition_type: "occupied",
    raw_transition_type: "vacant_to_occupied",
    confidence_score: 0.87,
    current_state: "vacant",
    model_type: "ensemble",
    model_version: "1.0.0",
    alternatives: [],
    features_used: 25,
    prediction_made_at: TIME,
    prediction_metadata: { certainty_level: "high" },
  };
  return {
    kind: EventKind.PredictionUpdate,
    time: TIME,
    source: "mqtt",
    room_id: roomId,
    critical: false,
    data,
  };
}

export function alert(alertId: string, roomId: string | null): NewBridgeEvent<EventKind.Alert> {
  const data: AlertData = {
    alert_id: alertId,
    alert_type: "accuracy_degradation",
    severity: "warning",
    title: "Accuracy dropped",
    message: "Model accuracy has dropped below threshold",
    room_id: roomId,
    component: "predictor",
    resolved: false,
    created_at: TIME,
    recommended_action: "Model retraining recommended",
  };
  return { kind: EventKind.Alert, time: TIME, source: "mqtt", room_id: roomId, critical: true, data };
}

export function drift(driftId: string, roomId: string | null): NewBridgeEvent<EventKind.Drift> {
  return {
    kind: EventKind.Drift,
    time: TIME,
    source: "mqtt",
    room_id: roomId,
    critical: true,
    data: {
      drift_id: driftId,
      room_id: roomId,
      severity: "warning",
      message: "Concept drift detected",
      created_at: TIME,
    },
  };
}

export function systemStatus(
  status: "healthy" | "degraded" | "offline",
): NewBridgeEvent<EventKind.SystemStatus> {
  return {
    kind: EventKind.SystemStatus,
    time: TIME,
    source: "bridge",
    critical: false,
    data: { status, details: { connected_clients: 1 } },
  };
}

export function automationTriggered(ruleId: string): NewBridgeEvent<EventKind.AutomationTriggered> {
  return {
    kind: EventKind.AutomationTriggered,
    time: TIME,
    source: "homeassistant",
    entity_id: ruleId,
    domain: "automation",
    ha_event_type: "automation_triggered",
    critical: false,
    data: {
      rule_id: ruleId,
      rule_name: "Morning",
      trigger: { type: "time", value: "07:00:00" },
      actions_executed: null,
      success: true,
      source: "homeassistant",
    },
  };
}

export function serviceCall(): NewBridgeEvent<EventKind.SourceEvent> {
  return {
    kind: EventKind.SourceEvent,
    time: TIME,
    source: "homeassistant",
    ha_event_type: "call_service",
    critical: false,
    data: {
      source: "homeassistant",
      event_type: "call_service",
      event_data: { domain: "light", service: "turn_on" },
    },
  };
}

const entityInfo = (id: string) => ({
  id,
  name: "Desk",
  type: id.split(".")[0] ?? "",
  source: "homeassistant" as const,
  state: "on",
  attributes: { access_token: "secret", friendly_name: "Desk" },
  device_id: null,
  disabled: false,
  last_changed: null,
  last_updated: null,
});

/** One event of every kind not covered by the helpers above, with the PMA message type it must become. */
export function everyOtherKind(): [string, NewBridgeEvent][] {
  const base = { time: TIME, critical: false } as const;
  const room = { id: "office", name: "Office", area: "ground_floor", entity_count: 3 };
  return [
    [
      "pma_entity_added",
      {
        ...base,
        kind: EventKind.EntityAdded,
        source: "homeassistant",
        entity_id: "camera.desk",
        domain: "camera",
        room_id: "office",
        data: { entity: entityInfo("camera.desk"), room_id: "office", area_id: "ground_floor" },
      },
    ],
    [
      "pma_entity_removed",
      {
        ...base,
        kind: EventKind.EntityRemoved,
        source: "homeassistant",
        entity_id: "light.old",
        domain: "light",
        room_id: "office",
        data: { entity_id: "light.old", source: "homeassistant", room_id: "office", area_id: null },
      },
    ],
    [
      "pma_entity_updated",
      {
        ...base,
        kind: EventKind.EntityUpdated,
        source: "homeassistant",
        entity_id: "light.desk",
        domain: "light",
        room_id: "office",
        data: {
          entity: entityInfo("light.desk"),
          old_entity_id: "light.desk_lamp",
          changes: ["entity_id"],
          room_id: "office",
          area_id: null,
          old_room_id: null,
        },
      },
    ],
    ...(["added", "updated", "removed"] as const).map((action): [string, NewBridgeEvent] => [
      `pma_room_${action}`,
      {
        ...base,
        kind:
          action === "added"
            ? EventKind.RoomAdded
            : action === "updated"
              ? EventKind.RoomUpdated
              : EventKind.RoomRemoved,
        source: "homeassistant",
        data: { room, action, source: "homeassistant" },
      },
    ]),
    [
      "pma_area_updated",
      {
        ...base,
        kind: EventKind.AreaUpdated,
        source: "homeassistant",
        data: {
          area: { id: "ground_floor", name: "Ground", level: 0, room_ids: ["office"] },
          action: "updated",
          source: "homeassistant",
        },
      },
    ],
    [
      "pma_scene_activated",
      {
        ...base,
        kind: EventKind.SceneActivated,
        source: "homeassistant",
        entity_id: "scene.movie",
        domain: "scene",
        data: { scene_id: "scene.movie", scene_name: "Movie", source: "homeassistant", user_id: null },
      },
    ],
    ["alert", alert("a1", null)],
    ["drift", drift("d1", null)],
    [
      "sync_status",
      {
        ...base,
        kind: EventKind.SyncStatus,
        source: "bridge",
        data: {
          source: "homeassistant",
          status: "completed",
          message: "done",
          entity_count: 3,
          room_count: 1,
          progress: 100,
          error_count: 0,
        },
      },
    ],
    [
      "adapter_status",
      {
        ...base,
        kind: EventKind.AdapterStatus,
        source: "bridge",
        data: {
          adapter_id: "homeassistant",
          adapter_name: "Home Assistant",
          source: "homeassistant",
          status: "connected",
          health: { is_healthy: true, issues: [], last_sync: null },
        },
      },
    ],
    [
      "connection_status",
      {
        ...base,
        kind: EventKind.ConnectionStatus,
        source: "bridge",
        data: { source: "mqtt", status: "reconnecting", message: "retrying", attempt: 2 },
      },
    ],
  ];
}
