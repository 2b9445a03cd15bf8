import { describe, expect, it } from "vitest";
import type { UndeliverableReport } from "../../../src/core/delivery/acks.js";
import { isAdminOnlyEvent, undeliverableAlert } from "../../../src/core/delivery/undeliverable.js";
import type { BridgeEvent } from "../../../src/core/events.js";
import { alertEvent } from "./fixtures.js";

const report: UndeliverableReport = {
  identity: "tablet/kitchen",
  messageId: "e1:7:/ws/alerts",
  seq: 7,
  attempts: 5,
  reason: "max_attempts",
  frame: JSON.stringify({ message_id: "e1:7:/ws/alerts", data: { alert_type: "accuracy_degradation" } }),
};

describe("undeliverableAlert", () => {
  it("describes which client did not acknowledge which message, for admins only", () => {
    const alert = undeliverableAlert(report, new Date("2026-01-01T00:00:00.000Z"));
    expect(alert).toMatchObject({
      kind: "alert",
      critical: false,
      data: {
        alert_type: "message_undeliverable",
        component: "delivery",
        client_identity: "tablet/kitchen",
        message_id: "e1:7:/ws/alerts",
        reason: "max_attempts",
      },
    });
    expect(
      isAdminOnlyEvent({ ...(alert as NonNullable<typeof alert>), seq: 1, epoch: "e" } as BridgeEvent),
    ).toBe(true);
    expect(isAdminOnlyEvent(alertEvent(1))).toBe(false);
  });

  it("raises nothing when the lost message was itself an undeliverable alert", () => {
    const frame = JSON.stringify({ data: { alert_type: "message_undeliverable" } });
    expect(undeliverableAlert({ ...report, frame }, new Date())).toBeNull();
  });
});
