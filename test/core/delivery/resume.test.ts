import { describe, expect, it } from "vitest";
import { ResumeError } from "../../../src/core/delivery/errors.js";
import { ReplayRing } from "../../../src/core/delivery/replay-ring.js";
import {
  CatchUp,
  parseResumeMessage,
  parseResumeQuery,
  planResume,
  type StreamPosition,
} from "../../../src/core/delivery/resume.js";
import type { BridgeEvent } from "../../../src/core/events.js";
import { stateEvent } from "./fixtures.js";

const POSITION: StreamPosition = { epoch: "e1", epochStartSeq: 101 };

function ringWith(first: number, last: number, capacity = 1_000): ReplayRing {
  const ring = new ReplayRing(capacity, 600_000, first - 1);
  for (let seq = first; seq <= last; seq += 1) ring.push(stateEvent(seq));
  return ring;
}

describe("parseResumeQuery", () => {
  it("reads last_seq and epoch from the URL", () => {
    expect(parseResumeQuery(new URLSearchParams("last_seq=42&epoch=e1"))).toEqual({
      lastSeq: 42,
      epoch: "e1",
    });
    expect(parseResumeQuery(new URLSearchParams("last_seq=0"))).toEqual({ lastSeq: 0, epoch: undefined });
    expect(parseResumeQuery(new URLSearchParams("token=x"))).toBeUndefined();
  });

  it("rejects a malformed seq with RESUME_INVALID", () => {
    for (const bad of ["", "-1", "1.5", "abc", "01", "99999999999999999999", "1e3"]) {
      expect(() => parseResumeQuery(new URLSearchParams({ last_seq: bad })), bad).toThrow(
        expect.objectContaining({ code: "RESUME_INVALID" }),
      );
    }
  });
});

describe("parseResumeMessage", () => {
  it("reads {last_seq, epoch}", () => {
    expect(parseResumeMessage({ last_seq: 5, epoch: "e1" })).toEqual({ lastSeq: 5, epoch: "e1" });
    expect(parseResumeMessage({ last_seq: "5" })).toEqual({ lastSeq: 5, epoch: undefined });
  });

  it("falls back to the URL's request when the message has no last_seq", () => {
    expect(parseResumeMessage({}, { lastSeq: 9, epoch: "e1" })).toEqual({ lastSeq: 9, epoch: "e1" });
  });

  it("rejects missing, negative, fractional seqs and odd epochs", () => {
    for (const bad of [undefined, {}, { last_seq: -1 }, { last_seq: 1.5 }, { last_seq: 1, epoch: 7 }, [1]]) {
      expect(() => parseResumeMessage(bad)).toThrow(ResumeError);
    }
  });
});

describe("planResume", () => {
  it("replays when every event after the seq is still in the ring", () => {
    expect(planResume({ lastSeq: 150, epoch: "e1" }, ringWith(101, 200), POSITION)).toEqual({
      kind: "replay",
    });
    expect(planResume({ lastSeq: 200, epoch: undefined }, ringWith(101, 200), POSITION)).toEqual({
      kind: "replay",
    });
    expect(planResume({ lastSeq: 100, epoch: "e1" }, ringWith(101, 200), POSITION)).toEqual({
      kind: "replay",
    });
  });

  it("asks for a snapshot when the seq is older than the ring", () => {
    const ring = ringWith(101, 200, 50);
    expect(planResume({ lastSeq: 120, epoch: "e1" }, ring, POSITION)).toEqual({
      kind: "snapshot",
      reason: "gap_too_old",
    });
  });

  it("asks for a snapshot when the epoch changed, or the seq belongs to an earlier epoch", () => {
    const ring = ringWith(101, 200);
    expect(planResume({ lastSeq: 150, epoch: "old" }, ring, POSITION)).toEqual({
      kind: "snapshot",
      reason: "epoch_changed",
    });
    expect(planResume({ lastSeq: 50, epoch: undefined }, ring, POSITION)).toEqual({
      kind: "snapshot",
      reason: "epoch_changed",
    });
  });

  it("rejects a seq the bridge never issued", () => {
    expect(() => planResume({ lastSeq: 201, epoch: "e1" }, ringWith(101, 200), POSITION)).toThrow(
      expect.objectContaining({ code: "RESUME_SEQ_AHEAD" }),
    );
  });
});

describe("CatchUp", () => {
  const evenOnly = (event: BridgeEvent): boolean => event.seq % 2 === 0;

  it("emits the matching events after the seq, in order, and then is caught up", () => {
    const ring = ringWith(1, 10);
    const out: number[] = [];
    const catchUp = new CatchUp(
      ring,
      3,
      evenOnly,
      (e) => out.push(e.seq),
      () => true,
    );
    expect(catchUp.pump()).toBe("caught_up");
    expect(out).toEqual([4, 6, 8, 10]);
  });

  it("pauses while the queue is full and continues where it stopped, including newer events", () => {
    const ring = ringWith(1, 200);
    const out: number[] = [];
    let room = 5;
    const catchUp = new CatchUp(
      ring,
      0,
      () => true,
      (e) => {
        out.push(e.seq);
        room -= 1;
      },
      () => room > 0,
    );
    expect(catchUp.pump()).toBe("paused");
    expect(out).toEqual([1, 2, 3, 4, 5]);
    ring.push(stateEvent(201));
    room = 1_000;
    expect(catchUp.pump()).toBe("caught_up");
    expect(out).toHaveLength(201);
    expect(out.every((seq, i) => seq === i + 1)).toBe(true);
    expect(catchUp.count()).toBe(201);
  });

  it("reports `lost` when the ring moved past it while paused", () => {
    const ring = ringWith(1, 10, 10);
    let room = true;
    const catchUp = new CatchUp(
      ring,
      0,
      () => true,
      () => {
        room = false;
      },
      () => room,
    );
    expect(catchUp.pump()).toBe("paused");
    for (let seq = 11; seq <= 30; seq += 1) ring.push(stateEvent(seq));
    room = true;
    expect(catchUp.pump()).toBe("lost");
  });

  it("stops before the first seq the connection already received live", () => {
    const ring = ringWith(1, 10);
    const out: number[] = [];
    const catchUp = new CatchUp(
      ring,
      2,
      () => true,
      (e) => out.push(e.seq),
      () => true,
      7,
    );
    expect(catchUp.pump()).toBe("caught_up");
    expect(out).toEqual([3, 4, 5, 6]);
  });
});
