/** Most addresses tracked at once; beyond it the longest-idle ones are forgotten first. */
const MAX_TRACKED = 10_000;

export type AttemptVerdict = { readonly ok: true } | { readonly ok: false; readonly retryAfterMs: number };

interface Bucket {
  tokens: number;
  last: number;
}

/**
 * Connection attempts per address, as a token bucket: `burst` at once (a dashboard opening its tabs),
 * refilled at `perMinute`. A client reconnecting in a tight loop is told to wait instead of costing the
 * bridge a handshake, a replay and a snapshot each time. Memory is bounded by the tracked-address cap.
 */
export class AttemptLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly ratePerMs: number;

  constructor(
    private readonly burst: number,
    perMinute: number,
    private readonly now: () => number = Date.now,
  ) {
    this.ratePerMs = perMinute / 60_000;
  }

  admit(address: string): AttemptVerdict {
    const now = this.now();
    const bucket = this.buckets.get(address) ?? { tokens: this.burst, last: now };
    bucket.tokens = Math.min(this.burst, bucket.tokens + (now - bucket.last) * this.ratePerMs);
    bucket.last = now;
    // Re-inserting keeps the map ordered by last use, so the cap evicts the longest-idle address.
    this.buckets.delete(address);
    this.buckets.set(address, bucket);
    if (this.buckets.size > MAX_TRACKED) {
      const oldest = this.buckets.keys().next();
      if (oldest.done !== true) this.buckets.delete(oldest.value);
    }
    if (bucket.tokens < 1)
      return { ok: false, retryAfterMs: Math.ceil((1 - bucket.tokens) / this.ratePerMs) };
    bucket.tokens -= 1;
    return { ok: true };
  }

  /** Forgets addresses whose bucket is full again (they are indistinguishable from new ones). */
  prune(): void {
    const now = this.now();
    for (const [address, bucket] of this.buckets) {
      if (bucket.tokens + (now - bucket.last) * this.ratePerMs >= this.burst) this.buckets.delete(address);
    }
  }

  get tracked(): number {
    return this.buckets.size;
  }
}
