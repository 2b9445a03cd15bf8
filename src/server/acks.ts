/** A `requires_ack` message waiting for its acknowledgement. */
export interface PendingAck {
  readonly messageId: string;
  readonly seq: number;
  readonly messageType: string;
  readonly sentAt: number;
}

/**
 * The one place where acknowledgements are tracked, per client identity (so that the persisted store with
 * redelivery can replace it without touching the dialects). In memory for now.
 */
export class AckTracker {
  private readonly pending = new Map<string, Map<string, PendingAck>>();

  constructor(private readonly now: () => number = Date.now) {}

  track(identity: string, messageId: string, seq: number, messageType: string): void {
    let forClient = this.pending.get(identity);
    if (forClient === undefined) {
      forClient = new Map();
      this.pending.set(identity, forClient);
    }
    forClient.set(messageId, { messageId, seq, messageType, sentAt: this.now() });
  }

  /** Clears a pending message; false when the identity has no such message pending. */
  acknowledge(identity: string, messageId: string): boolean {
    const forClient = this.pending.get(identity);
    if (forClient?.delete(messageId) !== true) return false;
    if (forClient.size === 0) this.pending.delete(identity);
    return true;
  }

  pendingFor(identity: string): readonly PendingAck[] {
    return [...(this.pending.get(identity)?.values() ?? [])];
  }

  get totalPending(): number {
    let total = 0;
    for (const forClient of this.pending.values()) total += forClient.size;
    return total;
  }
}
