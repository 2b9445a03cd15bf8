/** What the token bucket says about one inbound message. */
export type RateVerdict =
  | { readonly kind: "ok" }
  /** Allowed, but the client is near its limit: tell it (once per approach). */
  | { readonly kind: "warn"; readonly used: number; readonly resetAt: number }
  | { readonly kind: "reject"; readonly used: number; readonly resetAt: number };

/**
 * Inbound token bucket per connection: `capacity` messages, refilled continuously at `capacity` per minute.
 * `resetAt` is when the bucket will be full again, i.e. the end of the current window.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;
  private warned = false;
  /** Used tokens from which a client is warned; an integer, kept instead of the ratio (idle memory). */
  private readonly warnAt: number;

  constructor(
    readonly capacity: number,
    warnRatio: number,
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = capacity;
    this.last = now();
    this.warnAt = Math.ceil(capacity * warnRatio);
  }

  /** Refill rate: `capacity` per minute (derived, not stored: one number less per connection). */
  private get ratePerMs(): number {
    return this.capacity / 60_000;
  }

  take(): RateVerdict {
    const now = this.now();
    this.tokens = Math.min(this.capacity, this.tokens + (now - this.last) * this.ratePerMs);
    this.last = now;
    if (this.tokens < 1) return { kind: "reject", used: this.used(), resetAt: this.resetAt(now) };
    this.tokens -= 1;
    const used = this.used();
    if (used >= this.warnAt) {
      if (!this.warned) {
        this.warned = true;
        return { kind: "warn", used, resetAt: this.resetAt(now) };
      }
    } else {
      this.warned = false;
    }
    return { kind: "ok" };
  }

  private used(): number {
    return Math.min(this.capacity, Math.ceil(this.capacity - this.tokens));
  }

  private resetAt(now: number): number {
    return now + Math.ceil((this.capacity - this.tokens) / this.ratePerMs);
  }
}
