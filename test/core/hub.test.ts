import { describe, expect, it } from "vitest";
import type { BridgeEvent } from "../../src/core/events.js";
import { EncodedEvent, type EventEncoder, type HubClient } from "../../src/core/hub/encoded-event.js";
import { entityKey, eventKeys, kindKey, roomKey, typeKey } from "../../src/core/hub/subscription-index.js";
import { Hub } from "../../src/core/hub.js";
import { silentLogger } from "../../src/core/logger.js";
import { prediction, stateChanged, systemStatus } from "../helpers/ws-events.js";

class CountingEncoder implements EventEncoder<Buffer> {
  encodes = 0;
  constructor(
    readonly dialect: string,
    private readonly hub: Hub,
  ) {}
  encode(event: BridgeEvent): EncodedEvent {
    this.encodes += 1;
    return new EncodedEvent(
      event,
      (view) => Buffer.from(`${this.dialect}:${event.seq}:${view}`),
      () => this.hub.countRender(this.dialect),
    );
  }
}

class RecordingClient implements HubClient<Buffer> {
  readonly frames: Buffer[] = [];
  checked = 0;
  constructor(
    readonly encoder: EventEncoder<Buffer>,
    private readonly accept: (event: BridgeEvent) => boolean = () => true,
  ) {}
  matches(event: BridgeEvent): boolean {
    this.checked += 1;
    return this.accept(event);
  }
  deliver(encoded: EncodedEvent): void {
    this.frames.push(encoded.view());
  }
}

describe("Hub", () => {
  it("assigns strictly increasing seq numbers within one epoch", () => {
    const hub = new Hub({ log: silentLogger(), epoch: "e1" });
    const seen: BridgeEvent[] = [];
    hub.onEvent((event) => seen.push(event));
    hub.publish(stateChanged("light.a", "on"));
    hub.publish(systemStatus("healthy"));
    hub.publish(stateChanged("light.a", "off"));
    expect(seen.map((e) => [e.seq, e.epoch])).toEqual([
      [1, "e1"],
      [2, "e1"],
      [3, "e1"],
    ]);
    expect(hub.lastSeq()).toBe(3);
  });

  it("gives each bridge start a different random epoch", () => {
    expect(new Hub({ log: silentLogger() }).epoch).not.toBe(new Hub({ log: silentLogger() }).epoch);
  });

  it("indexes events under kind, HA type, entity and room", () => {
    const hub = new Hub({ log: silentLogger(), epoch: "e" });
    const seen: BridgeEvent[] = [];
    hub.onEvent((event) => seen.push(event));
    hub.publish(stateChanged("light.a", "on", { room: "kitchen" }));
    const [event] = seen;
    expect(event && eventKeys(event)).toEqual([
      kindKey("entity_state_changed"),
      typeKey("state_changed"),
      entityKey("light.a"),
      roomKey("kitchen"),
    ]);
  });

  it("only asks clients indexed under the event's keys, so unrelated clients cost nothing", () => {
    const hub = new Hub({ log: silentLogger() });
    const encoder = new CountingEncoder("d", hub);
    const kitchen = new RecordingClient(encoder);
    const bystanders = Array.from({ length: 100 }, () => new RecordingClient(encoder));
    hub.subscribe(kitchen, [entityKey("light.kitchen")]);
    for (const [i, client] of bystanders.entries()) hub.subscribe(client, [entityKey(`light.other_${i}`)]);
    hub.publish(stateChanged("light.kitchen", "on"));
    expect(kitchen.frames).toHaveLength(1);
    expect(bystanders.reduce((sum, c) => sum + c.checked, 0)).toBe(0);
  });

  it("checks each candidate once even when it is indexed under several of the event's keys", () => {
    const hub = new Hub({ log: silentLogger() });
    const client = new RecordingClient(new CountingEncoder("d", hub));
    hub.subscribe(client, [entityKey("light.a"), roomKey("kitchen"), kindKey("entity_state_changed")]);
    hub.publish(stateChanged("light.a", "on", { room: "kitchen" }));
    expect(client.checked).toBe(1);
    expect(client.frames).toHaveLength(1);
  });

  it("delivers to the clients indexed when the event was published, even if a delivery re-subscribes others", () => {
    const hub = new Hub({ log: silentLogger() });
    const encoder = new CountingEncoder("d", hub);
    const late = new RecordingClient(encoder);
    const leaving = new RecordingClient(encoder);
    const both = new RecordingClient(encoder);
    const first: HubClient = {
      encoder,
      matches: () => true,
      deliver: () => {
        hub.unsubscribe(leaving);
        hub.subscribe(late, [roomKey("kitchen")]);
      },
    };
    hub.subscribe(first, [entityKey("light.a")]);
    hub.subscribe(leaving, [roomKey("kitchen")]);
    hub.subscribe(both, [roomKey("kitchen"), entityKey("light.a")]);
    hub.publish(stateChanged("light.a", "on", { room: "kitchen" }));
    expect([late.frames.length, leaving.frames.length, both.frames.length]).toEqual([0, 1, 1]);
    hub.publish(stateChanged("light.a", "off", { room: "kitchen" }));
    expect([late.frames.length, leaving.frames.length, both.frames.length]).toEqual([1, 1, 2]);
  });

  it("encodes an event once per dialect and hands every recipient the same Buffer", () => {
    const hub = new Hub({ log: silentLogger() });
    const a = new CountingEncoder("a", hub);
    const b = new CountingEncoder("b", hub);
    const clients = Array.from({ length: 1000 }, (_, i) => new RecordingClient(i % 2 === 0 ? a : b));
    for (const client of clients) hub.subscribe(client, [kindKey("prediction_update")]);
    hub.publish(prediction("kitchen", "2026-01-15T15:45:00.000Z"));
    expect([a.encodes, b.encodes]).toEqual([1, 1]);
    expect(hub.stats().renders).toEqual({ a: 1, b: 1 });
    const first = clients[0]?.frames[0];
    expect(clients.filter((c) => c.frames[0] === first)).toHaveLength(500);
  });

  it("does not encode for a dialect none of whose candidates match", () => {
    const hub = new Hub({ log: silentLogger() });
    const encoder = new CountingEncoder("a", hub);
    hub.subscribe(new RecordingClient(encoder, () => false), [kindKey("system_status")]);
    hub.publish(systemStatus("healthy"));
    expect(encoder.encodes).toBe(0);
  });

  it("leaves no index entries behind when clients unsubscribe or re-index", () => {
    const hub = new Hub({ log: silentLogger() });
    const client = new RecordingClient(new CountingEncoder("a", hub));
    hub.subscribe(client, [entityKey("light.a"), roomKey("kitchen")]);
    hub.subscribe(client, [entityKey("light.b")]);
    expect(hub.indexBucketCount).toBe(1);
    hub.publish(stateChanged("light.a", "on"));
    expect(client.frames).toHaveLength(0);
    hub.unsubscribe(client);
    expect([hub.subscriberCount, hub.indexBucketCount]).toEqual([0, 0]);
  });

  it("keeps delivering to other clients when one client's delivery throws", () => {
    const hub = new Hub({ log: silentLogger() });
    const encoder = new CountingEncoder("a", hub);
    const broken: HubClient = {
      encoder,
      matches: () => true,
      deliver: () => {
        throw new Error("boom");
      },
    };
    const healthy = new RecordingClient(encoder);
    hub.subscribe(broken, [kindKey("system_status")]);
    hub.subscribe(healthy, [kindKey("system_status")]);
    hub.publish(systemStatus("healthy"));
    expect(healthy.frames).toHaveLength(1);
  });
});
