import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { JsonValue } from "../../../src/core/events.js";
import {
  decodeJson,
  MAX_JSON_DEPTH,
  normalizeTimestamp,
  parseAlert,
  parseAvailability,
  parseDrift,
  parsePrediction,
  parseSystemStatus,
} from "../../../src/sources/mqtt/normalize.js";

function fixture(name: string): JsonValue {
  return JSON.parse(
    readFileSync(new URL(`../../fixtures/mqtt/${name}`, import.meta.url), "utf8"),
  ) as JsonValue;
}

function fixtureBytes(name: string): Buffer {
  return readFileSync(new URL(`../../fixtures/mqtt/${name}`, import.meta.url));
}

const bedroom = { predictorRoomId: "bedroom", room: { roomId: "bedroom", name: "Bedroom" } };
const noRoomMapping = (): undefined => undefined;
const now = new Date("2026-03-04T22:35:00.000Z");

describe("normalizeTimestamp", () => {
  it.each([
    ["2026-03-04T22:47:12.418305+00:00", "2026-03-04T22:47:12.418Z"],
    ["2026-03-04T22:47:12.418305789Z", "2026-03-04T22:47:12.418Z"],
    ["2026-03-04T22:47:12Z", "2026-03-04T22:47:12.000Z"],
    ["2026-03-04 22:47:12+00:00", "2026-03-04T22:47:12.000Z"],
    ["2026-03-04T23:47:12.5+01:00", "2026-03-04T22:47:12.500Z"],
    ["2026-03-04T17:47:12-0500", "2026-03-04T22:47:12.000Z"],
    ["2026-03-04T22:47:12.1", "2026-03-04T22:47:12.100Z"],
  ])("reads %s as %s", (input, expected) => {
    expect(normalizeTimestamp(input)).toBe(expected);
  });

  it.each([
    "yesterday",
    "1970-01-01T00:00:00Z",
    "9999-12-31T23:59:59Z",
    "2026-02-30T10:00:00Z",
    "2026-03-04T25:00:00Z",
    "",
  ])("refuses %s", (input) => {
    expect(normalizeTimestamp(input)).toBeUndefined();
  });

  it("refuses non-strings", () => {
    expect(normalizeTimestamp(1741128432)).toBeUndefined();
    expect(normalizeTimestamp(null)).toBeUndefined();
  });
});

describe("parsePrediction", () => {
  it.each(["constructor", "valueOf", "__proto__"])(
    "rejects the transition_type %s, which only an inherited property would know",
    (transition) => {
      const payload = { ...(fixture("prediction-bedroom.json") as object), transition_type: transition };
      expect(parsePrediction(payload, bedroom)).toMatchObject({ ok: false, reason: "invalid_payload" });
    },
  );

  it("keeps a field named __proto__ as data", () => {
    const payload = JSON.parse(
      `{"predicted_time":"2026-03-04T22:47:12Z","transition_type":"occupied","confidence_score":0.5,"__proto__":{"x":1}}`,
    ) as JsonValue;
    const result = parsePrediction(payload, bedroom);
    if (!result.ok) throw new Error(result.detail);
    expect(Object.hasOwn(result.value.prediction_metadata, "__proto__")).toBe(true);
    expect(Object.getPrototypeOf(result.value.prediction_metadata)).toBe(Object.prototype);
  });

  it("turns the predictor's payload into prediction data field by field", () => {
    const result = parsePrediction(fixture("prediction-bedroom.json"), bedroom);
    expect(result).toEqual({
      ok: true,
      value: {
        room_id: "bedroom",
        room_name: "Bedroom",
        predictor_room_id: "bedroom",
        predicted_time: "2026-03-04T22:47:12.418Z",
        transition_type: "occupied",
        raw_transition_type: "vacant_to_occupied",
        confidence_score: 0.8231,
        current_state: "vacant",
        model_type: "ensemble",
        model_version: "v1.2",
        alternatives: [{ predicted_time: "2026-03-04T22:46:10.001Z", confidence: 0.74 }],
        features_used: 143,
        prediction_made_at: "2026-03-04T22:19:50.102Z",
        prediction_metadata: {
          certainty_level: "high",
          base_predictions: { lstm: 1580.4, xgboost: 1702.9, hmm: 1415.0, gp: 1688.2 },
          model_weights: { lstm: 0.22, xgboost: 0.41, hmm: 0.14, gp: 0.23 },
          system_version: "1.0.0",
          last_updated: "2026-03-04T22:19:50.103Z",
        },
      },
    });
  });

  it("does not keep the predictor's time_until fields, which are stale by the time anyone reads them", () => {
    const result = parsePrediction(fixture("prediction-bedroom.json"), bedroom);
    if (!result.ok) throw new Error(result.detail);
    expect(Object.keys(result.value)).not.toContain("time_until_seconds");
    expect(Object.keys(result.value.prediction_metadata)).not.toContain("time_until_human");
  });

  it("maps occupied_to_vacant to the target state vacant, and uses the mapped room and the HA area name", () => {
    const payload = {
      ...(fixture("prediction-bedroom.json") as object),
      transition_type: "occupied_to_vacant",
    };
    const result = parsePrediction(payload, {
      predictorRoomId: "living_kitchen",
      room: { roomId: "living_room", name: "Living room" },
    });
    if (!result.ok) throw new Error(result.detail);
    expect(result.value).toMatchObject({
      room_id: "living_room",
      room_name: "Living room",
      predictor_room_id: "living_kitchen",
      transition_type: "vacant",
      raw_transition_type: "occupied_to_vacant",
      current_state: "occupied",
    });
  });

  it("falls back to the payload's room name, then to the title-cased id, and to 'unknown' model fields", () => {
    const minimal = {
      predicted_time: "2026-03-04T22:47:12Z",
      transition_type: "occupied",
      confidence_score: 1,
    };
    const unnamed = {
      predictorRoomId: "small_bathroom",
      room: { roomId: "small_bathroom", name: undefined },
    };
    const result = parsePrediction(minimal, unnamed);
    if (!result.ok) throw new Error(result.detail);
    expect(result.value).toMatchObject({
      room_name: "Small Bathroom",
      model_type: "unknown",
      model_version: "unknown",
      current_state: null,
      alternatives: [],
      features_used: null,
      prediction_made_at: null,
      prediction_metadata: { certainty_level: null },
    });
    const named = parsePrediction({ ...minimal, room_name: "Guest WC" }, unnamed);
    expect(named.ok && named.value.room_name).toBe("Guest WC");
  });

  it("skips malformed alternatives instead of rejecting the prediction", () => {
    const payload = {
      ...(fixture("prediction-bedroom.json") as object),
      alternatives: [
        { predicted_time: "soon", confidence: 0.5 },
        { predicted_time: "2026-03-04T22:50:00Z", confidence: 7 },
        "x",
      ],
    };
    const result = parsePrediction(payload, bedroom);
    expect(result.ok && result.value.alternatives).toEqual([]);
  });

  it.each([
    ["a non-object", [1, 2], "invalid_payload"],
    ["a missing predicted_time", { transition_type: "occupied", confidence_score: 0.5 }, "invalid_timestamp"],
    [
      "an absurd predicted_time",
      { predicted_time: "1900-01-01T00:00:00Z", transition_type: "occupied", confidence_score: 0.5 },
      "invalid_timestamp",
    ],
    [
      "an unknown transition",
      { predicted_time: "2026-03-04T22:47:12Z", transition_type: "maybe", confidence_score: 0.5 },
      "invalid_payload",
    ],
    [
      "a confidence out of range",
      { predicted_time: "2026-03-04T22:47:12Z", transition_type: "occupied", confidence_score: 82.3 },
      "invalid_payload",
    ],
    [
      "a confidence of the wrong type",
      { predicted_time: "2026-03-04T22:47:12Z", transition_type: "occupied", confidence_score: "0.8" },
      "invalid_payload",
    ],
    [
      "a garbage prediction_made_at",
      {
        predicted_time: "2026-03-04T22:47:12Z",
        transition_type: "occupied",
        confidence_score: 0.5,
        prediction_made_at: "now",
      },
      "invalid_timestamp",
    ],
  ])("rejects %s", (_name, payload, reason) => {
    const result = parsePrediction(payload as JsonValue, bedroom);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.reason).toBe(reason);
  });
});

describe("parseSystemStatus", () => {
  it("maps the predictor's online to healthy and keeps its payload with normalised timestamps", () => {
    const result = parseSystemStatus(fixture("system-status.json"));
    if (!result.ok) throw new Error(result.detail);
    expect(result.value.status).toBe("healthy");
    expect(result.value.payload).toMatchObject({
      system_status: "online",
      uptime_seconds: 86412,
      active_models: ["lstm", "xgboost", "hmm", "gp"],
      last_prediction_time: "2026-03-04T22:19:50.100Z",
      system_start_time: "2026-03-03T22:19:48.000Z",
      last_error: null,
    });
  });

  it.each([
    ["degraded", "degraded"],
    ["offline", "offline"],
  ])("maps %s to %s", (raw, expected) => {
    const result = parseSystemStatus({ system_status: raw });
    expect(result.ok && result.value.status).toBe(expected);
  });

  it("rejects an unknown status word and a non-object", () => {
    expect(parseSystemStatus({ system_status: "fine" }).ok).toBe(false);
    expect(parseSystemStatus("online").ok).toBe(false);
  });

  it.each(["toString", "constructor", "__proto__"])(
    "rejects the status word %s, which only an inherited property would know",
    (word) => {
      expect(parseSystemStatus({ system_status: word })).toMatchObject({
        ok: false,
        reason: "invalid_payload",
      });
    },
  );
});

describe("parseAvailability", () => {
  it("reads the JSON status of the predictor's availability payload", () => {
    const result = parseAvailability(fixtureBytes("device-availability.json"), 10_000);
    expect(result.ok && result.value.online).toBe(true);
    const offline = parseAvailability(Buffer.from('{"status":"offline"}'), 10_000);
    expect(offline.ok && offline.value.online).toBe(false);
  });

  it("accepts a bare online/offline and rejects anything else", () => {
    const bare = parseAvailability(Buffer.from("offline"), 10_000);
    expect(bare.ok && bare.value.online).toBe(false);
    const wrong = parseAvailability(Buffer.from('{"status":"maybe"}'), 10_000);
    expect(!wrong.ok && wrong.reason).toBe("invalid_payload");
    const garbage = parseAvailability(Buffer.from("{nope"), 10_000);
    expect(!garbage.ok && garbage.reason).toBe("invalid_json");
  });
});

describe("parseAlert", () => {
  const mapBedroom = (id: string) =>
    id === "bedroom" ? { roomId: "master_bedroom", name: "Master bedroom" } : undefined;

  it("turns the planned alert payload into alert data, keeping extra fields", () => {
    const result = parseAlert(fixture("alert-warning.json"), {
      severity: "warning",
      resolveRoom: mapBedroom,
      now,
    });
    expect(result).toEqual({
      ok: true,
      value: {
        alert_id: "alert_123",
        alert_type: "accuracy_degradation",
        severity: "warning",
        title: "Accuracy degradation",
        message: "Model accuracy has dropped below threshold",
        room_id: "master_bedroom",
        predictor_room_id: "bedroom",
        component: "accuracy_tracker",
        resolved: false,
        created_at: "2026-03-04T22:30:00.000Z",
        recommended_action: "Model retraining recommended",
        current_accuracy: 0.65,
        threshold: 0.7,
      },
    });
  });

  it("takes the severity from the topic and gives an id-less alert a stable content id", () => {
    const payload = { message: "Database unreachable" };
    const first = parseAlert(payload, { severity: "critical", resolveRoom: noRoomMapping, now });
    const again = parseAlert(payload, { severity: "critical", resolveRoom: noRoomMapping, now: new Date() });
    if (!first.ok || !again.ok) throw new Error("expected both to parse");
    expect(first.value).toMatchObject({
      severity: "critical",
      room_id: null,
      component: "predictor",
      created_at: now.toISOString(),
    });
    expect(first.value.alert_id).toMatch(/^alert_[0-9a-f]{16}$/);
    expect(again.value.alert_id).toBe(first.value.alert_id);
  });

  it("keeps an alert for a room it cannot map, room-less", () => {
    const result = parseAlert(
      { message: "x", room_id: "attic" },
      { severity: "info", resolveRoom: noRoomMapping, now },
    );
    expect(result.ok && [result.value.room_id, result.value.predictor_room_id]).toEqual([null, "attic"]);
  });

  it("rejects unknown severities, message-less alerts and absurd timestamps", () => {
    expect(parseAlert({ message: "x" }, { severity: "panic", resolveRoom: noRoomMapping, now }).ok).toBe(
      false,
    );
    expect(parseAlert({ title: "" }, { severity: "info", resolveRoom: noRoomMapping, now }).ok).toBe(false);
    const absurd = parseAlert(
      { message: "x", timestamp: "0001-01-01T00:00:00Z" },
      { severity: "info", resolveRoom: noRoomMapping, now },
    );
    expect(!absurd.ok && absurd.reason).toBe("invalid_timestamp");
  });
});

describe("parseDrift", () => {
  it("reads a drift notification with nanosecond timestamps and takes the room from the topic", () => {
    const result = parseDrift(fixture("drift-bedroom.json"), {
      topicRoom: "bedroom",
      resolveRoom: (id) => ({ roomId: id, name: undefined }),
      now,
    });
    expect(result).toEqual({
      ok: true,
      value: {
        drift_id: "drift_bedroom_42",
        room_id: "bedroom",
        predictor_room_id: "bedroom",
        severity: "warning",
        message: "Occupancy pattern drift detected",
        created_at: "2026-03-04T22:31:00.123Z",
        detected_at: "2026-03-04T22:31:00.123456789Z",
        drift_score: 0.41,
        psi: 0.27,
        affected_features: ["hour_of_day", "motion_rate"],
      },
    });
  });

  it("rejects a non-object and an unknown severity", () => {
    const context = { topicRoom: null, resolveRoom: noRoomMapping, now };
    expect(parseDrift("drift!", context).ok).toBe(false);
    expect(parseDrift({ severity: "huge" }, context).ok).toBe(false);
  });
});

describe("decodeJson", () => {
  it("refuses payloads over the limit before parsing them", () => {
    const result = decodeJson(Buffer.alloc(2048, 32), 1024);
    expect(!result.ok && result.reason).toBe("payload_too_large");
  });

  it("reports non-JSON", () => {
    expect(decodeJson(Buffer.from("not json"), 1024).ok).toBe(false);
    expect(decodeJson(Buffer.from('{"a":1}'), 1024)).toEqual({ ok: true, value: { a: 1 } });
  });

  it(`accepts ${MAX_JSON_DEPTH} levels of nesting and refuses one more as payload_too_deep`, () => {
    const nested = (depth: number, open: string, close: string): Buffer =>
      Buffer.from(`${open.repeat(depth)}${close.repeat(depth)}`);
    expect(decodeJson(nested(MAX_JSON_DEPTH, "[", "]"), 1024).ok).toBe(true);
    const objects = Buffer.from(`${'{"a":'.repeat(MAX_JSON_DEPTH)}1${"}".repeat(MAX_JSON_DEPTH)}`);
    expect(decodeJson(objects, 4096).ok).toBe(true);
    const deeper = decodeJson(nested(MAX_JSON_DEPTH + 1, "[", "]"), 1024);
    expect(deeper).toEqual({
      ok: false,
      reason: "payload_too_deep",
      detail: `nested deeper than ${MAX_JSON_DEPTH} levels`,
    });
  });

  it("counts only brackets outside strings, escaped quotes included", () => {
    const brackets = "[{".repeat(200);
    const text = JSON.stringify({ note: brackets, quoted: `\\"${brackets}`, list: [[["ok"]]] });
    expect(decodeJson(Buffer.from(text), 10_000)).toEqual({ ok: true, value: JSON.parse(text) });
  });

  it("refuses a payload nested so deep that serialising it would overflow the stack, without overflowing itself", () => {
    // 200,000 levels in 400 KB: JSON.stringify of such a value throws RangeError.
    const result = decodeJson(Buffer.from(`${"[".repeat(200_000)}${"]".repeat(200_000)}`), 1024 * 1024);
    expect(!result.ok && result.reason).toBe("payload_too_deep");
  });
});
