import { describe, expect, it } from "vitest";
import { parseOccupancyMessage, parsePmaMessage } from "../../src/client/index.js";
import { COLORS, formatOccupancy, formatPma, PLAIN } from "../../src/watch/format.js";

function pma(raw: unknown) {
  const parsed = parsePmaMessage(raw);
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.message;
}

function occupancy(raw: unknown) {
  const parsed = parseOccupancyMessage(raw);
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.message;
}

const AT = "2026-03-01T18:04:05.123Z";

describe("formatPma", () => {
  it("shows a state change with its time, type, entity, states, room and seq", () => {
    const line = formatPma(
      pma({
        type: "pma_entity_state_changed",
        data: {
          entity_id: "light.kitchen",
          old_state: "off",
          new_state: "on",
          attributes: {},
          room_id: "kitchen",
        },
        timestamp: AT,
        seq: 42,
      }),
      PLAIN,
    );
    expect(line).toBe(
      `18:04:05 ${"pma_entity_state_changed".padEnd(26)} light.kitchen off → on [kitchen] #42`,
    );
  });

  it("shows a prediction with the time left and confidence", () => {
    const line = formatPma(
      pma({
        type: "prediction_update",
        data: {
          room_id: "kitchen",
          room_name: "Kitchen",
          predicted_time: AT,
          transition_type: "vacant",
          confidence_score: 0.874,
          time_until_human: "12 minutes",
        },
        timestamp: AT,
        seq: 7,
      }),
      PLAIN,
    );
    expect(line).toContain("Kitchen → vacant in 12 minutes (87%) #7");
  });

  it("colors by kind only when asked", () => {
    const alert = pma({
      type: "alert",
      data: { alert_id: "a", severity: "warning", message: "accuracy low", room_id: "bedroom" },
      timestamp: AT,
      seq: 1,
    });
    expect(formatPma(alert, PLAIN)).not.toContain("\u001b[");
    expect(formatPma(alert, COLORS)).toContain("\u001b[31malert");
  });
});

describe("formatOccupancy", () => {
  it("marks messages that need an acknowledgement", () => {
    const line = formatOccupancy(
      occupancy({
        message_id: "e:3:/ws/alerts",
        message_type: "alert_notification",
        timestamp: AT,
        endpoint: "/ws/alerts",
        room_id: "bedroom",
        requires_ack: true,
        data: { alert_id: "a", severity: "error", message: "accuracy 55%", room_id: "bedroom" },
        seq: 3,
      }),
      PLAIN,
    );
    expect(line).toContain("error: accuracy 55% [bedroom] (requires ack) #3");
  });

  it("shows the derived occupancy context of a room state update", () => {
    const line = formatOccupancy(
      occupancy({
        message_id: "e:4:/ws/room/kitchen",
        message_type: "room_state_update",
        timestamp: AT,
        endpoint: "/ws/room/kitchen",
        room_id: "kitchen",
        requires_ack: false,
        data: {
          room_id: "kitchen",
          entity_id: "binary_sensor.kitchen_motion",
          old_state: "off",
          new_state: "on",
        },
        seq: 4,
      }),
      PLAIN,
    );
    expect(line).toContain("binary_sensor.kitchen_motion off → on [kitchen] #4");
  });
});

describe("resume lines", () => {
  it("summarises a replay's end in one line", () => {
    const data = { result: "replayed", from_seq: 120, last_seq: 1120, replayed: 1, epoch: "e1" };
    expect(formatPma(pma({ type: "resume_status", data, timestamp: AT }), PLAIN)).toBe(
      `18:04:05 ${"resume_status".padEnd(26)} resumed after #120: 1 missed event replayed, now at #1120`,
    );
  });

  it("summarises a snapshot in one line, with its reason, in both dialects", () => {
    const data = { reason: "epoch_changed", epoch: "e2", last_seq: 90, events: [] };
    const text =
      "current state (0 items) instead of a replay: the bridge restarted without its history (epoch_changed)";
    expect(formatPma(pma({ type: "snapshot", data, timestamp: AT, seq: 90 }), PLAIN)).toBe(
      `18:04:05 ${"snapshot".padEnd(26)} ${text} #90`,
    );
    const message = occupancy({
      message_id: "m1",
      message_type: "snapshot",
      timestamp: AT,
      endpoint: "/ws/alerts",
      room_id: null,
      requires_ack: false,
      data,
      seq: 90,
    });
    expect(formatOccupancy(message, PLAIN)).toBe(`18:04:05 ${"snapshot".padEnd(26)} ${text} #90`);
  });
});
