import { readFileSync } from "node:fs";
import type { MqttClient } from "mqtt";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { EventKind } from "../../../src/core/events.js";
import { HealthRegistry } from "../../../src/core/health.js";
import { silentLogger } from "../../../src/core/logger.js";
import { SelfAlerts } from "../../../src/core/self-alerts.js";
import { homeWithRooms } from "../../helpers/home-directory.js";
import { startBroker, type TestBroker } from "../../helpers/mosquitto.js";
import {
  connectPeer,
  makeSource,
  RecordingSink,
  type SourceUnderTest,
  uniqueMqttConfig,
  waitFor,
} from "../../helpers/mqtt-harness.js";

const fixture = (name: string): string =>
  readFileSync(new URL(`../../fixtures/mqtt/${name}`, import.meta.url), "utf8");

let broker: TestBroker;
let peer: MqttClient;
const running: SourceUnderTest[] = [];

beforeAll(async () => {
  broker = await startBroker();
  peer = await connectPeer(broker.url);
});

afterAll(async () => {
  await peer?.endAsync();
  await broker?.stop();
});

afterEach(async () => {
  for (const entry of running.splice(0)) await entry.source.stop();
});

async function started(...args: Parameters<typeof makeSource>): Promise<SourceUnderTest> {
  const entry = makeSource(...args);
  running.push(entry);
  await entry.source.start();
  await waitFor(() => entry.health.get("mqtt")?.ready === true, "the source to connect and subscribe");
  return entry;
}

/** Publishes on the peer and waits until the source has counted one more message. */
async function deliver(
  entry: SourceUnderTest,
  topic: string,
  payload: string | Buffer,
  retain = false,
): Promise<void> {
  const before = totalReceived(entry);
  await peer.publishAsync(topic, payload, { qos: 1, retain });
  await waitFor(() => totalReceived(entry) > before, `delivery of ${topic}`);
}

function totalReceived(entry: SourceUnderTest): number {
  let total = 0;
  for (const count of entry.stats.receivedByKind.values()) total += count;
  return total;
}

/** The source subscribes after connecting; a probe on Home Assistant's status topic shows when that is live. */
async function subscribed(entry: SourceUnderTest): Promise<void> {
  const topic = `${entry.config.mqtt.discovery_prefix}/status`;
  const before = totalReceived(entry);
  const deadline = Date.now() + 10_000;
  while (totalReceived(entry) === before) {
    if (Date.now() > deadline) throw new Error("the source never subscribed");
    await peer.publishAsync(topic, "probe", { qos: 1 });
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe("MqttSource ingestion", () => {
  it("reads the predictor's prediction payload into a prediction_update, field by field", async () => {
    const entry = await started(uniqueMqttConfig(broker.url), {
      roomMap: { bedroom: "master_bedroom" },
      home: homeWithRooms([
        { id: "master_bedroom", name: "Master bedroom", area: "upstairs", entity_count: 3 },
      ]),
    });
    await subscribed(entry);
    const prefix = entry.config.mqtt.topic_prefix;
    await deliver(entry, `${prefix}/bedroom/prediction`, fixture("prediction-bedroom.json"));
    const [event] = entry.sink.of(EventKind.PredictionUpdate);
    expect(event).toEqual({
      kind: EventKind.PredictionUpdate,
      time: "2026-03-04T22:19:50.102Z",
      source: "mqtt",
      room_id: "master_bedroom",
      critical: false,
      data: {
        room_id: "master_bedroom",
        room_name: "Master bedroom",
        predictor_room_id: "bedroom",
        predicted_time: "2026-03-04T22:47:12.418Z",
        transition_type: "occupied",
        raw_transition_type: "vacant_to_occupied",
        confidence_score: 0.8231,
        current_state: "vacant",
        model_type: "ensemble",
        model_version: "v1.2",
        alternatives: [{ predicted_time: "2026-03-04T22:46:10.001Z", confidence: 0.74 }],
        features_used: 143,
        prediction_made_at: "2026-03-04T22:19:50.102Z",
        prediction_metadata: {
          certainty_level: "high",
          base_predictions: { lstm: 1580.4, xgboost: 1702.9, hmm: 1415.0, gp: 1688.2 },
          model_weights: { lstm: 0.22, xgboost: 0.41, hmm: 0.14, gp: 0.23 },
          system_version: "1.0.0",
          last_updated: "2026-03-04T22:19:50.103Z",
        },
      },
    });
    expect(entry.source.lastKnown().predictions).toEqual([event?.data]);
  });

  it("ignores the legacy scalar topics, reserved room names and unknown rooms, and survives bad payloads", async () => {
    const entry = await started(uniqueMqttConfig(broker.url, { max_payload_bytes: 4096 }), {
      home: homeWithRooms([{ id: "office", name: "Office", area: null, entity_count: 0 }]),
    });
    await subscribed(entry);
    const prefix = entry.config.mqtt.topic_prefix;
    const valid = fixture("prediction-bedroom.json");
    await deliver(entry, `${prefix}/system/prediction`, valid);
    await deliver(entry, `${prefix}/commands/prediction`, valid);
    await deliver(entry, `${prefix}/attic/prediction`, valid);
    await deliver(entry, `${prefix}/office/prediction`, "not json at all");
    await deliver(
      entry,
      `${prefix}/office/prediction`,
      '{"predicted_time": 12, "transition_type": "occupied"}',
    );
    await deliver(
      entry,
      `${prefix}/office/prediction`,
      JSON.stringify({ ...JSON.parse(valid), predicted_time: "3024-01-01T00:00:00Z" }),
    );
    await deliver(entry, `${prefix}/office/prediction`, Buffer.alloc(8192, 0x20));
    await deliver(entry, `${prefix}/system/status`, '["online"]');
    await deliver(entry, `${entry.config.mqtt.alerts_topic_prefix}/panic`, '{"message":"x"}');
    expect(entry.sink.of(EventKind.PredictionUpdate)).toEqual([]);
    expect(entry.sink.of(EventKind.Alert)).toEqual([]);
    expect(entry.stats.snapshot().rejected).toEqual({
      unknown_topic: 2,
      unknown_room: 1,
      invalid_json: 1,
      invalid_timestamp: 2,
      payload_too_large: 1,
      invalid_payload: 2,
    });

    // Still connected and still reading: the next good prediction goes through.
    await deliver(entry, `${prefix}/office/prediction`, valid);
    expect(entry.sink.of(EventKind.PredictionUpdate).map((e) => e.room_id)).toEqual(["office"]);
    expect(entry.source.connected()).toBe(true);
  });

  it("treats retained messages present at subscribe time as last known state, not as new events", async () => {
    const config = uniqueMqttConfig(broker.url);
    const prefix = config?.topic_prefix ?? "";
    await peer.publishAsync(`${prefix}/kitchen/prediction`, fixture("prediction-bedroom.json"), {
      qos: 1,
      retain: true,
    });
    await peer.publishAsync(`${config?.alerts_topic_prefix}/warning`, fixture("alert-warning.json"), {
      qos: 1,
      retain: true,
    });
    await peer.publishAsync(`${prefix}/system/status`, fixture("system-status.json"), {
      qos: 1,
      retain: true,
    });
    const entry = await started(config);
    await waitFor(
      () => entry.source.lastKnown().alerts.length === 1 && entry.source.lastKnown().predictions.length === 1,
      "retained state",
    );
    await waitFor(() => entry.source.lastKnown().predictorStatus, "retained system status");
    expect(entry.source.lastKnown().predictions[0]).toMatchObject({
      room_id: "kitchen",
      transition_type: "occupied",
    });
    expect(entry.source.lastKnown().alerts[0]).toMatchObject({ alert_id: "alert_123" });
    expect(entry.sink.of(EventKind.PredictionUpdate)).toEqual([]);
    expect(entry.sink.of(EventKind.Alert)).toEqual([]);
    expect(entry.sink.of(EventKind.SystemStatus)).toEqual([]);

    // The same alert published live is a new event.
    await deliver(entry, `${config?.alerts_topic_prefix}/warning`, fixture("alert-warning.json"));
    expect(entry.sink.of(EventKind.Alert)).toHaveLength(1);
    for (const topic of [
      `${prefix}/kitchen/prediction`,
      `${config?.alerts_topic_prefix}/warning`,
      `${prefix}/system/status`,
    ]) {
      await peer.publishAsync(topic, "", { qos: 1, retain: true });
    }
  });

  it("publishes system status merged with the bridge's own status, and the predictor going offline", async () => {
    const entry = await started(uniqueMqttConfig(broker.url));
    await subscribed(entry);
    const prefix = entry.config.mqtt.topic_prefix;
    await deliver(entry, `${prefix}/system/status`, fixture("system-status.json"));
    const [status] = entry.sink.of(EventKind.SystemStatus).slice(-1);
    expect(status).toMatchObject({
      kind: EventKind.SystemStatus,
      source: "mqtt",
      critical: false,
      data: {
        status: "healthy",
        details: {
          system_status: "online",
          uptime_seconds: 86412,
          total_predictions_made: 5123,
          last_updated: "2026-03-04T22:20:00.000Z",
          predictor_available: null,
          stale_rooms: [],
          bridge: { version: "1.2.3-test", mqtt_connected: true, ready: true, components: { mqtt: true } },
        },
      },
    });

    await deliver(
      entry,
      `${prefix}/device/availability`,
      '{"status":"offline","device_id":"ha_ml_predictor"}',
    );
    const [offline] = entry.sink.of(EventKind.SystemStatus).slice(-1);
    expect(offline?.data.status).toBe("offline");
    expect(offline?.data.details.predictor_available).toBe(false);
    expect(entry.source.lastKnown().predictorOnline).toBe(false);

    await deliver(
      entry,
      `${prefix}/system/status`,
      JSON.stringify({ system_status: "degraded", models_failed: 1 }),
    );
    await deliver(entry, `${prefix}/device/availability`, fixture("device-availability.json"));
    const [back] = entry.sink.of(EventKind.SystemStatus).slice(-1);
    expect(back?.data.status).toBe("degraded");
  });

  it("marks a room's predictions stale after stale_after_seconds and fresh again on the next prediction", async () => {
    const stale: [string, boolean][] = [];
    const entry = await started(uniqueMqttConfig(broker.url, { stale_after_seconds: 1 }), {
      onStale: (room, isStale) => stale.push([room, isStale]),
    });
    await subscribed(entry);
    const prefix = entry.config.mqtt.topic_prefix;
    const fresh = () =>
      JSON.stringify({
        ...JSON.parse(fixture("prediction-bedroom.json")),
        prediction_made_at: new Date().toISOString(),
      });
    await deliver(entry, `${prefix}/office/prediction`, fresh());
    expect(entry.source.lastKnown().staleRooms).toEqual([]);
    await waitFor(() => stale.length === 1, "the room to go stale");
    expect(stale).toEqual([["office", true]]);
    expect(entry.source.lastKnown().staleRooms).toEqual(["office"]);
    await deliver(entry, `${prefix}/office/prediction`, fresh());
    expect(stale).toEqual([
      ["office", true],
      ["office", false],
    ]);
  });

  it("has the bridge raise and resolve a predictions_stale alert when wired to SelfAlerts, as main does", async () => {
    const sink = new RecordingSink();
    const health = new HealthRegistry();
    const selfAlerts = new SelfAlerts({ health, sink, log: silentLogger(), downAfterMs: 60_000 });
    await selfAlerts.start();
    const entry = await started(uniqueMqttConfig(broker.url, { stale_after_seconds: 1 }), {
      onStale: selfAlerts.predictionsStale,
    });
    await subscribed(entry);
    const prediction = JSON.stringify({
      ...JSON.parse(fixture("prediction-bedroom.json")),
      prediction_made_at: new Date().toISOString(),
    });
    await deliver(entry, `${entry.config.mqtt.topic_prefix}/office/prediction`, prediction);
    await waitFor(() => sink.of(EventKind.Alert).length === 1, "the stale alert");
    expect(sink.of(EventKind.Alert)[0]).toMatchObject({
      source: "bridge",
      room_id: "office",
      data: { alert_type: "predictions_stale", resolved: false },
    });
    await deliver(
      entry,
      `${entry.config.mqtt.topic_prefix}/office/prediction`,
      prediction.replace(
        /"prediction_made_at":"[^"]*"/,
        `"prediction_made_at":"${new Date().toISOString()}"`,
      ),
    );
    expect(sink.of(EventKind.Alert).map((e) => e.data.resolved)).toEqual([false, true]);
    await selfAlerts.stop();
  });

  it("raises alerts and drift notifications as critical events with their rooms", async () => {
    const entry = await started(uniqueMqttConfig(broker.url));
    await subscribed(entry);
    await deliver(entry, `${entry.config.mqtt.alerts_topic_prefix}/warning`, fixture("alert-warning.json"));
    await deliver(
      entry,
      entry.config.mqtt.drift_topic.replace("+", "bedroom"),
      fixture("drift-bedroom.json"),
    );
    expect(entry.sink.of(EventKind.Alert)).toEqual([
      expect.objectContaining({
        source: "mqtt",
        critical: true,
        room_id: "bedroom",
        data: expect.objectContaining({
          alert_id: "alert_123",
          severity: "warning",
          alert_type: "accuracy_degradation",
          current_accuracy: 0.65,
        }),
      }),
    ]);
    expect(entry.sink.of(EventKind.Drift)).toEqual([
      expect.objectContaining({
        source: "mqtt",
        critical: true,
        room_id: "bedroom",
        data: expect.objectContaining({
          drift_id: "drift_bedroom_42",
          created_at: "2026-03-04T22:31:00.123Z",
          drift_score: 0.41,
        }),
      }),
    ]);
  });

  it("takes room ids named like Object.prototype members as plain ids, not as inherited room_map entries", async () => {
    const entry = await started(uniqueMqttConfig(broker.url), { roomMap: { bedroom: "master_bedroom" } });
    await subscribed(entry);
    await deliver(
      entry,
      `${entry.config.mqtt.topic_prefix}/constructor/prediction`,
      fixture("prediction-bedroom.json"),
    );
    await deliver(
      entry,
      `${entry.config.mqtt.alerts_topic_prefix}/warning`,
      JSON.stringify({ alert_id: "proto", message: "odd room", room_id: "valueOf" }),
    );
    const [prediction] = entry.sink.of(EventKind.PredictionUpdate);
    const [alert] = entry.sink.of(EventKind.Alert);
    expect(prediction?.room_id).toBe("constructor");
    expect(prediction?.data.room_id).toBe("constructor");
    expect(alert?.room_id).toBe("valueOf");
    expect(alert?.data.room_id).toBe("valueOf");
    // What clients receive must round-trip as JSON.
    expect(JSON.parse(JSON.stringify([prediction, alert]))).toEqual([prediction, alert]);
  });

  it("publishes a repeated delivery of the same alert once, and its resolution as a new event", async () => {
    const entry = await started(uniqueMqttConfig(broker.url));
    await subscribed(entry);
    const topic = `${entry.config.mqtt.alerts_topic_prefix}/warning`;
    await deliver(entry, topic, fixture("alert-warning.json"));
    await deliver(entry, topic, fixture("alert-warning.json"));
    await deliver(
      entry,
      topic,
      JSON.stringify({ ...JSON.parse(fixture("alert-warning.json")), resolved: true }),
    );
    expect(entry.sink.of(EventKind.Alert).map((e) => [e.data.alert_id, e.data.resolved])).toEqual([
      ["alert_123", false],
      ["alert_123", true],
    ]);
  });

  it("reports its connection as adapter and connection status events and in health", async () => {
    const entry = await started(uniqueMqttConfig(broker.url));
    expect(entry.sink.of(EventKind.ConnectionStatus).map((e) => e.data.status)).toEqual([
      "reconnecting",
      "connected",
    ]);
    expect(entry.sink.of(EventKind.AdapterStatus).at(-1)?.data).toMatchObject({
      adapter_id: "mqtt",
      status: "connected",
      source: "mqtt",
    });
    await entry.source.stop();
    expect(entry.health.get("mqtt")).toBeUndefined();
  });
});
