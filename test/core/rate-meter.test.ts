import { describe, expect, it } from "vitest";
import { RateMeter } from "../../src/core/rate-meter.js";

describe("RateMeter", () => {
  it("reports the rate over the last interval and holds it between readings", () => {
    let count = 0;
    let time = 0;
    const meter = new RateMeter(
      () => count,
      () => time,
      1000,
    );
    expect(meter.perSecond()).toBe(0);
    count = 50;
    time = 2000;
    expect(meter.perSecond()).toBe(25);
    count = 60;
    time = 2500;
    expect(meter.perSecond()).toBe(25);
    time = 3000;
    expect(meter.perSecond()).toBe(10);
  });
});
