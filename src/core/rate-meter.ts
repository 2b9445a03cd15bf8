/**
 * Turns a monotonically increasing counter into a rate per second over the interval since the previous
 * reading (at least `minIntervalMs` apart, so frequent readers see a stable number).
 */
export class RateMeter {
  private lastCount: number;
  private lastTime: number;
  private rate = 0;

  constructor(
    private readonly count: () => number,
    private readonly now: () => number = () => performance.now(),
    private readonly minIntervalMs = 1000,
  ) {
    this.lastCount = count();
    this.lastTime = now();
  }

  perSecond(): number {
    const time = this.now();
    const elapsed = time - this.lastTime;
    if (elapsed >= this.minIntervalMs) {
      const count = this.count();
      this.rate = ((count - this.lastCount) * 1000) / elapsed;
      this.lastCount = count;
      this.lastTime = time;
    }
    return this.rate;
  }
}
