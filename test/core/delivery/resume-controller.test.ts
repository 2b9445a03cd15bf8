import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { configSchema } from "../../../src/config/schema.js";
import { Delivery } from "../../../src/core/delivery/delivery.js";
import type { ResumeError } from "../../../src/core/delivery/errors.js";
import type { SnapshotReason } from "../../../src/core/delivery/resume.js";
import {
  ResumeController,
  type ResumedInfo,
  type ResumeTarget,
} from "../../../src/core/delivery/resume-controller.js";
import type { BridgeEvent } from "../../../src/core/events.js";
import { silentLogger } from "../../../src/core/logger.js";
import { stateEvent, tempDataDir } from "./fixtures.js";

/** A connection that follows kitchen lights and records what it gets. */
class FakeConnection implements ResumeTarget {
  readonly got: number[] = [];
  readonly snapshots: { reason: SnapshotReason; count: number; seq: number }[] = [];
  readonly resumed: ResumedInfo[] = [];
  readonly errors: string[] = [];
  room = Number.POSITIVE_INFINITY;
  constructor(private readonly controller: () => ResumeController) {}
  matches(event: BridgeEvent): boolean {
    return event.room_id === "kitchen";
  }
  replay(event: BridgeEvent): void {
    this.got.push(event.seq);
    this.room -= 1;
  }
  /** What the hub does for a live event. */
  live(event: BridgeEvent): void {
    if (this.matches(event) && this.controller().admitLive(event)) this.got.push(event.seq);
  }
  hasRoom(): boolean {
    return this.room > 0;
  }
  sendSnapshot(reason: SnapshotReason, events: readonly BridgeEvent[], seq: number): void {
    this.snapshots.push({ reason, count: events.length, seq });
  }
  sendResumed(info: ResumedInfo): void {
    this.resumed.push(info);
  }
  sendResumeError(error: ResumeError): void {
    this.errors.push(error.code);
  }
}

describe("ResumeController", () => {
  let delivery: Delivery;
  let epoch: string;

  /** Publishes events like the hub: into the delivery state, then to live clients. */
  function publish(from: number, to: number, ...clients: FakeConnection[]): void {
    for (let seq = from; seq <= to; seq += 1) {
      const event = { ...stateEvent(seq, `light.l${seq}`, "on", seq % 2 === 0 ? "kitchen" : "hall"), epoch };
      delivery.observe(event);
      for (const client of clients) client.live(event);
    }
  }

  function connect(): { client: FakeConnection; controller: ResumeController } {
    let controller: ResumeController | undefined;
    const client = new FakeConnection(() => {
      if (controller === undefined) throw new Error("no controller");
      return controller;
    });
    controller = new ResumeController(delivery, undefined, client);
    return { client, controller };
  }

  beforeEach(async () => {
    delivery = new Delivery(
      configSchema.parse({ data_dir: tempDataDir(), server: { replay: { size: 100 } } }),
      silentLogger(),
    );
    await delivery.start();
    epoch = delivery.numbering().epoch;
  });

  afterEach(async () => {
    await delivery.stop();
  });

  it("with last_seq on the URL holds live events and replays everything missed in order, once", () => {
    publish(1, 20);
    const { client, controller } = connect();
    controller.hold({ lastSeq: 10, epoch });
    publish(21, 24, client);
    expect(client.got).toEqual([]);
    controller.run({ lastSeq: 10, epoch });
    publish(25, 26, client);
    expect(client.got).toEqual([12, 14, 16, 18, 20, 22, 24, 26]);
    expect(client.resumed).toEqual([{ from_seq: 10, last_seq: 24, replayed: 7, epoch }]);
  });

  it("paces the replay by the queue and lets live take over only when caught up", () => {
    publish(1, 40);
    const { client, controller } = connect();
    client.room = 3;
    controller.hold({ lastSeq: 0, epoch });
    controller.run({ lastSeq: 0, epoch });
    expect(client.got).toEqual([2, 4, 6]);
    publish(41, 42, client);
    client.room = Number.POSITIVE_INFINITY;
    controller.pump();
    publish(43, 44, client);
    expect(client.got).toEqual(Array.from({ length: 22 }, (_, i) => 2 * (i + 1)));
  });

  it("after live messages already arrived replays only what came before the first of them", () => {
    publish(1, 10);
    const { client, controller } = connect();
    publish(11, 14, client);
    controller.run({ lastSeq: 4, epoch });
    expect(client.got).toEqual([12, 14, 6, 8, 10]);
    expect(new Set(client.got).size).toBe(client.got.length);
  });

  it("sends a snapshot flagged gap_too_old when the seq fell out of the ring", () => {
    publish(1, 300);
    const { client, controller } = connect();
    controller.run({ lastSeq: 5, epoch });
    expect(client.snapshots).toEqual([{ reason: "gap_too_old", count: 0, seq: 300 }]);
    expect(client.got).toEqual([]);
  });

  it("sends a snapshot flagged epoch_changed for another epoch, without holding live events", () => {
    publish(1, 10);
    const { client, controller } = connect();
    controller.hold({ lastSeq: 5, epoch: "old-epoch" });
    publish(11, 12, client);
    controller.run({ lastSeq: 5, epoch: "old-epoch" });
    expect(client.got).toEqual([12]);
    expect(client.snapshots.map((s) => s.reason)).toEqual(["epoch_changed"]);
  });

  it("answers a seq from the future and a second resume with errors", () => {
    publish(1, 10);
    const { client, controller } = connect();
    controller.run({ lastSeq: 99, epoch });
    controller.run({ lastSeq: 5, epoch });
    expect(client.errors).toEqual(["RESUME_SEQ_AHEAD", "RESUME_INVALID"]);
  });

  it("runs a held resume when the client never gives the go", () => {
    publish(1, 10);
    const { client, controller } = connect();
    controller.hold({ lastSeq: 6, epoch }, 1_000);
    controller.expireHold(5_000, 10_000);
    expect(client.got).toEqual([]);
    controller.expireHold(11_000, 10_000);
    expect(client.got).toEqual([8, 10]);
    expect(controller.pendingRequest()).toBeUndefined();
  });

  it("falls back to a snapshot when the ring overtakes a paused replay", () => {
    publish(1, 10);
    const { client, controller } = connect();
    client.room = 1;
    controller.run({ lastSeq: 0, epoch });
    publish(11, 200);
    client.room = Number.POSITIVE_INFINITY;
    controller.pump();
    expect(client.snapshots.map((s) => s.reason)).toEqual(["gap_too_old"]);
  });
});
