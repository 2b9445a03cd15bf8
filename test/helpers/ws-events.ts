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
