import { describe, expect, it } from "vitest";
import {
  buildAlert,
  buildAvailability,
  buildDrift,
  buildPrediction,
  buildSystemStatus,
  legacyTopics,
  type RoomObservation,
  reliabilityOf,
} from "../../src/demo/predictions.js";
import { humanDuration } from "../../src/server/time-until.js";
import { seededRandom } from "../../src/simulator/generator.js";

const NOW = new Date("2026-03-04T22:19:50.000Z");
const BEDROOM: RoomObservation = {
  predictorRoomId: "bedroom",
  name: "Bedroom",
  occupied: false,
  nextChangeAt: new Date(NOW.getTime() + 1642_000),
};

describe("reliabilityOf", () => {
  it("grades confidence high from 0.8, medium from 0.6, else low", () => {
    expect([reliabilityOf(0.8), reliabilityOf(0.79), reliabilityOf(0.6), reliabilityOf(0.59)]).toEqual([
      "high",
      "medium",
      "medium",
      "low",
    ]);
  });
});

describe("buildPrediction", () => {
  it("predicts the vacant room becoming occupied, near the simulation's real change", () => {
    const p = buildPrediction(BEDROOM, NOW, seededRandom(1));
    expect(p.transition_type).toBe("vacant_to_occupied");
    expect(p.room_id).toBe("bedroom");
    expect(p.room_name).toBe("Bedroom");
    expect(p.model_type).toBe("ensemble");
    expect(p.prediction_made_at).toBe(NOW.toISOString());
    const seconds = (Date.parse(p.predicted_time) - NOW.getTime()) / 1000;
    expect(seconds).toBe(p.time_until_seconds);
    // The error is at most 30 % of the distance, halved either way.
    expect(Math.abs(seconds - 1642)).toBeLessThanOrEqual(1642 * 0.15 + 1);
    expect(p.time_until_human).toBe(humanDuration(seconds));
    expect(p.confidence_score).toBeGreaterThanOrEqual(0.55);
    expect(p.confidence_score).toBeLessThan(0.97);
    expect(p.prediction_reliability).toBe(reliabilityOf(p.confidence_score));
    expect(Object.keys(p.base_predictions).sort()).toEqual(["gp", "hmm", "lstm", "xgboost"]);
    expect(p.alternatives).toHaveLength(1);
    expect(p.alternatives[0]?.confidence).toBeLessThan(p.confidence_score);
  });

  it("predicts an occupied room becoming vacant", () => {
    const p = buildPrediction({ ...BEDROOM, occupied: true }, NOW, seededRandom(2));
    expect(p.transition_type).toBe("occupied_to_vacant");
  });

  it("guesses 5 to 90 minutes ahead when the real change is unknown", () => {
    const random = seededRandom(3);
    for (let i = 0; i < 50; i++) {
      const p = buildPrediction({ ...BEDROOM, nextChangeAt: null }, NOW, random);
      expect(p.time_until_seconds).toBeGreaterThanOrEqual(30);
      expect(p.time_until_seconds).toBeLessThanOrEqual(5400 * 1.15 + 1);
    }
  });

  it("never predicts a transition in the past, even when the real change is overdue", () => {
    const p = buildPrediction(
      { ...BEDROOM, nextChangeAt: new Date(NOW.getTime() - 60_000) },
      NOW,
      seededRandom(4),
    );
    expect(Date.parse(p.predicted_time)).toBeGreaterThan(NOW.getTime());
  });

  it("repeats the prediction in the legacy plain-text topics", () => {
    const p = buildPrediction(BEDROOM, NOW, seededRandom(1));
    expect(Object.fromEntries(legacyTopics(p))).toEqual({
      next_transition_time: p.predicted_time,
      transition_type: "vacant_to_occupied",
      confidence: String(p.confidence_score),
      time_until: p.time_until_human,
    });
  });
});

describe("buildSystemStatus", () => {
  const counters = {
    startedAt: new Date(NOW.getTime() - 86_412_000),
    predictionsMade: 12,
    lastPredictionAt: NOW,
  };

  it("reports uptime, counts and the predictor's models", () => {
    const s = buildSystemStatus({ ...counters, activeAlerts: 1 }, NOW, seededRandom(1));
    expect(s).toMatchObject({
      system_status: "online",
      uptime_seconds: 86_412,
      total_predictions_made: 12,
      last_prediction_time: NOW.toISOString(),
      active_models: ["lstm", "xgboost", "hmm", "gp"],
      active_alerts: 1,
      mqtt_connected: true,
      system_start_time: counters.startedAt.toISOString(),
    });
  });

  it("says degraded above five active alerts", () => {
    expect(buildSystemStatus({ ...counters, activeAlerts: 6 }, NOW, seededRandom(1)).system_status).toBe(
      "degraded",
    );
  });
});

describe("buildAvailability", () => {
  it("describes the predictor device", () => {
    expect(buildAvailability("offline", 4, NOW)).toEqual({
      status: "offline",
      timestamp: NOW.toISOString(),
      device_id: "ha_ml_predictor",
      version: "1.0.0",
      capabilities: { predictions: true, alerts: true },
      entities_count: 27,
      services_count: 4,
    });
  });
});

describe("buildAlert and buildDrift", () => {
  it("raises an accuracy alert below the threshold for the room, with a unique id", () => {
    const a = buildAlert(1, BEDROOM, NOW, seededRandom(5));
    const b = buildAlert(2, BEDROOM, NOW, seededRandom(5));
    expect(a.alert_id).not.toBe(b.alert_id);
    expect(a).toMatchObject({
      alert_type: "accuracy_degradation",
      room_id: "bedroom",
      resolved: false,
      threshold: 0.7,
    });
    expect(a.current_accuracy).toBeLessThan(a.threshold);
    expect(["warning", "error"]).toContain(a.severity);
    expect(a.message).toContain("Bedroom");
  });

  it("describes a drift with a score and a severity that follows it", () => {
    const d = buildDrift(1, BEDROOM, NOW, seededRandom(6));
    expect(d.room_id).toBe("bedroom");
    expect(d.severity).toBe(d.drift_score > 0.7 ? "warning" : "info");
    expect(d.created_at).toBe(NOW.toISOString());
  });
});
