import { Registry } from "prom-client";
import { beforeEach, describe, expect, it } from "vitest";
import { type AckOptions, AckTracker, withRedeliveryCount } from "../../../src/core/delivery/acks.js";
import { AckError } from "../../../src/core/delivery/errors.js";
import { DeliveryMetrics } from "../../../src/core/delivery/metrics.js";
import { DeliveryStore } from "../../../src/core/delivery/store.js";
import { silentLogger } from "../../../src/core/logger.js";
import { ManualClock, tempDataDir } from "./fixtures.js";

const OPTIONS: AckOptions = {
  timeoutMs: 1_000,
  maxAttempts: 3,
  backoffFactor: 2,
  maxPendingPerClient: 5,
  retentionMs: 3_600_000,
  closedRetentionMs: 60_000,
};

/** Records what the tracker sends; identities in `online` have one open connection. */
class FakeTransport {
  readonly sent: { identity: string; frame: Record<string, unknown> }[] = [];
  readonly online = new Set<string>(["tablet"]);
  send(identity: string, frame: string): number {
    if (!this.online.has(identity)) return 0;
    this.sent.push({ identity, frame: JSON.parse(frame) as Record<string, unknown> });
    return 1;
  }
}

const frame = (id: string): string =>
  JSON.stringify({ message_id: id, message_type: "alert_notification", data: {} });

describe("AckTracker", () => {
  let clock: ManualClock;
  let store: DeliveryStore;
  let transport: FakeTransport;
  let tracker: AckTracker;
  let registry: Registry;

  beforeEach(() => {
    clock = new ManualClock();
    store = DeliveryStore.open(":memory:");
    transport = new FakeTransport();
    registry = new Registry();
    tracker = new AckTracker(store, OPTIONS, silentLogger(), new DeliveryMetrics(registry), clock.now);
    tracker.attach(transport);
  });

  it("redelivers with the same message_id and a redelivery count after the timeout, with backoff", () => {
    tracker.track("tablet", "m1", 7, frame("m1"));
    clock.advance(999);
    tracker.sweep();
    expect(transport.sent).toEqual([]);
    clock.advance(1);
    tracker.sweep();
    expect(transport.sent.map((s) => [s.frame.message_id, s.frame.redelivery_count])).toEqual([["m1", 1]]);
    // The second wait is twice the first.
    clock.advance(1_999);
    tracker.sweep();
    expect(transport.sent).toHaveLength(1);
    clock.advance(1);
    tracker.sweep();
    expect(transport.sent.map((s) => s.frame.redelivery_count)).toEqual([1, 2]);
  });

  it("stops redelivering once acknowledged", () => {
    tracker.track("tablet", "m1", 7, frame("m1"));
    expect(tracker.acknowledge("tablet", "m1")).toBe("acknowledged");
    clock.advance(10_000);
    tracker.sweep();
    expect(transport.sent).toEqual([]);
    expect(tracker.pendingCount()).toBe(0);
  });

  it("treats a repeated acknowledge as harmless and an unknown id as an error", () => {
    tracker.track("tablet", "m1", 7, frame("m1"));
    tracker.acknowledge("tablet", "m1");
    expect(tracker.acknowledge("tablet", "m1")).toBe("duplicate");
    expect(() => tracker.acknowledge("tablet", "never-sent")).toThrow(AckError);
    // Another identity cannot acknowledge someone else's message.
    tracker.track("tablet", "m2", 8, frame("m2"));
    expect(() => tracker.acknowledge("phone", "m2")).toThrow(/no message m2/);
    expect(tracker.pendingCount("tablet")).toBe(1);
  });

  it("reports a message undeliverable after max attempts, once, with metrics", async () => {
    const reports: string[] = [];
    tracker.onUndeliverable((report) =>
      reports.push(`${report.messageId}:${report.reason}:${report.attempts}`),
    );
    tracker.track("tablet", "m1", 7, frame("m1"));
    for (let i = 0; i < 20; i += 1) {
      clock.advance(1_000);
      tracker.sweep();
    }
    expect(transport.sent).toHaveLength(2);
    expect(reports).toEqual(["m1:max_attempts:3"]);
    expect(tracker.pendingCount()).toBe(0);
    expect(tracker.acknowledge("tablet", "m1")).toBe("expired");
    const metrics = await registry.getMetricsAsJSON();
    const undeliverable = metrics.find((m) => m.name === "pma_bridge_ack_undeliverable_total");
    expect(undeliverable?.values).toEqual([{ labels: { reason: "max_attempts" }, value: 1 }]);
  });

  it("does not count attempts while the identity is offline, and sends everything on reconnect", () => {
    transport.online.clear();
    tracker.track("tablet", "m1", 7, frame("m1"));
    tracker.track("tablet", "m2", 8, frame("m2"));
    for (let i = 0; i < 20; i += 1) {
      clock.advance(1_000);
      tracker.sweep();
    }
    expect(tracker.pendingCount("tablet")).toBe(2);
    transport.online.add("tablet");
    expect(tracker.redeliverPending("tablet")).toBe(2);
    expect(transport.sent.map((s) => s.frame.message_id)).toEqual(["m1", "m2"]);
  });

  it("gives up on the oldest message when an identity holds too many", () => {
    const reports: string[] = [];
    tracker.onUndeliverable((report) => reports.push(`${report.messageId}:${report.reason}`));
    for (let i = 1; i <= 7; i += 1) {
      clock.advance(1);
      tracker.track("tablet", `m${i}`, i, frame(`m${i}`));
    }
    expect(tracker.pendingCount("tablet")).toBe(5);
    expect(reports).toEqual(["m1:overflow", "m2:overflow"]);
  });

  it("gives up on messages older than the retention even if never redelivered", () => {
    const reports: string[] = [];
    tracker.onUndeliverable((report) => reports.push(report.reason));
    transport.online.clear();
    tracker.track("tablet", "m1", 7, frame("m1"));
    clock.advance(OPTIONS.retentionMs + 1);
    tracker.sweep();
    expect(reports).toEqual(["expired"]);
  });

  it("does not track the same message twice for one identity", () => {
    expect(tracker.track("tablet", "m1", 7, frame("m1"))).toBe(true);
    expect(tracker.track("tablet", "m1", 7, frame("m1"))).toBe(false);
    expect(tracker.pendingCount()).toBe(1);
  });

  it("keeps pending messages across a restart (a new tracker on the same directory)", () => {
    const dir = tempDataDir();
    const before = new AckTracker(DeliveryStore.open(dir), OPTIONS, silentLogger(), undefined, clock.now);
    before.track("tablet", "m1", 7, frame("m1"));
    const after = new AckTracker(DeliveryStore.open(dir), OPTIONS, silentLogger(), undefined, clock.now);
    after.attach(transport);
    expect(after.redeliverPending("tablet")).toBe(1);
    expect(transport.sent[0]?.frame).toMatchObject({ message_id: "m1", redelivery_count: 1 });
  });
});

describe("withRedeliveryCount", () => {
  it("adds the count to the envelope and keeps everything else", () => {
    expect(JSON.parse(withRedeliveryCount('{"type":"x","data":{"a":1}}', 2))).toEqual({
      type: "x",
      data: { a: 1 },
      redelivery_count: 2,
    });
  });

  it("leaves a frame that is not a JSON object alone", () => {
    expect(withRedeliveryCount("[1]", 2)).toBe("[1]");
    expect(withRedeliveryCount("nope", 2)).toBe("nope");
  });
});
