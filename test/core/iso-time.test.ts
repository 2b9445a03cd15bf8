import { describe, expect, it } from "vitest";
import { isoFromMs } from "../../src/core/iso-time.js";

const sameAsDate = (ms: number) => expect(isoFromMs(ms)).toBe(new Date(ms).toISOString());

describe("isoFromMs", () => {
  it("writes what Date#toISOString writes, around every boundary of a minute, second and millisecond", () => {
    const base = Date.UTC(2026, 10, 22, 4, 59, 58, 0);
    for (let ms = base; ms < base + 3_000; ms += 1) sameAsDate(ms);
    for (const ms of [
      0,
      1,
      9,
      10,
      99,
      100,
      999,
      1000,
      59_999,
      60_000,
      Date.UTC(9999, 11, 31, 23, 59, 59, 999),
    ])
      sameAsDate(ms);
  });

  it("truncates fractional milliseconds as Date does, including the epoch-second floats Home Assistant sends", () => {
    for (const seconds of [1_763_784_000.123456, 1_763_784_000.9999, 1_700_000_000.0005, 0.0009]) {
      sameAsDate(seconds * 1000);
    }
    sameAsDate(-0.5);
  });

  it("agrees with Date on random times from 1970 to 2200, in and out of order", () => {
    let state = 7;
    const next = () => {
      state = (state * 48_271) % 2_147_483_647;
      return state / 2_147_483_647;
    };
    for (let i = 0; i < 20_000; i++) sameAsDate(next() * Date.UTC(2200, 0, 1) + next());
  });

  it("falls back to Date before 1970 and from the year 10000, and throws Date's RangeError for invalid times", () => {
    for (const ms of [-1, -86_400_001.5, Date.UTC(1900, 0, 1), Date.UTC(10000, 0, 1), 8.64e15, -8.64e15])
      sameAsDate(ms);
    expect(() => isoFromMs(Number.NaN)).toThrow(RangeError);
    expect(() => isoFromMs(8.64e15 + 1)).toThrow(RangeError);
    expect(() => isoFromMs(Number.POSITIVE_INFINITY)).toThrow(RangeError);
  });
});
