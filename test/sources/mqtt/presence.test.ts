import { fileURLToPath } from "node:url";
import type { MqttClient } from "mqtt";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type BridgeEvent, EventKind } from "../../../src/core/events.js";
import { discoveryMessages } from "../../../src/sources/mqtt/presence.js";
import { startBroker, type TestBroker } from "../../helpers/mosquitto.js";
import { spawnTsChild } from "../../helpers/mqtt-child.js";
import {
  connectPeer,
  makeSource,
  type SourceUnderTest,
  uniqueMqttConfig,
  waitFor,
} from "../../helpers/mqtt-harness.js";

let broker: TestBroker;
let observer: MqttClient;
const running: SourceUnderTest[] = [];
/** Every message the observer saw, per topic, in order. */
const seen = new Map<string, { payload: string; retain: boolean }[]>();

beforeAll(async () => {
  broker = await startBroker();
  observer = await connectPeer(broker.url);
  observer.on("message", (topic, payload, packet) => {
    const list = seen.get(topic) ?? [];
    list.push({ payload: payload.toString("utf8"), retain: packet.retain });
    seen.set(topic, list);
  });
});

afterAll(async () => {
  await observer?.endAsync();
  await broker?.stop();
});

afterEach(async () => {
  for (const entry of running.splice(0)) await entry.source.stop();
});

async function watch(filter: string): Promise<void> {
  await observer.subscribeAsync(filter, { qos: 1 });
}

const lastPayload = (topic: string): string | undefined => seen.get(topic)?.at(-1)?.payload;

describe("the bridge's MQTT presence", () => {
  it("says online on its retained status topic, and offline when it stops cleanly", async () => {
    const config = uniqueMqttConfig(broker.url);
    const statusTopic = config?.status_topic ?? "";
    await watch(statusTopic);
    const entry = makeSource(config);
    running.push(entry);
    await entry.source.start();
    await waitFor(() => lastPayload(statusTopic) === "online", "online status");
    await entry.source.stop();
    await waitFor(() => lastPayload(statusTopic) === "offline", "offline status");

    // Retained: a client subscribing afterwards learns the bridge is offline.
    const late = await connectPeer(broker.url);
    const retained = new Promise<string>((resolve) =>
      late.on("message", (_t, payload) => resolve(payload.toString())),
    );
    await late.subscribeAsync(statusTopic, { qos: 1 });
    expect(await retained).toBe("offline");
    await late.endAsync();
  });

  it("leaves a Last Will that makes the broker publish offline when the bridge process is killed", async () => {
    const config = uniqueMqttConfig(broker.url);
    const statusTopic = config?.status_topic ?? "";
    await watch(statusTopic);
    const child = await spawnTsChild(
      fileURLToPath(new URL("../../helpers/mqtt-presence-child.ts", import.meta.url)),
      {
        BROKER_URL: broker.url,
        CLIENT_ID: config?.client_id ?? "",
        STATUS_TOPIC: statusTopic,
        DISCOVERY_PREFIX: config?.discovery_prefix ?? "",
      },
    );
    try {
      await child.ready;
      await waitFor(() => lastPayload(statusTopic) === "online", "online status from the child");
      child.child.kill("SIGKILL");
      await waitFor(() => lastPayload(statusTopic) === "offline", "the Last Will");
    } finally {
      child.child.kill("SIGKILL");
      child.cleanup();
    }
  });

  it("publishes discovery for its diagnostic sensors under one device, and again when Home Assistant comes online", async () => {
    const config = uniqueMqttConfig(broker.url);
    const prefix = config?.discovery_prefix ?? "";
    await watch(`${prefix}/+/+/+/config`);
    await watch(`${config?.status_topic?.replace(/status$/, "")}diagnostics`);
    const entry = makeSource(config, {
      live: {
        connectedClients: () => 7,
        eventsPerSecond: () => 12.345,
        pendingAcks: () => 2,
        haConnected: () => true,
      },
    });
    running.push(entry);
    await entry.source.start();
    const expected = discoveryMessages({
      statusTopic: config?.status_topic ?? "",
      discoveryPrefix: prefix,
      eventsTopicPrefix: "",
      clientId: config?.client_id ?? "",
      version: "1.2.3-test",
    });
    expect(expected).toHaveLength(6);
    await waitFor(() => expected.every((m) => seen.get(m.topic)?.length === 1), "the first discovery");
    for (const message of expected) {
      const config = JSON.parse(seen.get(message.topic)?.[0]?.payload ?? "{}") as Record<string, unknown>;
      expect(config).toMatchObject({
        availability_topic: entry.config.mqtt.status_topic,
        entity_category: "diagnostic",
        device: { name: "PMA Bridge", sw_version: "1.2.3-test" },
      });
    }
    expect(
      new Set(
        expected.map(
          (m) => (JSON.parse(m.payload) as { device: { identifiers: string[] } }).device.identifiers[0],
        ),
      ).size,
    ).toBe(1);
    const diagnostics = `${entry.config.mqtt.status_topic.replace(/status$/, "")}diagnostics`;
    await waitFor(() => lastPayload(diagnostics), "diagnostic state");
    expect(JSON.parse(lastPayload(diagnostics) ?? "{}")).toEqual({
      connected_clients: 7,
      events_per_second: 12.35,
      pending_acks: 2,
      home_assistant_connected: true,
      mqtt_connected: true,
      version: "1.2.3-test",
    });

    // Home Assistant's birth message: discovery is sent again; its will (offline) changes nothing.
    await observer.publishAsync(`${prefix}/status`, "offline", { qos: 1 });
    await observer.publishAsync(`${prefix}/status`, "online", { qos: 1 });
    await waitFor(
      () => expected.every((m) => seen.get(m.topic)?.length === 2),
      "discovery after the HA birth",
    );
    expect(entry.stats.receivedByKind.get("ha_status")).toBe(2);
  });

  it("mirrors the event stream on <prefix>/<kind>/<id> at QoS 1 when publish_events is on", async () => {
    const config = uniqueMqttConfig(broker.url, { publish_events: true });
    await watch(`${config?.events_topic_prefix}/#`);
    const entry = makeSource(config);
    running.push(entry);
    await entry.source.start();
    await waitFor(() => entry.source.connected(), "connection");
    const event: BridgeEvent = {
      seq: 41,
      epoch: "e1",
      kind: EventKind.EntityStateChanged,
      time: "2026-03-04T22:31:02.117Z",
      source: "homeassistant",
      entity_id: "light.kitchen",
      room_id: "kitchen",
      critical: false,
      data: {
        entity_id: "light.kitchen",
        entity_type: "light",
        source: "homeassistant",
        old_state: "off",
        new_state: "on",
        attributes: {},
        changed_attributes: [],
        room_id: "kitchen",
        area_id: null,
        last_changed: null,
        last_updated: null,
        user_id: null,
      },
    };
    entry.source.onEvent(event);
    const topic = `${config?.events_topic_prefix}/entity_state_changed/light.kitchen`;
    await waitFor(() => lastPayload(topic), "the mirrored event");
    expect(JSON.parse(lastPayload(topic) ?? "")).toEqual(event);
    expect(seen.get(topic)?.[0]?.retain).toBe(false);
  });
});
