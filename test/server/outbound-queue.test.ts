import { describe, expect, it } from "vitest";
import { type FrameSink, type OutboundMessage, OutboundQueue } from "../../src/server/outbound-queue.js";

/**
 * A socket stand-in: like ws, what was sent stays buffered (counted in `bufferedAmount`) until the peer reads
 * it, which here happens when the test calls `drain`; then, like a socket's `drain` event, it wakes whoever
 * asked.
 */
class ControlledSink implements FrameSink {
  bufferedAmount = 0;
  readonly written: string[] = [];
  drains = 0;
  private waiting: (() => void)[] = [];
  send(message: OutboundMessage): void {
    const frame = message.frame;
    this.written.push(frame.toString());
    this.bufferedAmount += frame.length;
  }
  onceDrained(wake: () => void): void {
    this.waiting.push(wake);
  }
  drained(): void {
    this.drains += 1;
  }
  /** The peer reads everything, including what the queue writes as it gets room. */
  drainAll(): void {
    while (this.bufferedAmount > 0) this.drain();
  }

  drain(): void {
    this.bufferedAmount = 0;
    const waiting = this.waiting;
    this.waiting = [];
    for (const wake of waiting) wake();
  }

  get waiters(): number {
    return this.waiting.length;
  }
}

const msg = (text: string, options: Partial<OutboundMessage> = {}): OutboundMessage => ({
  frame: Buffer.from(text),
  seq: null,
  conflationKey: null,
  requiresAck: false,
  shared: false,
  ...options,
});

/** Larger than the soft limit: once written, the socket counts as congested until drained. */
const BIG = "x".repeat(20);
const limits = { maxMessages: 4, maxBytes: 1000, softLimitBytes: 10 };

describe("OutboundQueue", () => {
  it("writes immediately while the socket keeps up", () => {
    const sink = new ControlledSink();
    const queue = new OutboundQueue(sink, limits);
    queue.push(msg("a"));
    queue.push(msg("b"));
    expect(sink.written).toEqual(["a", "b"]);
    expect(sink.bufferedAmount).toBe(2);
    expect(queue.depth).toBe(0);
    expect(sink.waiters).toBe(0);
  });

  it("asks the socket for one wake-up while it holds frames, and says when it has emptied", () => {
    const sink = new ControlledSink();
    const queue = new OutboundQueue(sink, limits);
    queue.push(msg(BIG));
    queue.push(msg("b"));
    queue.push(msg("c"));
    expect(sink.waiters).toBe(1);
    expect(sink.drains).toBe(0);
    sink.drain();
    expect(queue.depth).toBe(0);
    expect(sink.drains).toBe(1);
    expect(sink.waiters).toBe(0);
  });

  it("waits again when a drain leaves it congested", () => {
    const sink = new ControlledSink();
    const queue = new OutboundQueue(sink, limits);
    queue.push(msg(BIG));
    queue.push(msg(BIG));
    queue.push(msg("c"));
    sink.drain();
    expect(sink.written).toEqual([BIG, BIG]);
    expect(sink.waiters).toBe(1);
    sink.drain();
    expect(sink.written).toEqual([BIG, BIG, "c"]);
    expect(sink.drains).toBe(1);
  });

  it("writes nothing after it is closed, even when the socket drains", () => {
    const sink = new ControlledSink();
    const queue = new OutboundQueue(sink, limits);
    queue.push(msg(BIG));
    queue.push(msg("late"));
    queue.close();
    sink.drain();
    queue.push(msg("after"));
    expect(sink.written).toEqual([BIG]);
  });

  it("holds frames while the socket is congested and writes them in order once it drains", () => {
    const sink = new ControlledSink();
    const queue = new OutboundQueue(sink, limits);
    queue.push(msg(BIG));
    queue.push(msg("b"));
    queue.push(msg("c"));
    expect(sink.written).toEqual([BIG]);
    sink.drain();
    expect(sink.written).toEqual([BIG, "b", "c"]);
  });

  it("conflates entity states under congestion: latest wins, order of the rest kept", () => {
    const sink = new ControlledSink();
    const counts: string[] = [];
    const queue = new OutboundQueue(sink, { ...limits, maxMessages: 10 }, (what) => counts.push(what));
    queue.push(msg(BIG));
    queue.push(msg("light=on", { conflationKey: "light" }));
    queue.push(msg("alert"));
    queue.push(msg("fan=on", { conflationKey: "fan" }));
    queue.push(msg("light=off", { conflationKey: "light" }));
    sink.drainAll();
    expect(sink.written).toEqual([BIG, "alert", "fan=on", "light=off"]);
    expect(counts).toEqual(["conflated"]);
    expect(queue.counters.conflated).toBe(1);
  });

  it("drops the oldest droppable messages past its bounds but never a requires_ack message", () => {
    const sink = new ControlledSink();
    const queue = new OutboundQueue(sink, limits);
    queue.push(msg(BIG));
    queue.push(msg("ack1", { requiresAck: true }));
    for (const text of ["m1", "m2", "m3", "m4", "m5"]) queue.push(msg(text));
    queue.push(msg("ack2", { requiresAck: true }));
    expect(queue.depth).toBe(4);
    sink.drainAll();
    expect(sink.written).toEqual([BIG, "ack1", "m4", "m5", "ack2"]);
    expect(queue.counters.dropped).toBe(3);
  });

  it("keeps requires_ack messages even when they alone exceed the bounds", () => {
    const sink = new ControlledSink();
    const queue = new OutboundQueue(sink, limits);
    queue.push(msg(BIG));
    for (let i = 0; i < 6; i++) queue.push(msg(`ack${i}`, { requiresAck: true }));
    expect(queue.depth).toBe(6);
  });

  it("bounds by bytes as well as by count", () => {
    const sink = new ControlledSink();
    const queue = new OutboundQueue(sink, { ...limits, maxMessages: 100, maxBytes: 10 });
    queue.push(msg(BIG));
    queue.push(msg("12345"));
    queue.push(msg("67890"));
    queue.push(msg("abc"));
    expect(queue.queuedBytes).toBeLessThanOrEqual(10);
    expect(queue.counters.dropped).toBe(1);
  });

  it("reports how long it has made no progress, and resets once it writes", () => {
    let now = 1000;
    const sink = new ControlledSink();
    const queue = new OutboundQueue(
      sink,
      limits,
      () => {},
      () => now,
    );
    queue.push(msg(BIG));
    queue.push(msg("a"));
    now += 500;
    expect(queue.stuckFor()).toBe(500);
    sink.drain();
    expect(queue.stuckFor()).toBe(0);
  });
});
