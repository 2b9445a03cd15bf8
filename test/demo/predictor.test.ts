import { connectAsync, type MqttClient } from "mqtt";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../src/core/logger.js";
import {
  type OccupancyView,
  PredictionPublisher,
  type PredictionPublisherOptions,
  type RoomOccupancy,
} from "../../src/demo/predictor.js";
import { seededRandom } from "../../src/simulator/generator.js";
import { startBroker, type TestBroker } from "../helpers/mosquitto.js";

/** A home whose occupancy the test flips by hand. */
class ManualHome implements OccupancyView {
  private readonly listeners = new Set<(room: RoomOccupancy) => void>();
  constructor(private readonly state: RoomOccupancy[]) {}
  rooms(): readonly RoomOccupancy[] {
    return this.state;
  }
  onChange(listener: (room: RoomOccupancy) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  flip(roomId: string): void {
    const index = this.state.findIndex((r) => r.roomId === roomId);
    const room = this.state[index];
    if (room === undefined) throw new Error(`no room ${roomId}`);
    const next = { ...room, occupied: !room.occupied };
    this.state[index] = next;
    for (const listener of this.listeners) listener(next);
  }
}

interface Received {
  readonly topic: string;
  readonly text: string;
  readonly retain: boolean;
}

/** Collects everything published on the broker, and waits for messages that satisfy a condition. */
class Recorder {
  readonly messages: Received[] = [];
  private waiters: { test: (m: Received) => boolean; resolve: (m: Received) => void }[] = [];
  constructor(readonly client: MqttClient) {
    client.on("message", (topic, payload, packet) => {
      const message = { topic, text: payload.toString(), retain: packet.retain };
      this.messages.push(message);
      this.waiters = this.waiters.filter((w) => {
        if (!w.test(message)) return true;
        w.resolve(message);
        return false;
      });
    });
  }
  next(test: (m: Received) => boolean, timeoutMs = 10_000): Promise<Received> {
    const seen = this.messages.find(test);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("timed out waiting for an MQTT message")), timeoutMs);
      this.waiters.push({
        test,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
      });
    });
  }
  clear(): void {
    this.messages.length = 0;
  }
}

function options(
  url: string,
  overrides: Partial<PredictionPublisherOptions> = {},
): PredictionPublisherOptions {
  return {
    mqttUrl: url,
    topicPrefix: "occupancy/predictions",
    alertsTopicPrefix: "occupancy/alerts",
    driftTopicPrefix: "occupancy/drift",
    predictorRoomIds: { living_room: "living_kitchen" },
    predictionIntervalMs: 0,
    statusIntervalMs: 0,
    alertIntervalMs: 0,
    driftIntervalMs: 0,
    random: seededRandom(42),
    ...overrides,
  };
}

function rooms(): RoomOccupancy[] {
  return [
    { roomId: "living_room", name: "Living Room", occupied: true, nextChangeAt: null },
    { roomId: "bedroom", name: "Bedroom", occupied: false, nextChangeAt: new Date(Date.now() + 600_000) },
  ];
}

describe("PredictionPublisher", () => {
  let broker: TestBroker;
  let recorder: Recorder;
  let publisher: PredictionPublisher | undefined;

  beforeAll(async () => {
    broker = await startBroker();
  });
  afterAll(async () => {
    await broker.stop();
  });
  afterEach(async () => {
    await publisher?.stop();
    publisher = undefined;
    await recorder.client.endAsync();
  });

  async function watch(filter: string): Promise<void> {
    const client = await connectAsync(broker.url, {
      clientId: `watcher-${Math.random().toString(36).slice(2)}`,
    });
    recorder = new Recorder(client);
    await client.subscribeAsync(filter, { qos: 1 });
  }

  it("publishes a retained JSON prediction per room under the predictor's own room id, plus the legacy topics", async () => {
    await watch("occupancy/predictions/#");
    publisher = new PredictionPublisher(options(broker.url), new ManualHome(rooms()), silentLogger());
    await publisher.start();
    const living = await recorder.next((m) => m.topic === "occupancy/predictions/living_kitchen/prediction");
    const payload = JSON.parse(living.text) as Record<string, unknown>;
    expect(payload).toMatchObject({
      room_id: "living_kitchen",
      room_name: "Living Room",
      transition_type: "occupied_to_vacant",
    });
    const bedroom = await recorder.next((m) => m.topic === "occupancy/predictions/bedroom/prediction");
    expect(JSON.parse(bedroom.text)).toMatchObject({
      room_id: "bedroom",
      transition_type: "vacant_to_occupied",
    });
    const legacy = await recorder.next((m) => m.topic === "occupancy/predictions/bedroom/transition_type");
    expect(legacy.text).toBe("vacant_to_occupied");
    await recorder.next((m) => m.topic === "occupancy/predictions/system/status");
    const availability = await recorder.next((m) => m.topic === "occupancy/predictions/device/availability");
    expect(JSON.parse(availability.text)).toMatchObject({ status: "online", device_id: "ha_ml_predictor" });

    // A late subscriber sees the retained state: that is how the bridge learns it after a restart.
    await recorder.client.endAsync();
    await watch("occupancy/predictions/+/prediction");
    const retained = await recorder.next((m) => m.topic === "occupancy/predictions/bedroom/prediction");
    expect(retained.retain).toBe(true);
  });

  it("re-predicts a room as soon as its occupancy flips", async () => {
    await watch("occupancy/predictions/+/prediction");
    const home = new ManualHome(rooms());
    publisher = new PredictionPublisher(options(broker.url), home, silentLogger());
    await publisher.start();
    await recorder.next((m) => m.topic === "occupancy/predictions/bedroom/prediction");
    recorder.clear();
    home.flip("bedroom");
    const next = await recorder.next((m) => m.topic === "occupancy/predictions/bedroom/prediction");
    expect(JSON.parse(next.text)).toMatchObject({ transition_type: "occupied_to_vacant" });
  });

  it("raises alerts on occupancy/alerts/<severity> and drift on occupancy/drift/<room>, never retained", async () => {
    await watch("occupancy/#");
    publisher = new PredictionPublisher(
      options(broker.url, { alertIntervalMs: 20, driftIntervalMs: 20 }),
      new ManualHome(rooms()),
      silentLogger(),
    );
    await publisher.start();
    const alert = await recorder.next((m) => m.topic.startsWith("occupancy/alerts/"));
    const body = JSON.parse(alert.text) as { severity: string; room_id: string; alert_type: string };
    expect(alert.topic).toBe(`occupancy/alerts/${body.severity}`);
    expect(["living_kitchen", "bedroom"]).toContain(body.room_id);
    expect(body.alert_type).toBe("accuracy_degradation");
    expect(alert.retain).toBe(false);
    const drift = await recorder.next((m) => m.topic.startsWith("occupancy/drift/"));
    expect(drift.topic).toBe(`occupancy/drift/${(JSON.parse(drift.text) as { room_id: string }).room_id}`);
  });

  it("leaves its availability retained as offline when it stops", async () => {
    await watch("occupancy/predictions/device/availability");
    publisher = new PredictionPublisher(options(broker.url), new ManualHome(rooms()), silentLogger());
    await publisher.start();
    await recorder.next((m) => JSON.parse(m.text).status === "online");
    recorder.clear(); // earlier tests left "offline" retained; only a new message counts
    await publisher.stop();
    publisher = undefined;
    const offline = await recorder.next((m) => JSON.parse(m.text).status === "offline");
    expect(offline.topic).toBe("occupancy/predictions/device/availability");
  });
});
