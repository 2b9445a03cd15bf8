import { describe, expect, it } from "vitest";
import { type BridgeEvent, EventKind } from "../../../src/core/events.js";
import {
  diagnosticsMessage,
  diagnosticsTopic,
  discoveryMessages,
  eventMessage,
} from "../../../src/sources/mqtt/presence.js";

const layout = {
  statusTopic: "pma-bridge/status",
  discoveryPrefix: "homeassistant",
  eventsTopicPrefix: "pma-bridge/events",
  clientId: "pma-bridge",
  version: "0.1.0",
};

describe("discoveryMessages", () => {
  it("announces six retained diagnostic entities of one device, available through the status topic", () => {
    const messages = discoveryMessages(layout);
    expect(messages.map((m) => m.topic)).toEqual([
      "homeassistant/sensor/pma_bridge/connected_clients/config",
      "homeassistant/sensor/pma_bridge/events_per_second/config",
      "homeassistant/sensor/pma_bridge/pending_acks/config",
      "homeassistant/binary_sensor/pma_bridge/home_assistant_connected/config",
      "homeassistant/binary_sensor/pma_bridge/mqtt_connected/config",
      "homeassistant/sensor/pma_bridge/version/config",
    ]);
    expect(messages.every((m) => m.retain)).toBe(true);
    expect(JSON.parse(messages[3]?.payload ?? "{}")).toEqual({
      name: "Home Assistant connected",
      unique_id: "pma_bridge_home_assistant_connected",
      object_id: "pma_bridge_home_assistant_connected",
      state_topic: "pma-bridge/diagnostics",
      value_template: "{{ 'ON' if value_json.home_assistant_connected else 'OFF' }}",
      availability_topic: "pma-bridge/status",
      payload_available: "online",
      payload_not_available: "offline",
      entity_category: "diagnostic",
      device_class: "connectivity",
      device: {
        identifiers: ["pma_bridge"],
        name: "PMA Bridge",
        manufacturer: "PMA Bridge",
        model: "Home Assistant WebSocket bridge",
        sw_version: "0.1.0",
      },
    });
  });
});

describe("diagnosticsMessage", () => {
  it("reports zeros and false when no live numbers are wired", () => {
    expect(JSON.parse(diagnosticsMessage(layout, undefined, true).payload)).toEqual({
      connected_clients: 0,
      events_per_second: 0,
      pending_acks: 0,
      home_assistant_connected: false,
      mqtt_connected: true,
      version: "0.1.0",
    });
  });

  it("puts the state beside a status topic without a slash", () => {
    expect(diagnosticsTopic({ ...layout, statusTopic: "bridge" })).toBe("bridge/diagnostics");
  });
});

describe("eventMessage", () => {
  const event = (fields: Partial<BridgeEvent>): BridgeEvent =>
    ({
      seq: 1,
      epoch: "e",
      kind: EventKind.Alert,
      time: "2026-03-04T22:00:00.000Z",
      source: "bridge",
      critical: true,
      data: {},
      ...fields,
    }) as BridgeEvent;

  it("names the topic after the kind and the entity, room or bridge, never with MQTT wildcards", () => {
    expect(eventMessage(layout, event({ entity_id: "light.kitchen" })).topic).toBe(
      "pma-bridge/events/alert/light.kitchen",
    );
    expect(eventMessage(layout, event({ room_id: "living room/+#" })).topic).toBe(
      "pma-bridge/events/alert/living_room___",
    );
    expect(eventMessage(layout, event({})).topic).toBe("pma-bridge/events/alert/bridge");
    expect(eventMessage(layout, event({})).retain).toBe(false);
  });
});
