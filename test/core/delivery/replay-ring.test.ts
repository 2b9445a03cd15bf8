import { describe, expect, it } from "vitest";
import { ReplayRing } from "../../../src/core/delivery/replay-ring.js";
import { CatchUp } from "../../../src/core/delivery/resume.js";
import { ManualClock, stateEvent } from "./fixtures.js";

describe("ReplayRing", () => {
  it("returns every event after a seq, in order", () => {
    const ring = new ReplayRing(10, 60_000, 0);
    for (let seq = 1; seq <= 5; seq += 1) ring.push(stateEvent(seq));
    expect(ring.since(2)?.map((e) => e.seq)).toEqual([3, 4, 5]);
    expect(ring.since(5)).toEqual([]);
    expect(ring.since(0)?.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
  });

  it("keeps only the newest `capacity` events and says when a seq fell out", () => {
    const ring = new ReplayRing(3, 60_000, 0);
    for (let seq = 1; seq <= 7; seq += 1) ring.push(stateEvent(seq));
    expect(ring.size()).toBe(3);
    expect(ring.floorSeq()).toBe(4);
    expect(ring.since(4)?.map((e) => e.seq)).toEqual([5, 6, 7]);
    expect(ring.since(3)).toBeUndefined();
  });

  it("forgets events older than the age limit", () => {
    const clock = new ManualClock();
    const ring = new ReplayRing(100, 1_000, 0, clock.now);
    ring.push(stateEvent(1));
    clock.advance(600);
    ring.push(stateEvent(2));
    clock.advance(600);
    expect(ring.since(0)).toBeUndefined();
    expect(ring.since(1)?.map((e) => e.seq)).toEqual([2]);
    clock.advance(2_000);
    expect(ring.since(1)).toBeUndefined();
    expect(ring.since(2)).toEqual([]);
  });

  it("starts from a given seq: nothing before it can be replayed", () => {
    const ring = new ReplayRing(10, 60_000, 41);
    ring.push(stateEvent(42));
    expect(ring.since(41)?.map((e) => e.seq)).toEqual([42]);
    expect(ring.since(40)).toBeUndefined();
  });

  it("with capacity 0 replays nothing but knows the head", () => {
    const ring = new ReplayRing(0, 60_000, 0);
    ring.push(stateEvent(1));
    ring.push(stateEvent(2));
    expect(ring.headSeq()).toBe(2);
    expect(ring.since(2)).toEqual([]);
    expect(ring.since(1)).toBeUndefined();
  });

  it("reads slices with `after` and rejects seqs that go back", () => {
    const ring = new ReplayRing(10, 60_000, 0);
    for (let seq = 1; seq <= 6; seq += 1) ring.push(stateEvent(seq));
    expect(ring.after(1, 2)?.map((e) => e.seq)).toEqual([2, 3]);
    expect(() => ring.push(stateEvent(6))).toThrow(RangeError);
  });

  it("stays bounded however many events pass through", () => {
    const ring = new ReplayRing(50, 60_000, 0);
    for (let seq = 1; seq <= 10_000; seq += 1) ring.push(stateEvent(seq));
    expect(ring.size()).toBe(50);
    expect(ring.entries()[0]?.seq).toBe(9_951);
  });

  it("keeps within its byte budget by forgetting the oldest events", () => {
    const big = {
      ...stateEvent(1),
      data: { ...stateEvent(1).data, attributes: { blob: "x".repeat(10_000) } },
    };
    const ring = new ReplayRing(1_000, 60_000, 0, Date.now, 35_000);
    for (let seq = 1; seq <= 10; seq += 1) ring.push({ ...big, seq });
    expect(ring.size()).toBe(3);
    expect(ring.sizeBytes()).toBeLessThanOrEqual(35_000);
    expect(ring.since(7)?.map((e) => e.seq)).toEqual([8, 9, 10]);
    expect(ring.since(6)).toBeUndefined();
  });

  it("answers `lost` for history holding a damaged entry instead of throwing", () => {
    const ring = new ReplayRing(10, 60_000, 0);
    ring.push(stateEvent(1));
    ring.append({ seq: 2, timeMs: Date.now(), json: "{not json" });
    ring.push(stateEvent(3));
    expect(ring.since(0)).toBeUndefined();
    expect(ring.since(2)?.map((e) => e.seq)).toEqual([3]);
    const catchUp = new CatchUp(
      ring,
      0,
      () => true,
      () => {},
      () => true,
    );
    expect(catchUp.pump()).toBe("lost");
  });
});
