import { randomUUID } from "node:crypto";
import type { WebSocket } from "ws";
import type { Capability } from "../../config/schema.js";
import { parseResumeQuery, type SnapshotReason } from "../../core/delivery/resume.js";
import { isAdminOnlyEvent } from "../../core/delivery/undeliverable.js";
import { type BridgeEvent, EventKind, type JsonValue } from "../../core/events.js";
import type { EncodedEvent } from "../../core/hub/encoded-event.js";
import { perEvent } from "../../core/hub/per-event.js";
import { eventRoom, roomKey } from "../../core/hub/subscription-index.js";
import { AuthError } from "../auth/authenticator.js";
import { narrow, type Principal, roomAllowed } from "../auth/principal.js";
import { Connection, type ConnectionContext, type InboundErrorCodes } from "../connection.js";
import { sharedKindKey } from "../index-keys.js";
import type { OutboundMessage } from "../outbound-queue.js";
import { ProtocolError } from "../validation.js";
import { type OccupancyEncoder, occupancyMessageId } from "./encoder.js";
import {
  type Endpoint,
  type EndpointKind,
  endpointKey,
  endpointPath,
  isExemptOccupancyMessage,
  type OccupancyCommand,
  parseOccupancyMessage,
} from "./protocol.js";

export const OCCUPANCY_API_VERSION = "1.0.0";

/** The seed's wire codes for errors of this dialect. */
export const OccupancyErrorCode = {
  Auth: "WEBSOCKET_AUTH_ERROR",
  Validation: "WEBSOCKET_VALIDATION_ERROR",
  RateLimit: "WEBSOCKET_RATE_LIMIT_ERROR",
  Connection: "WEBSOCKET_CONNECTION_ERROR",
  Subscription: "SUBSCRIPTION_ERROR",
} as const;

const CAPABILITY_OF: Readonly<Record<EndpointKind, Capability>> = {
  predictions: "predictions",
  "system-status": "system_status",
  alerts: "alerts",
  room: "room_specific",
};

export const SUPPORTED_MESSAGE_TYPES = [
  "connection",
  "authentication",
  "subscribe",
  "unsubscribe",
  "subscription_status",
  "prediction_update",
  "system_status_update",
  "alert_notification",
  "drift_notification",
  "room_state_update",
  "heartbeat",
  "acknowledge",
  "error",
  "rate_limit_warning",
];

const OCCUPANCY_ERROR_CODES: InboundErrorCodes = {
  invalidFormat: OccupancyErrorCode.Validation,
  rateLimited: OccupancyErrorCode.RateLimit,
  authRequired: OccupancyErrorCode.Auth,
  internal: OccupancyErrorCode.Connection,
};

const NO_VIEWS: readonly string[] = [];
const PREDICTIONS = "/ws/predictions";
const SYSTEM_STATUS = "/ws/system-status";
const ALERTS = "/ws/alerts";
const ONLY_PREDICTIONS: readonly string[] = [PREDICTIONS];
const ONLY_SYSTEM_STATUS: readonly string[] = [SYSTEM_STATUS];
const ONLY_ALERTS: readonly string[] = [ALERTS];

/** The subscription keys (see `endpointKey`) an event can be seen under, built once per event. */
interface EventLabels {
  readonly room: string | null;
  readonly roomView: string | null;
  readonly predictionsInRoom: string | null;
  readonly alertsInRoom: string | null;
  /** `[roomView]` and `[predictions, roomView]`, shared by every recipient instead of built per delivery. */
  readonly onlyRoomView: readonly string[];
  readonly predictionsAndRoomView: readonly string[];
}

const labelsOf = perEvent((event): EventLabels => {
  const room = eventRoom(event);
  if (room === null) {
    return {
      room,
      roomView: null,
      predictionsInRoom: null,
      alertsInRoom: null,
      onlyRoomView: NO_VIEWS,
      predictionsAndRoomView: ONLY_PREDICTIONS,
    };
  }
  const roomView = `/ws/room/${room}`;
  return {
    room,
    roomView,
    predictionsInRoom: `${PREDICTIONS}#${room}`,
    alertsInRoom: `${ALERTS}#${room}`,
    onlyRoomView: [roomView],
    predictionsAndRoomView: [PREDICTIONS, roomView],
  };
});

/**
 * A client of the occupancy dialect (`/ws/predictions`, `/ws/system-status`, `/ws/alerts`,
 * `/ws/room/{room_id}`): it must authenticate; its path's endpoint is then subscribed; capabilities gate
 * endpoints and its rooms restrict every endpoint.
 */
export class OccupancySession extends Connection {
  readonly dialect = "occupancy";
  readonly endpoint: string;
  protected readonly errorCodes = OCCUPANCY_ERROR_CODES;
  private readonly subs = new Map<string, Endpoint>();
  private lastEvent: BridgeEvent | null = null;
  private lastViews: readonly string[] = NO_VIEWS;

  constructor(
    id: string,
    ws: WebSocket,
    ctx: ConnectionContext,
    remoteAddress: string,
    readonly encoder: OccupancyEncoder,
    private readonly pathEndpoint: Endpoint,
  ) {
    super(id, ws, ctx, remoteAddress);
    this.endpoint = endpointPath(pathEndpoint);
  }

  protected open(query: URLSearchParams, vouched: Principal | null): Promise<void> {
    this.sendMessage("connection", {
      message: "Connected to PMA Bridge occupancy WebSocket API",
      client_id: this.id,
      connection_id: this.id,
      server_version: this.ctx.version,
      api_version: OCCUPANCY_API_VERSION,
      endpoint: this.endpoint,
      server_time: new Date().toISOString(),
      authentication_required: true,
      supported_message_types: SUPPORTED_MESSAGE_TYPES,
      epoch: this.ctx.hub.epoch,
      last_seq: this.ctx.hub.lastSeq(),
    });
    // `?last_seq=` holds live messages back; the replay runs once authentication subscribed the endpoint.
    try {
      const request = parseResumeQuery(query);
      if (request !== undefined) this.resume.hold(request);
    } catch (error) {
      this.resumeFailed(error);
    }
    if (vouched !== null) this.accept(vouched, undefined);
    return Promise.resolve();
  }

  /** The endpoint labels under which this client gets the event (a prediction may come on two). */
  private views(event: BridgeEvent): readonly string[] {
    // By identity, not seq: the events of a snapshot share one seq.
    if (this.lastEvent !== event) {
      this.lastViews = this.computeViews(event);
      this.lastEvent = event;
    }
    return this.lastViews;
  }

  private computeViews(event: BridgeEvent): readonly string[] {
    const principal = this.principal;
    if (principal === null || this.subs.size === 0) return NO_VIEWS;
    const labels = labelsOf(event);
    const room = labels.room;
    // Runs per delivery: no closures, and the view lists come with the event's labels.
    const can = principal.capabilities;
    const roomView =
      labels.roomView !== null && can.has("room_specific") && this.subs.has(labels.roomView)
        ? labels.roomView
        : null;
    switch (event.kind) {
      case EventKind.PredictionUpdate: {
        if (!roomAllowed(principal, room)) return NO_VIEWS;
        const feed =
          can.has("predictions") && (this.subs.has(PREDICTIONS) || this.has(labels.predictionsInRoom))
            ? PREDICTIONS
            : null;
        if (feed === null) return roomView === null ? NO_VIEWS : labels.onlyRoomView;
        return roomView === null ? ONLY_PREDICTIONS : labels.predictionsAndRoomView;
      }
      case EventKind.SystemStatus:
        return can.has("system_status") && this.subs.has(SYSTEM_STATUS) ? ONLY_SYSTEM_STATUS : NO_VIEWS;
      case EventKind.Alert:
      case EventKind.Drift:
        if (room !== null && !roomAllowed(principal, room)) return NO_VIEWS;
        if (isAdminOnlyEvent(event) && !can.has("admin")) return NO_VIEWS;
        return can.has("alerts") && (this.subs.has(ALERTS) || this.has(labels.alertsInRoom))
          ? ONLY_ALERTS
          : NO_VIEWS;
      case EventKind.EntityStateChanged:
        return roomView !== null && roomAllowed(principal, room) ? labels.onlyRoomView : NO_VIEWS;
      default:
        return NO_VIEWS;
    }
  }

  private has(key: string | null): boolean {
    return key !== null && this.subs.has(key);
  }

  matches(event: BridgeEvent): boolean {
    return this.views(event).length > 0;
  }

  protected enqueue(encoded: EncodedEvent<OutboundMessage>): void {
    const event = encoded.event;
    for (const view of this.views(event)) {
      const message = encoded.view(view);
      // Recorded (on disk) before it is sent. Already pending for this identity (another of its connections,
      // or a replay of a message it has not acknowledged): the tracker's redelivery owns it, not this send.
      if (message.requiresAck) {
        const identity = this.identity();
        if (
          identity === null ||
          !this.ctx.delivery.acks.track(
            identity,
            occupancyMessageId(event, view),
            event.seq,
            message.frame.toString(),
          )
        ) {
          continue;
        }
      }
      this.push(message);
    }
  }

  /** Sent by the server's shared heartbeat timer to authenticated clients. */
  heartbeat(): void {
    if (this.principal === null) return;
    this.sendMessage("heartbeat", {
      server_time: new Date().toISOString(),
      connection_uptime: (Date.now() - this.connectedAt) / 1000,
    });
  }

  protected isExempt(message: unknown): boolean {
    return isExemptOccupancyMessage(message);
  }

  protected indexKeys(): string[] {
    const keys: string[] = [];
    for (const endpoint of this.subs.values()) {
      switch (endpoint.kind) {
        case "predictions":
          keys.push(sharedKindKey(EventKind.PredictionUpdate));
          break;
        case "system-status":
          keys.push(sharedKindKey(EventKind.SystemStatus));
          break;
        case "alerts":
          keys.push(sharedKindKey(EventKind.Alert), sharedKindKey(EventKind.Drift));
          break;
        case "room":
          keys.push(roomKey(endpoint.room ?? ""));
          break;
      }
    }
    return keys;
  }

  protected subscriptions(): JsonValue {
    return [...this.subs.values()].map((e) => ({ endpoint: endpointPath(e), room_id: e.room }));
  }

  /** The full envelope for replies and control messages; their `seq` is null (they are not events). */
  protected sendMessage(type: string, data: Record<string, unknown>, roomId: string | null = null): void {
    this.pushJson({
      message_id: randomUUID(),
      message_type: type,
      timestamp: new Date().toISOString(),
      endpoint: this.endpoint,
      room_id: roomId,
      requires_ack: false,
      data,
      seq: null,
    });
  }

  sendError(code: string, message: string, details?: Record<string, unknown>): void {
    this.ctx.metrics.add("errors_sent");
    this.sendMessage("error", {
      error: message,
      error_code: code,
      timestamp: new Date().toISOString(),
      ...details,
    });
  }

  protected async handle(message: unknown): Promise<void> {
    let command: OccupancyCommand;
    try {
      command = parseOccupancyMessage(message);
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      this.sendError(OccupancyErrorCode.Validation, error.message, { reason: error.code, ...error.details });
      return;
    }
    switch (command.type) {
      case "authentication":
        await this.login(command);
        return;
      case "subscribe":
        this.subscribe(command.endpoint, true);
        return;
      case "unsubscribe": {
        const existed = this.subs.delete(endpointKey(command.endpoint));
        this.reindex();
        this.subscriptionStatus(
          "unsubscribe",
          existed,
          command.endpoint,
          existed ? "Unsubscribed" : "Was not subscribed",
        );
        return;
      }
      case "heartbeat":
        return;
      case "acknowledge":
        this.acknowledge(command.messageId);
        return;
      case "resume":
        this.requestResume(command.data);
        return;
    }
  }

  sendSnapshot(reason: SnapshotReason, events: readonly BridgeEvent[], seq: number, epoch: string): void {
    const frames: Buffer[] = [];
    for (const event of events) {
      const encoded = this.encoder.encode(event);
      if (encoded !== null) for (const view of this.views(event)) frames.push(encoded.view(view).frame);
    }
    const head = JSON.stringify({
      message_id: randomUUID(),
      message_type: "snapshot",
      timestamp: new Date().toISOString(),
      endpoint: this.endpoint,
      room_id: null,
      requires_ack: false,
    });
    this.pushSnapshot({ open: `${head.slice(0, -1)},"data":`, close: `,"seq":${seq}}` }, frames, {
      reason,
      seq,
      epoch,
    });
  }

  /** The seed's error codes are coarse; a delivery error's own code goes in `reason`, as for other errors. */
  protected override sendDeliveryError(
    code: string,
    message: string,
    details?: Record<string, unknown>,
  ): void {
    this.sendError(OccupancyErrorCode.Validation, message, { reason: code, ...details });
  }

  private async login(command: Extract<OccupancyCommand, { type: "authentication" }>): Promise<void> {
    let granted: Principal;
    try {
      granted = await this.authenticate({ apiKey: command.apiKey, token: command.token });
    } catch (error) {
      if (!(error instanceof AuthError)) throw error;
      this.sendError(OccupancyErrorCode.Auth, `Authentication failed: ${error.message}`, {
        reason: error.code,
      });
      return;
    }
    const principal = narrow(granted, command.capabilities, command.roomFilters);
    if (principal.rooms !== null && principal.rooms.size === 0) {
      this.ctx.metrics.add("auth_failures");
      this.sendError(OccupancyErrorCode.Auth, "None of the requested rooms is granted to this credential", {
        reason: "ROOMS_NOT_GRANTED",
      });
      return;
    }
    this.accept(principal, command.clientName);
  }

  /** Takes a principal, answers `authentication` and subscribes the connection's own endpoint. */
  private accept(principal: Principal, clientName: string | undefined): void {
    // A new credential starts from a clean slate: old subscriptions were checked against the old one.
    this.subs.clear();
    this.reindex();
    this.principal = principal;
    this.clientName = clientName;
    this.sendMessage("authentication", {
      success: true,
      message: "Authentication successful",
      client_name: clientName ?? null,
      subject: principal.subject,
      capabilities: [...principal.capabilities],
      room_filters: principal.rooms === null ? [] : [...principal.rooms],
    });
    this.subscribe(this.pathEndpoint, false);
    this.afterLogin();
    const held = this.resume.pendingRequest();
    if (held !== undefined) this.resume.run(held);
  }

  private subscribe(endpoint: Endpoint, explicit: boolean): void {
    const principal = this.principal;
    const path = endpointPath(endpoint);
    if (principal === null) {
      this.sendError(OccupancyErrorCode.Auth, "Authentication required for subscriptions");
      return;
    }
    const capability = CAPABILITY_OF[endpoint.kind];
    let refusal: string | null = null;
    if (!principal.capabilities.has(capability))
      refusal = `the \`${capability}\` capability is required for ${path}`;
    else if (endpoint.room !== null && !roomAllowed(principal, endpoint.room)) {
      refusal = `room ${endpoint.room} is outside this connection's room filters`;
    }
    if (refusal !== null) {
      this.sendError(OccupancyErrorCode.Subscription, `Subscription to ${path} refused: ${refusal}`, {
        endpoint: path,
        room_id: endpoint.room,
      });
      return;
    }
    this.subs.set(endpointKey(endpoint), endpoint);
    this.reindex();
    this.subscriptionStatus(
      "subscribe",
      true,
      endpoint,
      explicit ? "Subscribed" : "Subscribed to this connection's endpoint",
    );
  }

  private subscriptionStatus(
    action: "subscribe" | "unsubscribe",
    success: boolean,
    endpoint: Endpoint,
    message: string,
  ): void {
    this.sendMessage("subscription_status", {
      action,
      success,
      endpoint: endpointPath(endpoint),
      room_id: endpoint.room,
      message,
    });
  }
}
