import type { WebSocket } from "ws";
import type { Capability } from "../../config/schema.js";
import { parseResumeQuery, type SnapshotReason } from "../../core/delivery/resume.js";
import { isAdminOnlyEvent } from "../../core/delivery/undeliverable.js";
import { type BridgeEvent, EventKind, type JsonValue } from "../../core/events.js";
import type { EncodedEvent } from "../../core/hub/encoded-event.js";
import { perEvent } from "../../core/hub/per-event.js";
import { eventRoom } from "../../core/hub/subscription-index.js";
import { AuthError } from "../auth/authenticator.js";
import { ANONYMOUS, type Principal, roomAllowed, SENSITIVE_DOMAINS } from "../auth/principal.js";
import { CLIENT_ID, Connection, type ConnectionContext, type InboundErrorCodes } from "../connection.js";
import { sharedKindKey } from "../index-keys.js";
import type { OutboundMessage } from "../outbound-queue.js";
import { type PmaEncoder, pmaMessageId } from "./encoder.js";
import {
  isExemptPmaMessage,
  isSubscriptionCommand,
  type PmaCommand,
  PmaCommandError,
  parsePmaMessage,
  type SubscriptionCommandType,
} from "./protocol.js";
import { domainOf, MAX_SUBSCRIPTIONS, PmaSubscriptions } from "./selectors.js";

export const PMA_PROTOCOL_VERSION = "1.0";
const FEATURES = ["subscriptions", "heartbeat", "authentication", "rate_limit", "sequence_numbers"];

/** Reach every authenticated client regardless of subscriptions. */
const SYSTEM_KINDS: ReadonlySet<EventKind> = new Set([
  EventKind.SystemStatus,
  EventKind.SyncStatus,
  EventKind.AdapterStatus,
  EventKind.ConnectionStatus,
]);
const ANONYMOUS_KINDS: ReadonlySet<EventKind> = new Set([
  EventKind.EntityStateChanged,
  EventKind.EntityAdded,
  EventKind.EntityRemoved,
  EventKind.EntityUpdated,
]);

/** What decides who may see an event, worked out once per event. */
interface Visibility {
  readonly system: boolean;
  /** Anonymous clients may see it: an entity event outside the sensitive domains. */
  readonly anonymous: boolean;
  readonly adminOnly: boolean;
  readonly capability: Capability;
  readonly room: string | null;
  /** About an entity or a room, so the principal's rooms apply (floor-level and room-less events pass). */
  readonly roomScoped: boolean;
}

const visibility = perEvent((event): Visibility => {
  const domain = domainOf(event);
  const room = eventRoom(event);
  return {
    system: SYSTEM_KINDS.has(event.kind),
    anonymous: ANONYMOUS_KINDS.has(event.kind) && domain !== undefined && !SENSITIVE_DOMAINS.has(domain),
    adminOnly: isAdminOnlyEvent(event),
    capability:
      event.kind === EventKind.PredictionUpdate
        ? "predictions"
        : event.kind === EventKind.Alert || event.kind === EventKind.Drift
          ? "alerts"
          : "entities",
    room,
    roomScoped: room !== null || event.entity_id !== undefined,
  };
});

function allowed(principal: Principal, v: Visibility): boolean {
  if (principal.kind === "anonymous") return v.anonymous;
  if (v.system) return true;
  if (v.adminOnly) return principal.capabilities.has("admin");
  if (!principal.capabilities.has(v.capability)) return false;
  return !v.roomScoped || roomAllowed(principal, v.room);
}

const SUBSCRIPTION_TYPE: Record<SubscriptionCommandType, string> = {
  subscribe_ha_events: "ha_events",
  unsubscribe_ha_events: "ha_events",
  subscribe_ha_entities: "ha_entities",
  unsubscribe_ha_entities: "ha_entities",
  subscribe_ha_rooms: "ha_rooms",
  unsubscribe_ha_rooms: "ha_rooms",
  subscribe_room: "room",
  unsubscribe_room: "room",
};

const PMA_ERROR_CODES: InboundErrorCodes = {
  invalidFormat: "INVALID_MESSAGE_FORMAT",
  rateLimited: "RATE_LIMITED",
  authRequired: "AUTH_REQUIRED",
  internal: "INTERNAL_ERROR",
};

/** A client of the PMA dialect (`/ws`): envelope `{type, data, timestamp, seq}`. */
export class PmaSession extends Connection {
  readonly dialect = "pma";
  readonly endpoint = "/ws";
  protected readonly errorCodes = PMA_ERROR_CODES;
  private readonly subs = new PmaSubscriptions();

  constructor(
    id: string,
    ws: WebSocket,
    ctx: ConnectionContext,
    remoteAddress: string,
    readonly encoder: PmaEncoder,
  ) {
    super(id, ws, ctx, remoteAddress);
  }

  protected async open(query: URLSearchParams, vouched: Principal | null): Promise<void> {
    const token = query.get("token");
    if (this.ctx.auth.allowAnonymous) this.principal = ANONYMOUS;
    this.sendMessage("welcome", {
      client_id: this.id,
      server_time: new Date().toISOString(),
      message: "Connected to PMA Bridge WebSocket server",
      features: FEATURES,
      protocol_version: PMA_PROTOCOL_VERSION,
      epoch: this.ctx.hub.epoch,
      last_seq: this.ctx.hub.lastSeq(),
      authentication_required: !this.ctx.auth.allowAnonymous,
    });
    // The `client_id` asked for names the client for acknowledgements even when the connection had to get
    // another id (its previous connection is still open).
    const requested = query.get("client_id");
    if (requested !== null && CLIENT_ID.test(requested)) this.clientName = requested;
    // `?last_seq=` holds live messages back until the client sends `resume` (its subscriptions restored).
    try {
      const request = parseResumeQuery(query);
      if (request !== undefined) this.resume.hold(request);
    } catch (error) {
      this.resumeFailed(error);
    }
    if (vouched !== null) this.accept(vouched);
    else if (token !== null && token !== "") await this.login(token);
    this.reindex();
  }

  matches(event: BridgeEvent): boolean {
    const principal = this.principal;
    if (principal === null) return false;
    const v = visibility(event);
    if (!allowed(principal, v)) return false;
    return (v.system && principal.kind !== "anonymous") || this.subs.matches(event, v.room);
  }

  protected enqueue(encoded: EncodedEvent<OutboundMessage>): void {
    const message = encoded.view();
    if (message.requiresAck) {
      const identity = this.identity();
      const event = encoded.event;
      // Recorded before it is sent; when already pending for this identity, the tracker's redelivery owns it.
      if (
        identity === null ||
        !this.ctx.delivery.acks.track(identity, pmaMessageId(event), event.seq, message.frame.toString())
      ) {
        return;
      }
    }
    this.push(message);
  }

  sendSnapshot(reason: SnapshotReason, events: readonly BridgeEvent[], seq: number, epoch: string): void {
    const frames = events.flatMap((event) => {
      const encoded = this.encoder.encode(event);
      return encoded === null ? [] : [encoded.view().frame];
    });
    this.pushSnapshot(
      {
        open: `{"type":"snapshot","data":`,
        close: `,"timestamp":${JSON.stringify(new Date().toISOString())},"seq":${seq}}`,
      },
      frames,
      { reason, seq, epoch },
    );
  }

  // The home's own id strings for ids it knows, so that clients following the same entities and rooms
  // share one copy of each instead of keeping the copy their JSON was parsed into (idle memory).
  private knownEntityId(id: string): string {
    return this.ctx.home?.entity(id)?.id ?? id;
  }

  private knownRoomId(id: string): string {
    return this.ctx.home?.room(id)?.id ?? id;
  }

  protected isExempt(message: unknown): boolean {
    return isExemptPmaMessage(message);
  }

  protected indexKeys(): string[] {
    const keys = this.subs.indexKeys();
    if (this.principal !== null && this.principal.kind !== "anonymous") {
      for (const kind of SYSTEM_KINDS) keys.push(sharedKindKey(kind));
    }
    return keys;
  }

  protected subscriptions(): JsonValue {
    return this.subs.describe();
  }

  protected sendMessage(type: string, data: Record<string, unknown>): void {
    this.pushJson({ type, data, timestamp: new Date().toISOString() });
  }

  sendError(code: string, message: string, details?: Record<string, unknown>): void {
    this.ctx.metrics.add("errors_sent");
    this.sendMessage("error", { code, message, details: details ?? null });
  }

  protected async handle(message: unknown): Promise<void> {
    let command: PmaCommand;
    try {
      command = parsePmaMessage(message);
    } catch (error) {
      if (!(error instanceof PmaCommandError)) throw error;
      if (isSubscriptionCommand(error.command)) {
        this.subscriptionError(error.command, error.code, error.message, error.details);
      } else {
        this.sendError(
          error.code,
          error.message,
          error.details === undefined ? undefined : { ...error.details },
        );
      }
      return;
    }
    switch (command.type) {
      case "ping":
        this.sendMessage("pong", {
          timestamp: command.timestamp ?? new Date().toISOString(),
          server_time: new Date().toISOString(),
        });
        return;
      case "authenticate":
        await this.login(command.token);
        this.reindex();
        return;
      case "acknowledge":
        this.acknowledge(command.messageId);
        return;
      case "resume":
        this.requestResume(command.data);
        return;
      default:
        this.subscription(command);
    }
  }

  private async login(token: string): Promise<void> {
    let principal: Principal;
    try {
      principal = await this.authenticate({ token });
    } catch (error) {
      if (!(error instanceof AuthError)) throw error;
      this.sendMessage("authentication_failure", { code: error.code, message: error.message });
      return;
    }
    this.accept(principal);
  }

  private accept(principal: Principal): void {
    this.principal = principal;
    this.sendMessage("authentication_success", {
      client_id: this.id,
      subject: this.principal.subject,
      capabilities: [...this.principal.capabilities],
      rooms: this.principal.rooms === null ? [] : [...this.principal.rooms],
    });
    this.afterLogin();
  }

  private subscription(
    command: Exclude<PmaCommand, { type: "ping" | "authenticate" | "acknowledge" | "resume" }>,
  ): void {
    if (this.principal === null) {
      this.subscriptionError(command.type, "AUTH_REQUIRED", "Authenticate before subscribing");
      return;
    }
    const subscribe = command.type.startsWith("subscribe");
    let items: string[] | undefined;
    switch (command.type) {
      case "subscribe_ha_events":
        items = this.subs.addEventTypes(command.eventTypes, command.filters);
        break;
      case "unsubscribe_ha_events":
        items = this.subs.removeEventTypes(command.eventTypes);
        break;
      case "subscribe_ha_entities":
        items = this.subs.addIds(
          "entities",
          command.entityIds.map((id) => this.knownEntityId(id)),
        );
        break;
      case "unsubscribe_ha_entities":
        items = this.subs.removeIds("entities", command.entityIds);
        break;
      case "subscribe_ha_rooms":
        if (!this.roomsGranted(command.type, command.roomIds)) return;
        items = this.subs.addIds(
          "rooms",
          command.roomIds.map((id) => this.knownRoomId(id)),
        );
        break;
      case "unsubscribe_ha_rooms":
        items = this.subs.removeIds("rooms", command.roomIds);
        break;
      case "subscribe_room":
        if (!this.roomsGranted(command.type, [command.roomId])) return;
        // Reported even when already subscribed (as before: a legacy room is one item, not a list).
        items =
          this.subs.addIds("legacyRooms", [command.roomId]) === undefined ? undefined : [command.roomId];
        break;
      case "unsubscribe_room":
        items = this.subs.removeIds("legacyRooms", [command.roomId]);
        break;
    }
    if (items === undefined) {
      this.subscriptionError(
        command.type,
        "TOO_MANY_SUBSCRIPTIONS",
        `A connection may follow at most ${MAX_SUBSCRIPTIONS} entities, rooms and event types`,
        { max_subscriptions: MAX_SUBSCRIPTIONS, total_subscriptions: this.subs.total() },
      );
      return;
    }
    this.reindex();
    this.sendMessage("subscription_update", {
      action: subscribe ? "subscribed" : "unsubscribed",
      type: SUBSCRIPTION_TYPE[command.type],
      items,
      total_subscriptions: this.subs.total(),
    });
  }

  /** Subscribing to a room outside the credential's rooms is refused, not silently empty. */
  private roomsGranted(type: SubscriptionCommandType, roomIds: readonly string[]): boolean {
    const principal = this.principal;
    const refused = roomIds.filter((id) => principal === null || !roomAllowed(principal, id));
    if (refused.length === 0) return true;
    this.subscriptionError(type, "ROOM_NOT_ALLOWED", "Your credential does not grant these rooms", {
      invalid: refused,
    });
    return false;
  }

  private subscriptionError(
    type: SubscriptionCommandType,
    code: string,
    error: string,
    details?: Readonly<Record<string, unknown>>,
  ): void {
    const invalid = details?.invalid;
    this.sendMessage("subscription_error", {
      action: type.startsWith("subscribe") ? "subscribe" : "unsubscribe",
      type: SUBSCRIPTION_TYPE[type],
      error,
      code,
      ...(Array.isArray(invalid) && code === "INVALID_ENTITY_ID" ? { entity_id: invalid[0] } : {}),
      ...(Array.isArray(invalid) && code === "INVALID_ROOM_ID" ? { room_id: invalid[0] } : {}),
      ...details,
    });
  }
}
