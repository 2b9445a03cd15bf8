import type { WebSocket } from "ws";
import type { Config } from "../config/schema.js";
import type { Delivery } from "../core/delivery/delivery.js";
import { AckError, ResumeError } from "../core/delivery/errors.js";
import { parseResumeMessage, type SnapshotReason } from "../core/delivery/resume.js";
import { ResumeController, type ResumedInfo, type ResumeTarget } from "../core/delivery/resume-controller.js";
import type { BridgeEvent, JsonValue } from "../core/events.js";
import type { HomeDirectory } from "../core/home.js";
import type { EncodedEvent, EventEncoder, HubClient } from "../core/hub/encoded-event.js";
import type { Hub } from "../core/hub.js";
import type { Logger } from "../core/logger.js";
import type { Authenticator, Credential } from "./auth/authenticator.js";
import { AuthError } from "./auth/authenticator.js";
import type { FailedAuthLimiter } from "./auth/failed-auth.js";
import type { Principal } from "./auth/principal.js";
import type { ServerMetrics } from "./metrics.js";
import { type FrameSink, type OutboundMessage, OutboundQueue, type QueueLimits } from "./outbound-queue.js";
import { type RateVerdict, TokenBucket } from "./rate-limit.js";
import { onceDrained, sendShared } from "./wire.js";

const COMMA = Buffer.from(",");

export type DialectName = "pma" | "occupancy";

/** The start of every connection's message chain (shared: most idle connections never extend it). */
const SETTLED: Promise<void> = Promise.resolve();

/** One limits object per queue configuration, shared by every connection's queue. */
const LIMITS = new WeakMap<Config["server"]["queue"], QueueLimits>();

function queueLimits(queue: Config["server"]["queue"]): QueueLimits {
  let limits = LIMITS.get(queue);
  if (limits === undefined) {
    limits = { maxMessages: queue.max_messages, maxBytes: queue.max_bytes, softLimitBytes: 256 * 1024 };
    LIMITS.set(queue, limits);
  }
  return limits;
}

/** A `client_id` a client may ask for on the URL. */
export const CLIENT_ID = /^[A-Za-z0-9_.:-]{1,64}$/;

/** Everything a connection shares with the server. */
export interface ConnectionContext {
  readonly config: Config;
  readonly hub: Hub;
  readonly auth: Authenticator;
  readonly failedAuth: FailedAuthLimiter;
  /** Acknowledgements, the replay ring and snapshots (started before any connection exists). */
  readonly delivery: Delivery;
  readonly metrics: ServerMetrics;
  readonly home: HomeDirectory | undefined;
  readonly log: Logger;
  /** The bridge's version, announced in welcomes. */
  readonly version: string;
}

/** Close codes the server uses; documented in docs/protocol.md. */
export const CloseCode = {
  PolicyViolation: 1008,
  /** The server failed while serving this connection (a bug or a damaged store); reconnect. */
  InternalError: 1011,
  /** The bridge is stopping or restarting: reconnect and resume. */
  ServiceRestart: 1012,
  TryAgainLater: 1013,
  InactivityTimeout: 4000,
  SlowConsumer: 4008,
} as const;

const pumpResume = (resume: ResumeController): void => resume.pump();

export interface ClientSummary {
  readonly id: string;
  readonly dialect: DialectName;
  readonly endpoint: string;
  readonly subject: string | null;
  readonly remote_address: string;
  readonly subscriptions: JsonValue;
  readonly queue_depth: number;
  readonly queued_bytes: number;
  readonly pending_acks: number;
  readonly connected_since: string;
  readonly messages_sent: number;
  readonly dropped: number;
  readonly conflated: number;
}

/** Dialect-specific codes for the errors the shared inbound path raises. */
export interface InboundErrorCodes {
  readonly invalidFormat: string;
  readonly rateLimited: string;
  /** A command that needs an authenticated client arrived before authentication. */
  readonly authRequired: string;
  /** The server failed while handling a valid message (a bug, logged); the connection stays usable. */
  readonly internal: string;
}

/**
 * What both dialects share: the socket, the outbound queue every send goes through, the inbound rate limit,
 * in-order handling of client messages, and the principal. Dialects add parsing, encoding and selection.
 */
export abstract class Connection implements HubClient<OutboundMessage>, ResumeTarget, FrameSink {
  abstract readonly dialect: DialectName;
  abstract readonly encoder: EventEncoder<OutboundMessage>;
  abstract readonly endpoint: string;
  protected abstract readonly errorCodes: InboundErrorCodes;

  /** Epoch ms (a number, not a `Date` object per connection). */
  readonly connectedAt = Date.now();
  lastSeen = Date.now();
  /** Cleared by the ping sweep, set again by the peer's pong. */
  alive = true;
  principal: Principal | null = null;
  /** The name the client gave (occupancy `client_name`); part of its identity for acknowledgements. */
  protected clientName: string | undefined;
  readonly queue: OutboundQueue;
  readonly resume: ResumeController;
  private readonly bucket: TokenBucket;
  private rejecting = false;
  private chain: Promise<void> = SETTLED;
  private closed = false;

  constructor(
    readonly id: string,
    protected readonly ws: WebSocket,
    protected readonly ctx: ConnectionContext,
    readonly remoteAddress: string,
  ) {
    const { queue, rate_limit } = ctx.config.server;
    // The connection is the queue's sink itself; the limits and the count callback are shared: no closures
    // or sink and limit objects per connection (see docs/performance.md, idle memory).
    this.queue = new OutboundQueue(this, queueLimits(queue), ctx.metrics.countQueue);
    this.bucket = new TokenBucket(rate_limit.messages_per_minute, rate_limit.warn_ratio);
    this.resume = new ResumeController(ctx.delivery, ctx.home, this);
  }

  /** FrameSink: what the socket still buffers. */
  get bufferedAmount(): number {
    return this.ws.bufferedAmount;
  }

  /** FrameSink: writes one frame, counted. */
  send(message: OutboundMessage): void {
    this.ctx.metrics.sent(message.frame.length);
    if (message.shared) sendShared(this.ws, message.frame);
    else this.ws.send(message.frame, { binary: false });
  }

  /** FrameSink: the queue waits for the socket to drain. */
  onceDrained(wake: () => void): void {
    onceDrained(this.ws, wake);
  }

  /** FrameSink: the queue is empty again; a paused replay continues. */
  drained(): void {
    this.advanceResume(pumpResume);
  }

  /**
   * Moves this connection's resume on (the next step of a paused replay, the hold's deadline). It runs from
   * timers and socket callbacks, where an exception would end the process: a failure (a damaged history
   * row, a full disk, a bug) closes this connection instead, and the client reconnects.
   */
  advanceResume(step: (resume: ResumeController) => void): void {
    if (this.closed) return;
    try {
      step(this.resume);
    } catch (error) {
      this.ctx.log.error({ err: error, client: this.id }, "resuming failed; closing the connection");
      this.close(CloseCode.InternalError, "internal error while resuming; reconnect");
    }
  }

  abstract matches(event: BridgeEvent): boolean;
  /** Queues an event's frames for this client (after the resume gate). */
  protected abstract enqueue(encoded: EncodedEvent<OutboundMessage>): void;
  abstract sendSnapshot(
    reason: SnapshotReason,
    events: readonly BridgeEvent[],
    seq: number,
    epoch: string,
  ): void;
  /**
   * Sent right after the upgrade. `vouched` is a principal established by the transport (the add-on's ingress),
   * which needs no authentication message.
   */
  protected abstract open(query: URLSearchParams, vouched: Principal | null): Promise<void>;

  /**
   * Opens the session (welcome, URL credential) ahead of every client message: a client may send its first
   * subscription right away without racing the check of its `?token=`.
   */
  begin(query: URLSearchParams, vouched: Principal | null): Promise<void> {
    const opening = this.chain.then(() => this.open(query, vouched));
    this.extend(opening.catch(() => {}));
    return opening;
  }

  /** Queues work behind the chain; once the chain is idle again it is the shared settled promise. */
  private extend(tail: Promise<void>): void {
    this.chain = tail;
    void tail.then(() => {
      if (this.chain === tail) this.chain = SETTLED;
    });
  }

  protected abstract handle(message: unknown): Promise<void>;
  protected abstract isExempt(message: unknown): boolean;
  protected abstract sendMessage(type: string, data: Record<string, unknown>): void;
  abstract sendError(code: string, message: string, details?: Record<string, unknown>): void;
  protected abstract subscriptions(): JsonValue;
  protected abstract indexKeys(): string[];

  /** A live event from the hub; held back while a resume replays the events before it. */
  deliver(encoded: EncodedEvent<OutboundMessage>): void {
    if (this.resume.admitLive(encoded.event)) this.enqueue(encoded);
  }

  /** A replayed event takes the live path, minus the gate. */
  replay(event: BridgeEvent): void {
    const encoded = this.encoder.encode(event);
    if (encoded !== null) this.enqueue(encoded);
  }

  /** Room for a replay step: half the queue's bounds, so live traffic and replies still fit. */
  hasRoom(): boolean {
    const { max_messages, max_bytes } = this.ctx.config.server.queue;
    return this.queue.depth < max_messages / 2 && this.queue.queuedBytes < max_bytes / 2;
  }

  sendResumed(info: ResumedInfo): void {
    this.sendMessage("resume_status", { result: "replayed", ...info });
  }

  /**
   * Reports a delivery error (resume, acknowledgement) under its own code. A dialect whose error codes are
   * coarser overrides this to carry the code elsewhere.
   */
  protected sendDeliveryError(code: string, message: string, details?: Record<string, unknown>): void {
    this.sendError(code, message, details);
  }

  sendResumeError(error: ResumeError): void {
    this.sendDeliveryError(
      error.code,
      error.message,
      error.details === undefined ? undefined : { ...error.details },
    );
  }

  /** Duplicate and late acknowledgements are harmless; an id never sent to this client is an error. */
  protected acknowledge(messageId: string): void {
    const identity = this.identity();
    try {
      if (identity === null) {
        throw new AckError("UNKNOWN_MESSAGE_ID", "Authenticate before acknowledging");
      }
      this.ctx.delivery.acks.acknowledge(identity, messageId);
    } catch (error) {
      if (!(error instanceof AckError)) throw error;
      this.sendDeliveryError(error.code, error.message, { message_id: messageId });
    }
  }

  /** A client's `resume {last_seq, epoch}` message; only an authenticated client knows what it may replay. */
  protected requestResume(data: Record<string, unknown>): void {
    if (this.principal === null) {
      this.sendError(this.errorCodes.authRequired, "Authenticate before resuming");
      return;
    }
    try {
      this.resume.run(parseResumeMessage(data, this.resume.pendingRequest()));
    } catch (error) {
      this.resumeFailed(error);
    }
  }

  protected resumeFailed(error: unknown): void {
    if (!(error instanceof ResumeError)) throw error;
    this.sendResumeError(error);
  }

  /**
   * Queues one `snapshot` message: the dialect's envelope around `{reason, epoch, last_seq, events}`, whose
   * events are already-encoded frames joined as they are (JSON objects, not re-serialized). Never dropped.
   */
  protected pushSnapshot(
    envelope: { readonly open: string; readonly close: string },
    frames: readonly Buffer[],
    snapshot: { readonly reason: SnapshotReason; readonly seq: number; readonly epoch: string },
  ): void {
    const { reason, seq, epoch } = snapshot;
    const data = `{"reason":${JSON.stringify(reason)},"epoch":${JSON.stringify(epoch)},"last_seq":${seq},"events":[`;
    this.push({
      frame: Buffer.concat([
        Buffer.from(`${envelope.open}${data}`),
        ...frames.flatMap((frame, i) => (i === 0 ? [frame] : [COMMA, frame])),
        Buffer.from(`]}${envelope.close}`),
      ]),
      seq,
      conflationKey: null,
      requiresAck: true,
      shared: false,
    });
  }

  /**
   * The identity acknowledgements belong to, once authenticated: the credential's subject and the client's
   * name (or the `client_id` it asked for), so it is the same across reconnects.
   */
  identity(): string | null {
    return this.principal === null ? null : `${this.principal.subject}/${this.clientName ?? this.id}`;
  }

  /** A redelivery of a pending `requires_ack` message (never dropped by the queue). */
  sendPending(frame: string, seq: number): void {
    this.push({ frame: Buffer.from(frame), seq, conflationKey: null, requiresAck: true, shared: false });
  }

  /**
   * Right after a successful authentication: what is still waiting for this client's acknowledgement goes
   * out again, oldest first.
   */
  protected afterLogin(): void {
    const identity = this.identity();
    if (identity !== null) this.ctx.delivery.acks.redeliverPending(identity);
  }

  /** Re-indexes this client in the hub after its subscriptions or principal changed. */
  protected reindex(): void {
    if (!this.closed) this.ctx.hub.subscribe(this, this.indexKeys());
  }

  /** Queues a control message (replies, heartbeats). */
  protected push(message: OutboundMessage): void {
    this.queue.push(message);
  }

  protected pushJson(value: unknown): void {
    this.push({
      frame: Buffer.from(JSON.stringify(value)),
      seq: null,
      conflationKey: null,
      requiresAck: false,
      shared: false,
    });
  }

  /** One inbound frame: counted, parsed, rate-limited, then handled in arrival order. */
  receive(data: Buffer, isBinary: boolean): void {
    this.lastSeen = Date.now();
    this.ctx.metrics.add("messages_in");
    this.ctx.metrics.add("bytes_in", data.length);
    let message: unknown;
    let parsed = false;
    if (!isBinary) {
      try {
        message = JSON.parse(data.toString("utf8"));
        parsed = true;
      } catch {
        parsed = false;
      }
    }
    if (!(parsed && this.isExempt(message)) && !this.admit(this.bucket.take())) return;
    if (isBinary) {
      this.sendError(this.errorCodes.invalidFormat, "binary frames are not supported; send JSON text frames");
      return;
    }
    if (!parsed) {
      this.sendError(this.errorCodes.invalidFormat, "message is not valid JSON");
      return;
    }
    this.extend(
      this.chain
        .then(() => (this.closed ? undefined : this.handle(message)))
        .catch((error: unknown) => {
          this.ctx.log.error({ err: error, client: this.id }, "message handling failed");
          this.sendError(this.errorCodes.internal, "the server failed to handle the message");
        }),
    );
  }

  private admit(verdict: RateVerdict): boolean {
    if (verdict.kind === "ok") {
      this.rejecting = false;
      return true;
    }
    const body = {
      max_messages_per_minute: this.bucket.capacity,
      current_count: verdict.used,
      reset_time: new Date(verdict.resetAt).toISOString(),
    };
    if (verdict.kind === "warn") {
      this.sendMessage("rate_limit_warning", { message: "Approaching the rate limit", ...body });
      return true;
    }
    this.ctx.metrics.add("rate_limit_hits");
    // One error per burst of rejections, so a flood cannot make the server flood back.
    if (!this.rejecting) {
      this.rejecting = true;
      this.sendError(this.errorCodes.rateLimited, "Rate limit exceeded: message rejected", body);
    }
    return false;
  }

  /** Checks a credential, slowing down addresses with recent failures. */
  protected async authenticate(credential: Credential): Promise<Principal> {
    const delay = this.ctx.failedAuth.delayMs(this.remoteAddress);
    if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
    try {
      return await this.ctx.auth.authenticate(credential);
    } catch (error) {
      if (error instanceof AuthError) {
        this.ctx.failedAuth.recordFailure(this.remoteAddress);
        this.ctx.metrics.add("auth_failures");
      }
      throw error;
    }
  }

  close(code: number, reason: string): void {
    if (this.closed) return;
    this.ws.close(code, reason);
    this.dispose();
  }

  /** A protocol-level ping (answered by the peer's WebSocket stack, not by application code). */
  ping(): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.ping();
  }

  terminate(): void {
    this.ws.terminate();
    this.dispose();
  }

  /** Forgets the client everywhere; called once when the socket closes. */
  dispose(): void {
    if (this.closed) return;
    this.closed = true;
    this.ctx.hub.unsubscribe(this);
    this.queue.close();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  summary(): ClientSummary {
    return {
      id: this.id,
      dialect: this.dialect,
      endpoint: this.endpoint,
      subject: this.principal?.subject ?? null,
      remote_address: this.remoteAddress,
      subscriptions: this.subscriptions(),
      queue_depth: this.queue.depth,
      queued_bytes: this.queue.queuedBytes,
      pending_acks: this.pendingAcks(),
      connected_since: new Date(this.connectedAt).toISOString(),
      messages_sent: this.queue.counters.sent,
      dropped: this.queue.counters.dropped,
      conflated: this.queue.counters.conflated,
    };
  }

  protected pendingAcks(): number {
    const identity = this.identity();
    return identity === null ? 0 : this.ctx.delivery.acks.pendingCount(identity);
  }
}
