import { describe, expect, it } from "vitest";
import { parseOccupancyMessage, parsePmaMessage } from "../../src/client/index.js";
import { backoffDelay } from "../../src/client/socket.js";

describe("parsePmaMessage", () => {
  const welcome = {
    type: "welcome",
    data: {
      client_id: "c1",
      server_time: "2026-01-01T00:00:00Z",
      message: "hi",
      features: [],
      protocol_version: "1.0",
    },
    timestamp: "2026-01-01T00:00:00Z",
  };

  it("accepts a well-formed frame and normalises a missing seq to null", () => {
    expect(parsePmaMessage(welcome)).toEqual({ ok: true, message: { ...welcome, seq: null } });
  });

  it("keeps the seq of event frames", () => {
    const frame = {
      type: "prediction_update",
      data: {
        room_id: "kitchen",
        predicted_time: "2026-01-01T01:00:00Z",
        transition_type: "occupied",
        confidence_score: 0.9,
      },
      timestamp: "2026-01-01T00:00:00Z",
      seq: 12,
    };
    const result = parsePmaMessage(frame);
    expect(result.ok && result.message.seq).toBe(12);
  });

  it.each([
    ["a non-object", [1, 2], "frame is not a JSON object"],
    ["an unknown type", { ...welcome, type: "surprise" }, 'unknown message type "surprise"'],
    ["data that is not an object", { ...welcome, data: "x" }, "data must be an object"],
    ["a missing timestamp", { type: "pong", data: {} }, "timestamp must be a string"],
    ["a non-numeric seq", { ...welcome, seq: "7" }, "seq must be a number"],
    [
      "a field of the wrong type",
      { ...welcome, data: { client_id: 3, server_time: "x" } },
      "welcome: data.client_id must be string",
    ],
    [
      "a state change without attributes",
      {
        type: "pma_entity_state_changed",
        data: { entity_id: "light.a", old_state: null, new_state: "on" },
        timestamp: "t",
      },
      "pma_entity_state_changed: data.attributes must be object",
    ],
  ])("rejects %s", (_name, raw, error) => {
    expect(parsePmaMessage(raw)).toEqual({ ok: false, error, raw });
  });
});

describe("parseOccupancyMessage", () => {
  const alert = {
    message_id: "e:3:/ws/alerts",
    message_type: "alert_notification",
    timestamp: "2026-01-15T14:30:00.000Z",
    endpoint: "/ws/alerts",
    room_id: "bedroom",
    requires_ack: true,
    data: {
      alert_id: "a1",
      severity: "warning",
      message: "accuracy dropped",
      alert_type: "accuracy_degradation",
    },
    seq: 3,
  };

  it("accepts the seed document's alert envelope", () => {
    expect(parseOccupancyMessage(alert)).toEqual({ ok: true, message: alert });
  });

  it("fills the envelope keys replies may omit (room, ack flag, seq)", () => {
    const reply = {
      message_id: "r1",
      message_type: "authentication",
      timestamp: "t",
      endpoint: "/ws/alerts",
      data: { success: true, message: "ok" },
    };
    expect(parseOccupancyMessage(reply)).toEqual({
      ok: true,
      message: { ...reply, room_id: null, requires_ack: false, seq: null },
    });
  });

  it.each([
    ["a PMA frame", { type: "welcome", data: {} }, "message_type must be a string"],
    ["an unknown type", { ...alert, message_type: "x" }, 'unknown message type "x"'],
    ["a missing message_id", { ...alert, message_id: undefined }, "message_id must be a string"],
    ["a numeric room", { ...alert, room_id: 4 }, "endpoint and room_id must be strings or null"],
    ["a textual requires_ack", { ...alert, requires_ack: "yes" }, "requires_ack must be a boolean"],
    [
      "an alert without its id",
      { ...alert, data: { severity: "x", message: "y" } },
      "alert_notification: data.alert_id must be string",
    ],
  ])("rejects %s", (_name, raw, error) => {
    expect(parseOccupancyMessage(raw)).toEqual({ ok: false, error, raw });
  });
});

describe("snapshot messages", () => {
  const state = {
    type: "pma_entity_state_changed",
    data: { entity_id: "light.kitchen", old_state: "on", new_state: "on", attributes: {} },
    timestamp: "2026-01-01T00:00:00Z",
    seq: 40,
  };
  const snapshot = (reason: string, events: unknown[]) => ({
    type: "snapshot",
    data: { reason, epoch: "e2", last_seq: 40, events },
    timestamp: "2026-01-01T00:00:00Z",
    seq: 40,
  });

  it("parses a PMA snapshot's items with the same parser, typed", () => {
    const result = parsePmaMessage(snapshot("gap_too_old", [state]));
    expect(result).toEqual({ ok: true, message: snapshot("gap_too_old", [state]), rejected: [] });
  });

  it("leaves out and reports an item it cannot read, keeping the rest of the state", () => {
    const unknown = { type: "from_a_newer_bridge", data: {}, timestamp: "2026-01-01T00:00:00Z", seq: 40 };
    const result = parsePmaMessage(snapshot("epoch_changed", [unknown, state]));
    expect(result.ok && result.message.type === "snapshot" && result.message.data.events).toEqual([state]);
    expect(result.ok && result.rejected).toEqual([
      { error: 'unknown message type "from_a_newer_bridge"', raw: unknown },
    ]);
  });

  it.each([
    ["an unknown reason", snapshot("because", []), 'snapshot: unknown reason "because"'],
    [
      "events that are not a list",
      {
        ...snapshot("gap_too_old", []),
        data: { reason: "gap_too_old", epoch: "e2", last_seq: 40, events: {} },
      },
      "snapshot: data.events must be array",
    ],
  ])("refuses a snapshot with %s", (_, frame, error) => {
    expect(parsePmaMessage(frame)).toMatchObject({ ok: false, error });
  });

  it("parses an occupancy snapshot of room_state_update items and a resume_status", () => {
    const envelope = (message_type: string, data: Record<string, unknown>, seq: number | null) => ({
      message_id: "m1",
      message_type,
      timestamp: "2026-01-01T00:00:00Z",
      endpoint: "/ws/room/kitchen",
      room_id: "kitchen",
      requires_ack: false,
      data,
      seq,
    });
    const item = envelope("room_state_update", { room_id: "kitchen", entity_id: "light.kitchen" }, 40);
    const frame = envelope(
      "snapshot",
      { reason: "gap_too_old", epoch: "e2", last_seq: 40, events: [item] },
      40,
    );
    expect(parseOccupancyMessage(frame)).toEqual({ ok: true, message: frame, rejected: [] });
    const status = envelope(
      "resume_status",
      { result: "replayed", from_seq: 10, last_seq: 40, replayed: 3, epoch: "e2" },
      null,
    );
    expect(parseOccupancyMessage(status)).toEqual({ ok: true, message: status });
  });
});

describe("backoffDelay", () => {
  const options = { initialDelayMs: 500, maxDelayMs: 15_000, factor: 2, jitter: 0.25 };

  it("doubles from the initial delay up to the cap", () => {
    const middle = () => 0.5;
    expect([0, 1, 2, 5, 10].map((n) => backoffDelay(n, options, middle))).toEqual([
      500, 1000, 2000, 15_000, 15_000,
    ]);
  });

  it("spreads each delay by the jitter either way", () => {
    expect(backoffDelay(1, options, () => 0)).toBe(750);
    expect(backoffDelay(1, options, () => 0.999_999)).toBe(1250);
  });
});
