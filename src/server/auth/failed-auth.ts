/**
 * Counts failed authentications per IP in a sliding window. Past `maxAttempts`, every further attempt from
 * that address waits before it is answered, doubling per failure up to `maxDelayMs`, so guessing keys is slow
 * while a user who mistyped once is not punished.
 */
export class FailedAuthLimiter {
  private readonly failures = new Map<string, number[]>();
  private total = 0;

  constructor(
    private readonly maxAttempts: number,
    private readonly windowMs: number,
    private readonly baseDelayMs = 250,
    private readonly maxDelayMs = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  recordFailure(ip: string): void {
    this.total += 1;
    const recent = this.recent(ip);
    recent.push(this.now());
    this.failures.set(ip, recent);
  }

  /** How long an attempt from `ip` should wait before being checked. */
  delayMs(ip: string): number {
    const over = this.recent(ip).length - this.maxAttempts;
    if (over < 0) return 0;
    return Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** over);
  }

  /** Forgets windows that have passed; called by the server's housekeeping sweep. */
  prune(): void {
    for (const ip of [...this.failures.keys()]) {
      if (this.recent(ip).length === 0) this.failures.delete(ip);
    }
  }

  get totalFailures(): number {
    return this.total;
  }

  private recent(ip: string): number[] {
    const cutoff = this.now() - this.windowMs;
    const list = (this.failures.get(ip) ?? []).filter((t) => t > cutoff);
    if (list.length === 0) this.failures.delete(ip);
    else this.failures.set(ip, list);
    return list;
  }
}
