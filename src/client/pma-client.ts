import { BaseClient, type BaseClientOptions, ClientError, type Cursor, ReplyQueue } from "./base.js";
import {
  type EventFilters,
  type PmaClientMessage,
  type PmaEventType,
  type PmaMessage,
  type PmaMessageType,
  parsePmaMessage,
  type SubscriptionUpdateData,
  type WelcomeData,
} from "./pma-protocol.js";
import type { ParseResult } from "./validate.js";

export interface PmaClientOptions extends BaseClientOptions {
  /** The bridge's PMA endpoint, e.g. `ws://localhost:3001/ws`. */
  readonly url: string;
  /** A bridge token (`pma-bridge token`); without one the client reads what anonymous access allows. */
  readonly token?: string;
  /** Sent as `?client_id=`; the bridge uses it to tell this client's sessions apart. */
  readonly clientId?: string;
  /** Application-level `ping` interval; a connection silent for two intervals is dropped and redialled. 0 disables. */
  readonly pingIntervalMs?: number;
  /**
   * Subscriptions to hold from the start: sent on the first connection before the resume from `resumeFrom`,
   * so that its replay or snapshot covers them (subscribing after `connect()` is too late for that).
   */
  readonly subscriptions?: PmaSubscriptions;
}

/** What a client follows, as `PmaClientOptions.subscriptions` gives it. */
export interface PmaSubscriptions {
  readonly events?: readonly (PmaEventType | (string & {}))[];
  /** Filters for `events`. */
  readonly filters?: EventFilters;
  readonly entities?: readonly string[];
  readonly rooms?: readonly string[];
}

type PmaMessageEvents = { [T in PmaMessageType]: [message: PmaMessage<T>] };

/**
 * A typed client of the bridge's PMA dialect (`/ws`), for Node 22+ and browsers. It authenticates, keeps its
 * subscriptions across reconnects, resumes from the last `seq` it saw, and pings to notice dead links.
 *
 * ```ts
 * const client = new PmaClient({ url: "ws://localhost:3001/ws", token });
 * client.on("pma_entity_state_changed", (m) => console.log(m.data.entity_id, m.data.new_state));
 * await client.connect();
 * await client.subscribeEvents(["state_changed"]);
 * ```
 */
export class PmaClient extends BaseClient<PmaMessage, PmaMessageEvents> {
  /** The bridge's greeting on the current connection. */
  welcome: WelcomeData | undefined;
  /** Who the bridge says this client is, once authenticated. */
  subject: string | undefined;
  private readonly replies = new ReplyQueue<SubscriptionUpdateData>();
  private readonly events = new Map<string, EventFilters | undefined>();
  private readonly entities = new Set<string>();
  private readonly rooms = new Set<string>();
  /** Whether this connection's subscriptions were sent already. */
  private restored = false;
  /** The cursor this connection's URL resumes from; `resume` confirms it once the subscriptions are in place. */
  private urlCursor: Cursor | null = null;

  constructor(private readonly options: PmaClientOptions) {
    super(options);
    const initial = options.subscriptions ?? {};
    for (const type of initial.events ?? []) this.events.set(type, initial.filters);
    for (const id of initial.entities ?? []) this.entities.add(id);
    for (const id of initial.rooms ?? []) this.rooms.add(id);
    this.socket.on("open", () => {
      this.restored = false;
      // Pings get a reply, so two silent intervals mean the link is gone.
      const interval = options.pingIntervalMs ?? 30_000;
      this.watchForSilence(interval, 2 * interval, () =>
        this.send({ type: "ping", data: { timestamp: new Date().toISOString() } }),
      );
    });
  }

  /** Adds event types (HA names such as `state_changed`, or bridge kinds such as `prediction_update`). */
  async subscribeEvents(
    eventTypes: readonly (PmaEventType | (string & {}))[],
    filters?: EventFilters,
  ): Promise<SubscriptionUpdateData> {
    await this.whenReady();
    for (const type of eventTypes) this.events.set(type, filters);
    return this.request({
      type: "subscribe_ha_events",
      data: { event_types: eventTypes, ...(filters ? { filters } : {}) },
    });
  }

  async unsubscribeEvents(eventTypes: readonly string[]): Promise<SubscriptionUpdateData> {
    await this.whenReady();
    for (const type of eventTypes) this.events.delete(type);
    return this.request({ type: "unsubscribe_ha_events", data: { event_types: eventTypes } });
  }

  async subscribeEntities(entityIds: readonly string[]): Promise<SubscriptionUpdateData> {
    await this.whenReady();
    for (const id of entityIds) this.entities.add(id);
    return this.request({ type: "subscribe_ha_entities", data: { entity_ids: entityIds } });
  }

  async unsubscribeEntities(entityIds: readonly string[]): Promise<SubscriptionUpdateData> {
    await this.whenReady();
    for (const id of entityIds) this.entities.delete(id);
    return this.request({ type: "unsubscribe_ha_entities", data: { entity_ids: entityIds } });
  }

  async subscribeRooms(roomIds: readonly string[]): Promise<SubscriptionUpdateData> {
    await this.whenReady();
    for (const id of roomIds) this.rooms.add(id);
    return this.request({ type: "subscribe_ha_rooms", data: { room_ids: roomIds } });
  }

  async unsubscribeRooms(roomIds: readonly string[]): Promise<SubscriptionUpdateData> {
    await this.whenReady();
    for (const id of roomIds) this.rooms.delete(id);
    return this.request({ type: "unsubscribe_ha_rooms", data: { room_ids: roomIds } });
  }

  override close(): void {
    super.close();
    this.replies.rejectAll(new ClientError("CLIENT_CLOSED", "the client was closed"));
  }

  protected buildUrl(): string {
    const url = new URL(this.options.url);
    if (this.options.clientId !== undefined) url.searchParams.set("client_id", this.options.clientId);
    this.urlCursor = this.resumeOnUrl(url);
    return url.toString();
  }

  protected parse(raw: unknown): ParseResult<PmaMessage> {
    return parsePmaMessage(raw);
  }

  protected reportedPosition(message: PmaMessage): Cursor | null {
    return message.type === "snapshot" || message.type === "resume_status"
      ? { seq: message.data.last_seq, epoch: message.data.epoch }
      : null;
  }

  protected handle(message: PmaMessage): void {
    switch (message.type) {
      case "welcome":
        this.welcome = message.data;
        // Only a string: the epoch goes into the next connection's URL (a server that sends anything else gets
        // resumes without one).
        this.epoch = typeof message.data.epoch === "string" ? message.data.epoch : null;
        if (this.options.token !== undefined)
          this.send({ type: "authenticate", data: { token: this.options.token } });
        else this.restore();
        return;
      case "authentication_success":
        // Also sent unasked when the listener vouches for the user (Home Assistant ingress); restore only once.
        this.subject = message.data.subject;
        if (!this.restored) this.restore();
        return;
      case "authentication_failure":
        this.fail(new ClientError("AUTHENTICATION_FAILED", `${message.data.code}: ${message.data.message}`));
        return;
      case "subscription_update":
        this.replies.resolve(message.data);
        return;
      case "subscription_error":
        this.replies.reject(new ClientError(message.data.code, message.data.error, { ...message.data }));
        return;
      default:
        return;
    }
  }

  protected dispatch(message: PmaMessage): void {
    (this.emit as (type: PmaMessageType, m: PmaMessage) => void)(message.type, message);
  }

  protected onDisconnect(): void {
    this.replies.rejectAll(
      new ClientError("CONNECTION_CLOSED", "the connection closed before the bridge replied"),
    );
  }

  private request(message: PmaClientMessage): Promise<SubscriptionUpdateData> {
    const reply = this.replies.expect();
    if (!this.send(message))
      this.replies.reject(
        new ClientError("NOT_CONNECTED", "not connected; the subscription is restored on reconnect"),
      );
    return reply;
  }

  /** Re-sends every subscription this client holds (after each welcome/authentication), then declares ready. */
  private restore(): void {
    this.restored = true;
    const byFilters = new Map<string, { filters: EventFilters | undefined; types: string[] }>();
    for (const [type, filters] of this.events) {
      const key = JSON.stringify(filters ?? null);
      const group = byFilters.get(key) ?? { filters, types: [] };
      group.types.push(type);
      byFilters.set(key, group);
    }
    const restoring: Promise<SubscriptionUpdateData>[] = [];
    for (const { filters, types } of byFilters.values()) {
      restoring.push(
        this.request({
          type: "subscribe_ha_events",
          data: { event_types: types, ...(filters ? { filters } : {}) },
        }),
      );
    }
    if (this.entities.size > 0)
      restoring.push(
        this.request({ type: "subscribe_ha_entities", data: { entity_ids: [...this.entities] } }),
      );
    if (this.rooms.size > 0)
      restoring.push(this.request({ type: "subscribe_ha_rooms", data: { room_ids: [...this.rooms] } }));
    // A rejected restoration shows up as a `subscription_error` message too; ready does not wait on replies.
    for (const pending of restoring) pending.catch(() => undefined);
    // The bridge holds live messages back from a connection with `?last_seq=` until this `resume` (with the
    // URL's values, not a cursor that live messages may have moved since) says the subscriptions are in place.
    this.resume(this.urlCursor);
    this.markReady();
  }
}
