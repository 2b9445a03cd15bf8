import { type BridgeEvent, EventKind, type PredictionData } from "../../core/events.js";
import { EncodedEvent, type EventEncoder } from "../../core/hub/encoded-event.js";
import { sanitizeAttributes } from "../auth/sanitize.js";
import type { OutboundMessage } from "../outbound-queue.js";
import { humanDuration, secondsUntil } from "../time-until.js";

/** The PMA message type for each event kind. */
export function pmaMessageType(kind: EventKind): string {
  switch (kind) {
    case EventKind.EntityStateChanged:
    case EventKind.EntityAdded:
    case EventKind.EntityRemoved:
    case EventKind.EntityUpdated:
    case EventKind.RoomAdded:
    case EventKind.RoomUpdated:
    case EventKind.RoomRemoved:
    case EventKind.AreaUpdated:
    case EventKind.AutomationTriggered:
    case EventKind.SceneActivated:
      return `pma_${kind}`;
    case EventKind.PredictionUpdate:
    case EventKind.Alert:
    case EventKind.Drift:
    case EventKind.SystemStatus:
    case EventKind.SyncStatus:
    case EventKind.AdapterStatus:
    case EventKind.ConnectionStatus:
    case EventKind.SourceEvent:
      return kind;
  }
}

/** Prediction data with `time_until_*` computed now, as both dialects send it. */
export function predictionWithTimeUntil(data: PredictionData, now: number): Record<string, unknown> {
  const seconds = secondsUntil(data.predicted_time, now);
  return {
    ...data,
    time_until_seconds: seconds,
    time_until_human: seconds === null ? null : humanDuration(seconds),
  };
}

/** The event's payload as clients see it: sensitive attributes stripped, predictions timed. */
export function pmaData(event: BridgeEvent, now: number): unknown {
  switch (event.kind) {
    case EventKind.EntityStateChanged:
      return { ...event.data, attributes: sanitizeAttributes(event.data.entity_type, event.data.attributes) };
    case EventKind.EntityAdded:
    case EventKind.EntityUpdated: {
      const entity = event.data.entity;
      return {
        ...event.data,
        entity: { ...entity, attributes: sanitizeAttributes(entity.type, entity.attributes) },
      };
    }
    case EventKind.PredictionUpdate:
      return predictionWithTimeUntil(event.data, now);
    default:
      return event.data;
  }
}

/** The message id of an acknowledged PMA message: the same on every redelivery. */
export function pmaMessageId(event: BridgeEvent): string {
  return `${event.epoch}:${event.seq}`;
}

/**
 * Encodes each event once into the PMA envelope `{type, data, timestamp, seq}`; one view, shared by all.
 * Messages that need an acknowledgement also carry `message_id` and `requires_ack: true`.
 */
export class PmaEncoder implements EventEncoder<OutboundMessage> {
  readonly dialect = "pma";

  constructor(
    private readonly countRender: (dialect: string) => void,
    /** Which events need an acknowledgement (from `acks.message_types`). */
    readonly requiresAck: (event: BridgeEvent) => boolean = () => false,
    private readonly now: () => number = Date.now,
  ) {}

  encode(event: BridgeEvent): EncodedEvent<OutboundMessage> {
    const requiresAck = this.requiresAck(event);
    const ack = requiresAck ? { message_id: pmaMessageId(event), requires_ack: true } : {};
    return new EncodedEvent(
      event,
      () => ({
        frame: Buffer.from(
          JSON.stringify({
            type: pmaMessageType(event.kind),
            ...ack,
            data: pmaData(event, this.now()),
            timestamp: event.time,
            seq: event.seq,
          }),
        ),
        seq: event.seq,
        conflationKey: event.kind === EventKind.EntityStateChanged ? `state:${event.data.entity_id}` : null,
        requiresAck,
        shared: true,
      }),
      () => this.countRender(this.dialect),
    );
  }
}
