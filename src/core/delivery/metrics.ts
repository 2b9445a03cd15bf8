import { Counter, Gauge, type Registry } from "prom-client";
import type { AckOutcome } from "./store.js";

export type UndeliverableReason = "max_attempts" | "expired" | "overflow";
export type ResumeOutcome =
  | "replayed"
  | "up_to_date"
  | "snapshot_gap_too_old"
  | "snapshot_epoch_changed"
  | "rejected";

/** Prometheus series for acknowledgements and resume. Registered on the registry the HTTP `/metrics` serves. */
export class DeliveryMetrics {
  readonly acks: Counter<"outcome">;
  readonly sent: Counter;
  readonly redeliveries: Counter;
  readonly undeliverable: Counter<"reason">;
  readonly pending: Gauge;
  readonly resumes: Counter<"outcome">;
  readonly replayed: Counter;

  constructor(registry: Registry) {
    const registers = [registry];
    this.acks = new Counter({
      name: "pma_bridge_acks_total",
      help: "Acknowledge messages received, by outcome (acknowledged, duplicate, expired, unknown)",
      labelNames: ["outcome"],
      registers,
    });
    this.sent = new Counter({
      name: "pma_bridge_ack_messages_sent_total",
      help: "requires_ack messages first sent to a client identity",
      registers,
    });
    this.redeliveries = new Counter({
      name: "pma_bridge_ack_redeliveries_total",
      help: "requires_ack messages sent again (timeout or reconnect)",
      registers,
    });
    this.undeliverable = new Counter({
      name: "pma_bridge_ack_undeliverable_total",
      help: "requires_ack messages given up on, by reason (max_attempts, expired, overflow)",
      labelNames: ["reason"],
      registers,
    });
    this.pending = new Gauge({
      name: "pma_bridge_acks_pending",
      help: "requires_ack messages waiting for an acknowledgement (persisted)",
      registers,
    });
    this.resumes = new Counter({
      name: "pma_bridge_resumes_total",
      help: "Resume requests, by outcome",
      labelNames: ["outcome"],
      registers,
    });
    this.replayed = new Counter({
      name: "pma_bridge_replayed_messages_total",
      help: "Messages sent again from the replay ring on resume",
      registers,
    });
  }

  countAck(outcome: AckOutcome): void {
    this.acks.inc({ outcome });
  }

  countResume(outcome: ResumeOutcome): void {
    this.resumes.inc({ outcome });
  }
}
