import { describe, expect, it } from "vitest";
import { AttemptLimiter } from "../../../src/core/delivery/attempt-limiter.js";
import { ManualClock } from "./fixtures.js";

describe("AttemptLimiter", () => {
  it("admits a burst, then refuses with the time to wait, then admits again at the refill rate", () => {
    const clock = new ManualClock();
    const limiter = new AttemptLimiter(3, 60, clock.now);
    expect([1, 2, 3].map(() => limiter.admit("10.0.0.1").ok)).toEqual([true, true, true]);
    expect(limiter.admit("10.0.0.1")).toEqual({ ok: false, retryAfterMs: 1000 });
    expect(limiter.admit("10.0.0.2").ok).toBe(true);
    clock.advance(1000);
    expect(limiter.admit("10.0.0.1").ok).toBe(true);
    expect(limiter.admit("10.0.0.1").ok).toBe(false);
  });

  it("refuses a client reconnecting 100 times a second after its burst", () => {
    const clock = new ManualClock();
    const limiter = new AttemptLimiter(10, 120, clock.now);
    let admitted = 0;
    for (let i = 0; i < 1000; i += 1) {
      clock.advance(10);
      if (limiter.admit("10.0.0.9").ok) admitted += 1;
    }
    // 10 s of attempts: the burst plus 2 per second.
    expect(admitted).toBeLessThanOrEqual(31);
  });

  it("stays bounded however many addresses try, and forgets idle ones", () => {
    const clock = new ManualClock();
    const limiter = new AttemptLimiter(5, 60, clock.now);
    for (let i = 0; i < 20_000; i += 1) limiter.admit(`10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`);
    expect(limiter.tracked).toBeLessThanOrEqual(10_000);
    clock.advance(60_000);
    limiter.prune();
    expect(limiter.tracked).toBe(0);
  });
});
