import { describe, expect, it } from "vitest";
import { humanDuration, secondsUntil } from "../../src/server/time-until.js";

describe("humanDuration", () => {
  it.each([
    [0, "0 seconds"],
    [1, "1 second"],
    [59, "59 seconds"],
    [60, "1 minute"],
    [1642, "27 minutes"],
    [3600, "1 hour"],
    [4500, "1h 15m"],
    [7200, "2 hours"],
    [86_400, "1 day"],
    [90_000, "1d 1h"],
    [172_800, "2 days"],
  ])("renders %i s as %s", (seconds, text) => {
    expect(humanDuration(seconds)).toBe(text);
  });

  it("treats negative and fractional durations as whole seconds from zero", () => {
    expect(humanDuration(-5)).toBe("0 seconds");
    expect(humanDuration(59.9)).toBe("59 seconds");
  });
});

describe("secondsUntil", () => {
  const now = Date.parse("2026-01-15T14:30:00.000Z");

  it("counts whole seconds to the time, clamped at zero, for Z and +00:00 offsets", () => {
    expect(secondsUntil("2026-01-15T15:45:00.000Z", now)).toBe(4500);
    expect(secondsUntil("2026-01-15T15:45:00.102944+00:00", now)).toBe(4500);
    expect(secondsUntil("2026-01-15T14:00:00Z", now)).toBe(0);
  });

  it("returns null for unreadable times", () => {
    expect(secondsUntil("soon", now)).toBeNull();
  });
});
