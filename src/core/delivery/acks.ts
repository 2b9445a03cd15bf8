import type { Service } from "../lifecycle.js";
import type { Logger } from "../logger.js";
import { AckError } from "./errors.js";
import type { DeliveryMetrics, UndeliverableReason } from "./metrics.js";
import type { AckOutcome, DeliveryStore, PendingAck } from "./store.js";

export interface AckOptions {
  /** Wait after the first send before the first redelivery. */
  readonly timeoutMs: number;
  /** Sends in total (first delivery included) before a message is reported undeliverable. */
  readonly maxAttempts: number;
  /** Each wait is the previous one times this factor. */
  readonly backoffFactor: number;
  /** Pending messages one identity may hold; beyond it the oldest is given up on. */
  readonly maxPendingPerClient: number;
  /** A message still pending this long after its first send is given up on, even if never redelivered. */
  readonly retentionMs: number;
  /** How long acknowledged ids are remembered, so that a repeated acknowledge is harmless. */
  readonly closedRetentionMs: number;
}

/** Where the tracker sends: every open connection of a client identity. */
export interface AckTransport {
  /** Writes the frame (of the event numbered `seq`) to every open connection of `identity`; returns how many. */
  send(identity: string, frame: string, seq: number): number;
}

export interface UndeliverableReport {
  readonly identity: string;
  readonly messageId: string;
  readonly seq: number;
  readonly attempts: number;
  readonly reason: UndeliverableReason;
  readonly frame: string;
}

/** Rows handled per sweep step; a backlog is worked off over the next sweeps instead of blocking the loop. */
const SWEEP_BATCH = 500;

/**
 * Adds `redelivery_count` to an encoded message. Both dialects send one JSON object per frame, so the count
 * goes into the envelope beside `message_id` and the rest of the message stays byte-for-byte the same.
 */
export function withRedeliveryCount(frame: string, count: number): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(frame);
  } catch {
    return frame;
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return frame;
  return JSON.stringify({ ...parsed, redelivery_count: count });
}

/**
 * At-least-once delivery of `requires_ack` messages per client identity. Every pending message lives in the
 * delivery database (written before the message goes out), so the heap holds nothing per message, a
 * restart redelivers what was pending, and acknowledgements work across reconnects and restarts.
 *
 * A message is sent, then again after `timeoutMs`, `timeoutMs × factor`, … until acknowledged; after
 * `maxAttempts` sends without an acknowledgement it is reported undeliverable. While the identity has no
 * open connection nothing is counted: everything pending is sent as soon as it connects again.
 */
export class AckTracker implements Service {
  readonly name = "acks";
  private transport: AckTransport | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly undeliverableListeners = new Set<(report: UndeliverableReport) => void>();

  constructor(
    private readonly store: DeliveryStore,
    private readonly options: AckOptions,
    private readonly log: Logger,
    private readonly metrics?: DeliveryMetrics,
    private readonly now: () => number = Date.now,
  ) {}

  /** The server's sending side; redeliveries wait until one is attached. */
  attach(transport: AckTransport): void {
    this.transport = transport;
  }

  onUndeliverable(listener: (report: UndeliverableReport) => void): () => void {
    this.undeliverableListeners.add(listener);
    return () => this.undeliverableListeners.delete(listener);
  }

  start(): Promise<void> {
    // One shared sweep for every pending message instead of a timer each; a tenth of the timeout keeps
    // redeliveries within 10% of their due time.
    const interval = Math.min(1000, Math.max(20, Math.floor(this.options.timeoutMs / 10)));
    this.timer = setInterval(() => this.sweep(), interval);
    this.timer.unref();
    this.refreshGauge();
    return Promise.resolve();
  }

  stop(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    return Promise.resolve();
  }

  /**
   * Records that `frame` (a requires_ack message) is about to be sent to `identity` for the first time.
   * Call it before writing to the socket, so a crash in between leads to a redelivery, not a loss.
   * Returns false when the identity already has this message pending (then it must not be sent again now).
   */
  track(identity: string, messageId: string, seq: number, frame: string): boolean {
    const now = this.now();
    const added = this.store.transaction(() => {
      const inserted = this.store.insertPending({
        identity,
        messageId,
        seq,
        frame,
        attempts: 1,
        firstSentAt: now,
        nextAttemptAt: now + this.options.timeoutMs,
      });
      if (inserted) this.enforceLimit(identity, now);
      return inserted;
    });
    if (added) {
      this.metrics?.sent.inc();
      this.metrics?.pending.inc();
    }
    return added;
  }

  /**
   * Handles `acknowledge {message_id}` from `identity`. Duplicate and late acknowledgements are harmless
   * and reported as such; an id never sent to this identity throws `UNKNOWN_MESSAGE_ID`.
   */
  acknowledge(identity: string, messageId: string): Exclude<AckOutcome, "unknown"> {
    const outcome = this.store.acknowledge(identity, messageId, this.now());
    this.metrics?.countAck(outcome);
    if (outcome === "acknowledged") this.metrics?.pending.dec();
    if (outcome === "unknown") {
      throw new AckError(
        "UNKNOWN_MESSAGE_ID",
        `no message ${messageId} is waiting for your acknowledgement`,
        {
          message_id: messageId,
        },
      );
    }
    return outcome;
  }

  /**
   * Sends everything pending for `identity` again, oldest first; call when one of its connections is ready
   * (authenticated and subscribed). Each send counts as an attempt. Returns how many were sent.
   */
  redeliverPending(identity: string): number {
    const transport = this.transport;
    if (transport === undefined) return 0;
    const now = this.now();
    let sent = 0;
    for (const pending of this.store.pendingFor(identity, this.options.maxPendingPerClient)) {
      if (pending.attempts >= this.options.maxAttempts) {
        // Reconnecting must not grant sends beyond the limit; the sweep reports it when its wait ends.
        continue;
      }
      if (!this.resend(transport, pending, now)) break;
      sent += 1;
    }
    return sent;
  }

  pendingCount(identity?: string): number {
    return this.store.countPending(identity);
  }

  /** Every message still waiting for an acknowledgement, whoever it is for. */
  get totalPending(): number {
    return this.store.countPending();
  }

  /** Does the work that is due at the current time: redeliveries, give-ups and clean-up. */
  sweep(): void {
    const now = this.now();
    try {
      this.store.transaction(() => {
        for (const expired of this.store.pendingSentBefore(now - this.options.retentionMs, SWEEP_BATCH)) {
          this.giveUp(expired, "expired", now);
        }
        for (const pending of this.store.due(now, SWEEP_BATCH)) {
          if (pending.attempts >= this.options.maxAttempts) this.giveUp(pending, "max_attempts", now);
          else if (this.transport === undefined || !this.resend(this.transport, pending, now)) {
            // Not connected: wait without counting; the next connection gets it at once anyway.
            this.store.postpone(pending.identity, pending.messageId, now + this.delayAfter(pending.attempts));
          }
        }
        this.store.purgeClosed(now - this.options.closedRetentionMs);
      });
    } catch (error) {
      this.log.error({ err: error }, "acknowledgement sweep failed");
    }
  }

  private resend(transport: AckTransport, pending: PendingAck, now: number): boolean {
    const frame = withRedeliveryCount(pending.frame, pending.attempts);
    if (transport.send(pending.identity, frame, pending.seq) === 0) return false;
    const attempts = pending.attempts + 1;
    this.store.recordAttempt(pending.identity, pending.messageId, attempts, now + this.delayAfter(attempts));
    this.metrics?.redeliveries.inc();
    this.log.debug({ identity: pending.identity, message_id: pending.messageId, attempts }, "redelivered");
    return true;
  }

  /** Wait after the `attempts`-th send: timeout × factor^(attempts − 1). */
  private delayAfter(attempts: number): number {
    return Math.round(this.options.timeoutMs * this.options.backoffFactor ** Math.max(0, attempts - 1));
  }

  private enforceLimit(identity: string, now: number): void {
    const excess = this.store.countPending(identity) - this.options.maxPendingPerClient;
    if (excess <= 0) return;
    for (const oldest of this.store.oldestPending(identity, excess)) this.giveUp(oldest, "overflow", now);
  }

  private giveUp(pending: PendingAck, reason: UndeliverableReason, now: number): void {
    this.store.markUndeliverable(pending.identity, pending.messageId, now);
    this.metrics?.undeliverable.inc({ reason });
    this.metrics?.pending.dec();
    this.log.warn(
      {
        identity: pending.identity,
        message_id: pending.messageId,
        seq: pending.seq,
        attempts: pending.attempts,
        reason,
      },
      "message undeliverable: no acknowledgement",
    );
    const report: UndeliverableReport = {
      identity: pending.identity,
      messageId: pending.messageId,
      seq: pending.seq,
      attempts: pending.attempts,
      reason,
      frame: pending.frame,
    };
    for (const listener of this.undeliverableListeners) {
      try {
        listener(report);
      } catch (error) {
        this.log.error({ err: error }, "undeliverable listener failed");
      }
    }
  }

  private refreshGauge(): void {
    this.metrics?.pending.set(this.store.countPending());
  }
}
