import { type BridgeEvent, EventKind, type NewBridgeEvent } from "../events.js";
import type { UndeliverableReport } from "./acks.js";

/** `component` of the alerts the delivery layer raises itself; only admins receive them. */
export const DELIVERY_COMPONENT = "delivery";
export const UNDELIVERABLE_ALERT_TYPE = "message_undeliverable";

/** True for the delivery layer's own alerts, which name other clients and so go to admins only. */
export function isAdminOnlyEvent(event: BridgeEvent): boolean {
  return event.kind === EventKind.Alert && event.data.component === DELIVERY_COMPONENT;
}

/** Does this encoded message carry one of our own undeliverable alerts? */
function reportsUndeliverable(frame: string): boolean {
  try {
    const parsed: unknown = JSON.parse(frame);
    const data =
      typeof parsed === "object" && parsed !== null ? (parsed as { data?: unknown }).data : undefined;
    return (
      typeof data === "object" &&
      data !== null &&
      (data as { alert_type?: unknown }).alert_type === UNDELIVERABLE_ALERT_TYPE
    );
  } catch {
    return false;
  }
}

/**
 * The alert raised when a client never acknowledged a message. Null when the lost message was itself such
 * an alert: an admin who does not acknowledge must not start an endless chain of alerts about alerts.
 */
export function undeliverableAlert(
  report: UndeliverableReport,
  now: Date,
): NewBridgeEvent<EventKind.Alert> | null {
  if (reportsUndeliverable(report.frame)) return null;
  const time = now.toISOString();
  return {
    kind: EventKind.Alert,
    time,
    source: "bridge",
    room_id: null,
    critical: false,
    data: {
      alert_id: `undeliverable:${report.identity}:${report.messageId}`,
      alert_type: UNDELIVERABLE_ALERT_TYPE,
      severity: "warning",
      title: "Message not acknowledged",
      message: `client ${report.identity} did not acknowledge message ${report.messageId} (${report.reason}, ${report.attempts} sends)`,
      room_id: null,
      component: DELIVERY_COMPONENT,
      resolved: false,
      created_at: time,
      recommended_action: "Check that the client is running and acknowledges requires_ack messages",
      client_identity: report.identity,
      message_id: report.messageId,
      seq: report.seq,
      reason: report.reason,
      attempts: report.attempts,
    },
  };
}
