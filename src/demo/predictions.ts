/**
 * Payloads of the simulated occupancy predictor, shaped like the real seed 002 system's MQTT messages
 * (`occupancy/predictions/<room>/prediction`, `…/system/status`, `…/device/availability`, `occupancy/alerts/<severity>`).
 * Pure: the caller passes the time and a random source, so tests pin every value.
 */

import { humanDuration } from "../server/time-until.js";

/** Returns a number in [0, 1). */
export type Random = () => number;

export type RawTransition = "vacant_to_occupied" | "occupied_to_vacant";
export type Reliability = "high" | "medium" | "low";

export interface PredictionPayload {
  readonly predicted_time: string;
  readonly transition_type: RawTransition;
  readonly confidence_score: number;
  readonly time_until_seconds: number;
  readonly time_until_human: string;
  readonly model_type: "ensemble";
  readonly model_version: string;
  readonly prediction_made_at: string;
  readonly room_id: string;
  readonly room_name: string;
  readonly base_predictions: Readonly<Record<BaseModel, number>>;
  readonly model_weights: Readonly<Record<BaseModel, number>>;
  readonly alternatives: readonly {
    predicted_time: string;
    confidence: number;
    time_until_seconds: number;
  }[];
  readonly prediction_reliability: Reliability;
  readonly features_count: number;
  readonly system_version: string;
  readonly last_updated: string;
}

export const BASE_MODELS = ["lstm", "xgboost", "hmm", "gp"] as const;
export type BaseModel = (typeof BASE_MODELS)[number];

const MODEL_WEIGHTS: Readonly<Record<BaseModel, number>> = { lstm: 0.22, xgboost: 0.41, hmm: 0.14, gp: 0.23 };
export const PREDICTOR_VERSION = "1.0.0";
const MODEL_VERSION = "v1.2";

/** The predictor's own view of one room at the moment it predicts. */
export interface RoomObservation {
  /** The predictor's room id (may differ from the Home Assistant area id; the bridge maps it). */
  readonly predictorRoomId: string;
  readonly name: string;
  readonly occupied: boolean;
  /** When the room will really change, if the simulation knows; the prediction lands near it. */
  readonly nextChangeAt: Date | null;
}

function round(value: number, digits: number): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

export function reliabilityOf(confidence: number): Reliability {
  if (confidence >= 0.8) return "high";
  if (confidence >= 0.6) return "medium";
  return "low";
}

/**
 * Predicts the room's next transition: away from its current state, near the simulation's real next change
 * when known (with an error that grows with distance), else a plausible 5–90 minutes ahead.
 */
export function buildPrediction(room: RoomObservation, now: Date, random: Random): PredictionPayload {
  const truthSeconds =
    room.nextChangeAt !== null
      ? Math.max(30, (room.nextChangeAt.getTime() - now.getTime()) / 1000)
      : 300 + random() * 5100;
  const errorSeconds = (random() - 0.5) * Math.min(600, truthSeconds * 0.3);
  const seconds = Math.max(30, Math.round(truthSeconds + errorSeconds));
  const predicted = new Date(now.getTime() + seconds * 1000);
  const confidence = round(0.55 + random() * 0.42, 4);
  const base = {} as Record<BaseModel, number>;
  for (const model of BASE_MODELS) base[model] = round(seconds * (0.85 + random() * 0.3), 1);
  const alternativeSeconds = Math.max(30, Math.round(seconds * (0.8 + random() * 0.15)));
  const stamp = now.toISOString();
  return {
    predicted_time: predicted.toISOString(),
    transition_type: room.occupied ? "occupied_to_vacant" : "vacant_to_occupied",
    confidence_score: confidence,
    time_until_seconds: seconds,
    time_until_human: humanDuration(seconds),
    model_type: "ensemble",
    model_version: MODEL_VERSION,
    prediction_made_at: stamp,
    room_id: room.predictorRoomId,
    room_name: room.name,
    base_predictions: base,
    model_weights: MODEL_WEIGHTS,
    alternatives: [
      {
        predicted_time: new Date(now.getTime() + alternativeSeconds * 1000).toISOString(),
        confidence: round(confidence * 0.85, 4),
        time_until_seconds: alternativeSeconds,
      },
    ],
    prediction_reliability: reliabilityOf(confidence),
    features_count: 143,
    system_version: PREDICTOR_VERSION,
    last_updated: stamp,
  };
}

/** The legacy per-field topics the seed system publishes after the JSON prediction, as `[suffix, text]`. */
export function legacyTopics(prediction: PredictionPayload): readonly (readonly [string, string])[] {
  return [
    ["next_transition_time", prediction.predicted_time],
    ["transition_type", prediction.transition_type],
    ["confidence", String(prediction.confidence_score)],
    ["time_until", prediction.time_until_human],
  ];
}

export interface PredictorCounters {
  readonly startedAt: Date;
  readonly predictionsMade: number;
  readonly lastPredictionAt: Date | null;
  readonly activeAlerts: number;
}

export interface SystemStatusPayload {
  readonly system_status: "online" | "degraded" | "offline";
  readonly uptime_seconds: number;
  readonly last_prediction_time: string | null;
  readonly total_predictions_made: number;
  readonly predictions_last_hour: number;
  readonly average_accuracy_percent: number;
  readonly average_confidence: number;
  readonly active_models: readonly BaseModel[];
  readonly models_trained: number;
  readonly models_failed: number;
  readonly database_connected: boolean;
  readonly mqtt_connected: boolean;
  readonly tracking_active: boolean;
  readonly active_alerts: number;
  readonly last_error: string | null;
  readonly error_count_last_hour: number;
  readonly last_updated: string;
  readonly system_start_time: string;
}

export function buildSystemStatus(
  counters: PredictorCounters,
  now: Date,
  random: Random,
): SystemStatusPayload {
  return {
    // The real system reports degraded above five open alerts.
    system_status: counters.activeAlerts > 5 ? "degraded" : "online",
    uptime_seconds: Math.floor((now.getTime() - counters.startedAt.getTime()) / 1000),
    last_prediction_time: counters.lastPredictionAt?.toISOString() ?? null,
    total_predictions_made: counters.predictionsMade,
    predictions_last_hour: counters.predictionsMade,
    average_accuracy_percent: round(82 + random() * 10, 1),
    average_confidence: round(0.7 + random() * 0.2, 3),
    active_models: BASE_MODELS,
    models_trained: BASE_MODELS.length,
    models_failed: 0,
    database_connected: true,
    mqtt_connected: true,
    tracking_active: true,
    active_alerts: counters.activeAlerts,
    last_error: null,
    error_count_last_hour: 0,
    last_updated: now.toISOString(),
    system_start_time: counters.startedAt.toISOString(),
  };
}

export interface AvailabilityPayload {
  readonly status: "online" | "offline";
  readonly timestamp: string;
  readonly device_id: string;
  readonly version: string;
  readonly capabilities: { readonly predictions: boolean; readonly alerts: boolean };
  readonly entities_count: number;
  readonly services_count: number;
}

export const DEVICE_ID = "ha_ml_predictor";

export function buildAvailability(
  status: "online" | "offline",
  rooms: number,
  now: Date,
): AvailabilityPayload {
  return {
    status,
    timestamp: now.toISOString(),
    device_id: DEVICE_ID,
    version: PREDICTOR_VERSION,
    capabilities: { predictions: true, alerts: true },
    entities_count: rooms * 5 + 7,
    services_count: 4,
  };
}

export type AlertSeverity = "info" | "warning" | "error" | "critical";

export interface AlertPayload {
  readonly alert_id: string;
  readonly alert_type: string;
  readonly severity: AlertSeverity;
  readonly timestamp: string;
  readonly created_at: string;
  readonly title: string;
  readonly message: string;
  readonly component: string;
  readonly room_id: string;
  readonly resolved: boolean;
  readonly current_accuracy: number;
  readonly threshold: number;
  readonly recommended_action: string;
}

/** An accuracy alert for a room, the kind the seed document describes (`accuracy_degradation`). */
export function buildAlert(sequence: number, room: RoomObservation, now: Date, random: Random): AlertPayload {
  const threshold = 0.7;
  const accuracy = round(0.5 + random() * 0.19, 2);
  const severity: AlertSeverity = accuracy < 0.6 ? "error" : "warning";
  return {
    alert_id: `alert_${now.getTime().toString(36)}_${sequence}`,
    alert_type: "accuracy_degradation",
    severity,
    timestamp: now.toISOString(),
    created_at: now.toISOString(),
    title: `${room.name} prediction accuracy below threshold`,
    message: `Model accuracy for ${room.name} dropped to ${Math.round(accuracy * 100)}% (threshold ${threshold * 100}%)`,
    component: "prediction_validator",
    room_id: room.predictorRoomId,
    resolved: false,
    current_accuracy: accuracy,
    threshold,
    recommended_action: "Model retraining recommended",
  };
}

export interface DriftPayload {
  readonly drift_id: string;
  readonly room_id: string;
  readonly severity: AlertSeverity;
  readonly message: string;
  readonly created_at: string;
  readonly drift_score: number;
  readonly drift_type: string;
  readonly affected_features: readonly string[];
  readonly recommended_action: string;
}

/** A concept-drift notice: the occupancy pattern of a room moved away from what the models learned. */
export function buildDrift(sequence: number, room: RoomObservation, now: Date, random: Random): DriftPayload {
  const score = round(0.3 + random() * 0.6, 3);
  return {
    drift_id: `drift_${now.getTime().toString(36)}_${sequence}`,
    room_id: room.predictorRoomId,
    severity: score > 0.7 ? "warning" : "info",
    message: `Occupancy pattern in ${room.name} has shifted (drift score ${score})`,
    created_at: now.toISOString(),
    drift_score: score,
    drift_type: "pattern_shift",
    affected_features: ["time_of_day", "motion_frequency"],
    recommended_action: score > 0.7 ? "Retrain the room's models" : "Keep monitoring",
  };
}
