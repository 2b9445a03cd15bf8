/**
 * The bridge's own presence on MQTT: its availability topic (`online`, and `offline` as retained Last Will),
 * Home Assistant MQTT discovery for its diagnostic sensors, their state, and the optional outgoing event
 * stream. Everything here is pure: it computes topics and payloads; the source publishes them.
 */
import type { BridgeEvent } from "../../core/events.js";
import { slugify } from "./rooms.js";

/** Live numbers the diagnostic sensors report; main wires them from the server, hub and acks store. */
export interface BridgeLiveStats {
  connectedClients(): number;
  eventsPerSecond(): number;
  pendingAcks(): number;
  haConnected(): boolean;
}

export interface PresenceLayout {
  /** `pma-bridge/status`: `online`/`offline`, retained; the Last Will says `offline`. */
  readonly statusTopic: string;
  readonly discoveryPrefix: string;
  readonly eventsTopicPrefix: string;
  /** Makes discovery ids unique when several bridges share a broker. */
  readonly clientId: string;
  readonly version: string;
}

export interface OutgoingMessage {
  readonly topic: string;
  readonly payload: string;
  readonly retain: boolean;
}

export const STATUS_ONLINE = "online";
export const STATUS_OFFLINE = "offline";

/** Where the diagnostic sensors read their state: a sibling of the status topic. */
export function diagnosticsTopic(layout: PresenceLayout): string {
  const slash = layout.statusTopic.lastIndexOf("/");
  return `${slash < 0 ? layout.statusTopic : layout.statusTopic.slice(0, slash)}/diagnostics`;
}

/** Home Assistant's birth/will topic under the discovery prefix. */
export function haStatusTopic(layout: Pick<PresenceLayout, "discoveryPrefix">): string {
  return `${layout.discoveryPrefix}/status`;
}

interface SensorSpec {
  readonly key: string;
  readonly component: "sensor" | "binary_sensor";
  readonly name: string;
  readonly valueTemplate: string;
  readonly extra: Readonly<Record<string, string>>;
}

const SENSORS: readonly SensorSpec[] = [
  {
    key: "connected_clients",
    component: "sensor",
    name: "Connected clients",
    valueTemplate: "{{ value_json.connected_clients }}",
    extra: { state_class: "measurement", icon: "mdi:lan-connect" },
  },
  {
    key: "events_per_second",
    component: "sensor",
    name: "Events per second",
    valueTemplate: "{{ value_json.events_per_second }}",
    extra: { state_class: "measurement", unit_of_measurement: "events/s", icon: "mdi:speedometer" },
  },
  {
    key: "pending_acks",
    component: "sensor",
    name: "Pending acknowledgements",
    valueTemplate: "{{ value_json.pending_acks }}",
    extra: { state_class: "measurement", icon: "mdi:email-alert-outline" },
  },
  {
    key: "home_assistant_connected",
    component: "binary_sensor",
    name: "Home Assistant connected",
    valueTemplate: "{{ 'ON' if value_json.home_assistant_connected else 'OFF' }}",
    extra: { device_class: "connectivity" },
  },
  {
    key: "mqtt_connected",
    component: "binary_sensor",
    name: "MQTT connected",
    valueTemplate: "{{ 'ON' if value_json.mqtt_connected else 'OFF' }}",
    extra: { device_class: "connectivity" },
  },
  {
    key: "version",
    component: "sensor",
    name: "Version",
    valueTemplate: "{{ value_json.version }}",
    extra: { icon: "mdi:tag-outline" },
  },
];

/** One retained discovery config per diagnostic sensor, all under one device. */
export function discoveryMessages(layout: PresenceLayout): OutgoingMessage[] {
  const node = slugify(layout.clientId) || "pma_bridge";
  const device = {
    identifiers: [node],
    name: "PMA Bridge",
    manufacturer: "PMA Bridge",
    model: "Home Assistant WebSocket bridge",
    sw_version: layout.version,
  };
  return SENSORS.map((sensor) => ({
    topic: `${layout.discoveryPrefix}/${sensor.component}/${node}/${sensor.key}/config`,
    retain: true,
    payload: JSON.stringify({
      name: sensor.name,
      unique_id: `${node}_${sensor.key}`,
      object_id: `${node}_${sensor.key}`,
      state_topic: diagnosticsTopic(layout),
      value_template: sensor.valueTemplate,
      availability_topic: layout.statusTopic,
      payload_available: STATUS_ONLINE,
      payload_not_available: STATUS_OFFLINE,
      entity_category: "diagnostic",
      ...sensor.extra,
      device,
    }),
  }));
}

export function diagnosticsMessage(
  layout: PresenceLayout,
  live: BridgeLiveStats | undefined,
  mqttConnected: boolean,
): OutgoingMessage {
  return {
    topic: diagnosticsTopic(layout),
    retain: true,
    payload: JSON.stringify({
      connected_clients: live?.connectedClients() ?? 0,
      events_per_second: Math.round((live?.eventsPerSecond() ?? 0) * 100) / 100,
      pending_acks: live?.pendingAcks() ?? 0,
      home_assistant_connected: live?.haConnected() ?? false,
      mqtt_connected: mqttConnected,
      version: layout.version,
    }),
  };
}

/** `<prefix>/<kind>/<id>`: the entity, else the room, else `bridge`; MQTT wildcards and separators become `_`. */
export function eventMessage(layout: PresenceLayout, event: BridgeEvent): OutgoingMessage {
  const id = (event.entity_id ?? event.room_id ?? "bridge").replace(/[/+#\s]/g, "_");
  return {
    topic: `${layout.eventsTopicPrefix}/${event.kind}/${id}`,
    retain: false,
    payload: JSON.stringify(event),
  };
}
