import { BaseClient, type BaseClientOptions, ClientError, type Cursor, ReplyQueue } from "./base.js";
import {
  type ConnectionData,
  type OccupancyClientMessage,
  type OccupancyMessage,
  type OccupancyMessageType,
  parseOccupancyMessage,
  type SubscriptionStatusData,
} from "./occupancy-protocol.js";
import type { ParseResult } from "./validate.js";

export interface OccupancyClientOptions extends BaseClientOptions {
  /** One endpoint of the bridge, e.g. `ws://localhost:3001/ws/predictions` or `…/ws/room/kitchen`. */
  readonly url: string;
  /** An API key (`auth.api_keys`) or a bridge token; one is needed for predictions, alerts and status. */
  readonly apiKey?: string;
  readonly token?: string;
  readonly clientName?: string;
  /** Requested capabilities (`predictions`, `system_status`, `alerts`, `room_specific`); empty = all granted. */
  readonly capabilities?: readonly string[];
  /** Rooms to restrict every endpoint to; empty = all granted rooms. */
  readonly roomFilters?: readonly string[];
  /** Acknowledge `requires_ack` messages after the listeners ran (default true). */
  readonly autoAck?: boolean;
  /**
   * A connection the bridge sent nothing on for this long is dropped and redialled (default 90 000: three of
   * the bridge's 30-second heartbeats). 0 disables.
   */
  readonly silenceTimeoutMs?: number;
}

type OccupancyMessageEvents = { [T in OccupancyMessageType]: [message: OccupancyMessage<T>] };

interface ExtraSubscription {
  readonly endpoint: string;
  readonly roomId: string | null;
}

/**
 * A typed client of the bridge's occupancy dialect (seed 002). It authenticates after the `connection`
 * greeting, answers heartbeats, acknowledges alerts and drift notices, and restores extra endpoint
 * subscriptions and its `seq` cursor after reconnecting.
 */
export class OccupancyClient extends BaseClient<OccupancyMessage, OccupancyMessageEvents> {
  connection: ConnectionData | undefined;
  /** Capabilities and rooms the bridge granted at the last authentication. */
  granted: { capabilities: readonly string[]; roomFilters: readonly string[] } | undefined;
  private readonly replies = new ReplyQueue<SubscriptionStatusData>();
  private readonly extra = new Map<string, ExtraSubscription>();
  private authenticating = false;
  /** Whether this connection resumes from its URL (the bridge replays right after authentication). */
  private resumesOnUrl = false;

  constructor(private readonly options: OccupancyClientOptions) {
    super(options);
    // The dialect has no request the bridge must answer; its heartbeats are what shows the link is alive.
    const silence = options.silenceTimeoutMs ?? 90_000;
    this.socket.on("open", () => this.watchForSilence(silence / 3, silence));
  }

  /** Subscribes this connection to another endpoint as well (e.g. `/ws/alerts`, or `/ws/room/kitchen`). */
  async subscribe(endpoint: string, roomId: string | null = null): Promise<SubscriptionStatusData> {
    await this.whenReady();
    this.extra.set(`${endpoint}\0${roomId ?? ""}`, { endpoint, roomId });
    return this.request({ type: "subscribe", data: { endpoint, room_id: roomId, filters: {} } });
  }

  async unsubscribe(endpoint: string, roomId: string | null = null): Promise<SubscriptionStatusData> {
    await this.whenReady();
    this.extra.delete(`${endpoint}\0${roomId ?? ""}`);
    return this.request({ type: "unsubscribe", data: { endpoint, room_id: roomId } });
  }

  /** Acknowledges one message; only needed with `autoAck: false`. */
  acknowledge(messageId: string): boolean {
    return this.send({
      type: "acknowledge",
      data: { message_id: messageId },
    } satisfies OccupancyClientMessage);
  }

  override close(): void {
    super.close();
    this.replies.rejectAll(new ClientError("CLIENT_CLOSED", "the client was closed"));
  }

  /**
   * Resumes on the URL, so the replay comes strictly before live messages, unless the client holds extra
   * subscriptions: the bridge runs a URL resume right after authentication, when only the path's endpoint
   * is subscribed, so their missed events would not be replayed. Then `resume` follows the restored
   * subscriptions instead (live messages may come first; each has its `seq`).
   */
  protected buildUrl(): string {
    const url = new URL(this.options.url);
    this.resumesOnUrl = this.extra.size === 0 && this.resumeOnUrl(url) !== null;
    return url.toString();
  }

  protected reportedPosition(message: OccupancyMessage): Cursor | null {
    return message.message_type === "snapshot" || message.message_type === "resume_status"
      ? { seq: message.data.last_seq, epoch: message.data.epoch }
      : null;
  }

  protected parse(raw: unknown): ParseResult<OccupancyMessage> {
    return parseOccupancyMessage(raw);
  }

  protected handle(message: OccupancyMessage): void {
    switch (message.message_type) {
      case "connection":
        this.connection = message.data;
        this.epoch = typeof message.data.epoch === "string" ? message.data.epoch : null;
        this.authenticate();
        return;
      case "authentication":
        this.authenticating = false;
        if (!message.data.success) {
          this.fail(new ClientError("AUTHENTICATION_FAILED", message.data.message));
          return;
        }
        this.granted = { capabilities: message.data.capabilities, roomFilters: message.data.room_filters };
        // The bridge subscribes the connection's own endpoint right after authenticating and says so with a
        // reply of its own; it is taken off the queue here so later replies still meet their requests.
        this.replies.expect().catch(() => undefined);
        this.restore();
        return;
      case "error":
        if (this.authenticating && message.data.error_code === "WEBSOCKET_AUTH_ERROR") {
          // A bad credential is answered with an `error` (as the seed system does), not an `authentication` reply.
          // Other errors meanwhile (a refused `?last_seq=`, a rate limit) are not about the credential.
          this.authenticating = false;
          this.fail(
            new ClientError("AUTHENTICATION_FAILED", `${message.data.error_code}: ${message.data.error}`),
          );
        } else if (message.data.error_code === "SUBSCRIPTION_ERROR") {
          this.replies.reject(new ClientError("SUBSCRIPTION_ERROR", message.data.error, { ...message.data }));
        }
        return;
      case "subscription_status":
        if (message.data.success) this.replies.resolve(message.data);
        else
          this.replies.reject(
            new ClientError("SUBSCRIPTION_ERROR", message.data.message, { ...message.data }),
          );
        return;
      case "heartbeat":
        this.send({
          type: "heartbeat",
          data: { client_time: new Date().toISOString() },
        } satisfies OccupancyClientMessage);
        return;
      default:
        return;
    }
  }

  protected dispatch(message: OccupancyMessage): void {
    (this.emit as (type: OccupancyMessageType, m: OccupancyMessage) => void)(message.message_type, message);
    // After the listeners ran: a listener that throws still lets the ack go, as the message was received.
    if (message.requires_ack && this.options.autoAck !== false) this.acknowledge(message.message_id);
  }

  protected onDisconnect(): void {
    this.authenticating = false;
    this.replies.rejectAll(
      new ClientError("CONNECTION_CLOSED", "the connection closed before the bridge replied"),
    );
  }

  private authenticate(): void {
    const { apiKey, token } = this.options;
    if (apiKey === undefined && token === undefined) {
      this.restore();
      return;
    }
    this.authenticating = true;
    this.send({
      type: "authentication",
      data: {
        ...(apiKey !== undefined ? { api_key: apiKey } : { token }),
        client_name: this.options.clientName ?? "pma-bridge-client",
        capabilities: this.options.capabilities ?? [],
        room_filters: this.options.roomFilters ?? [],
      },
    } satisfies OccupancyClientMessage);
  }

  private request(message: OccupancyClientMessage): Promise<SubscriptionStatusData> {
    const reply = this.replies.expect();
    if (!this.send(message))
      this.replies.reject(
        new ClientError("NOT_CONNECTED", "not connected; the subscription is restored on reconnect"),
      );
    return reply;
  }

  private restore(): void {
    for (const { endpoint, roomId } of this.extra.values()) {
      this.request({ type: "subscribe", data: { endpoint, room_id: roomId, filters: {} } }).catch(
        () => undefined,
      );
    }
    if (!this.resumesOnUrl) this.resume();
    this.markReady();
  }
}
