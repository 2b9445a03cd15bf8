import { readFileSync } from "node:fs";
import type { MqttClient } from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EventKind } from "../../../src/core/events.js";
import { homeWithRooms } from "../../helpers/home-directory.js";
import { startBroker, type TestBroker } from "../../helpers/mosquitto.js";
import { connectPeer, makeSource, uniqueMqttConfig, waitFor } from "../../helpers/mqtt-harness.js";
import { mutate, prototypePolluted } from "../../helpers/mutate.js";
import { pick, rng } from "../../helpers/rng.js";

/**
 * The predictor, Home Assistant's event stream or anything else with access to the broker can publish
 * anything on the topics the bridge reads. Starting from real payloads (the fixtures), mutated messages,
 * truncated JSON and oversized payloads go to the real source through a real broker: each is taken or
 * rejected with a reason, and the source keeps reading.
 */

const fixture = (name: string): unknown =>
  JSON.parse(readFileSync(new URL(`../../fixtures/mqtt/${name}`, import.meta.url), "utf8"));

let broker: TestBroker;
let peer: MqttClient;

beforeAll(async () => {
  broker = await startBroker();
  peer = await connectPeer(broker.url);
});

afterAll(async () => {
  await peer?.endAsync();
  await broker?.stop();
});

describe("the MQTT source under mutated payloads", () => {
  it("rejects or takes 1,500 mutated messages on every topic it reads, and a good alert still arrives", async () => {
    const config = uniqueMqttConfig(broker.url, { max_payload_bytes: 16_384 });
    const base = config?.topic_prefix?.split("/")[0] ?? "";
    const eventstreamTopic = `${base}/homeassistant/events`;
    const entry = makeSource(
      { ...config, eventstream_topic: eventstreamTopic },
      { home: homeWithRooms([{ id: "bedroom", name: "Bedroom", area: null, entity_count: 0 }]) },
    );
    await entry.source.start();
    try {
      await waitFor(() => entry.health.get("mqtt")?.ready === true, "the source to subscribe");
      const prefix = entry.config.mqtt.topic_prefix;
      const alerts = entry.config.mqtt.alerts_topic_prefix;
      const targets: readonly (readonly [topic: string, template: unknown])[] = [
        [`${prefix}/bedroom/prediction`, fixture("prediction-bedroom.json")],
        [`${prefix}/system/status`, fixture("system-status.json")],
        [`${prefix}/device/availability`, fixture("device-availability.json")],
        [`${alerts}/warning`, fixture("alert-warning.json")],
        [`${base}/occupancy/drift/bedroom`, fixture("drift-bedroom.json")],
        [eventstreamTopic, fixture("eventstream-state-changed.json")],
      ];
      const r = rng(11);
      for (let i = 0; i < 1500; i++) {
        const [topic, template] = pick(r, targets);
        const text = JSON.stringify(mutate(template, r));
        const shape = r();
        const payload =
          shape < 0.05
            ? text.slice(0, Math.floor(r() * text.length))
            : shape < 0.07
              ? Buffer.alloc(20_000, 0x7b)
              : text;
        peer.publish(topic, payload, { qos: 0 });
      }
      // A QoS 1 marker after the noise: once it is in, everything published before it has been handled.
      await peer.publishAsync(
        `${alerts}/critical`,
        JSON.stringify({ alert_id: "after-the-noise", message: "still reading", severity: "critical" }),
        { qos: 1 },
      );
      await waitFor(
        () => entry.sink.of(EventKind.Alert).some((e) => e.data.alert_id === "after-the-noise"),
        "a good alert after the noise",
      );
      const rejected = Object.values(entry.stats.snapshot().rejected).reduce((a, b) => a + b, 0);
      expect(rejected).toBeGreaterThan(100);
      expect(entry.sink.events.length).toBeGreaterThan(10);
      // Whatever was taken can be sent to clients.
      expect(() => JSON.stringify(entry.sink.events)).not.toThrow();
      expect(entry.health.get("mqtt")?.ready).toBe(true);
      expect(prototypePolluted()).toBe(false);
    } finally {
      await entry.source.stop();
    }
  });
});
