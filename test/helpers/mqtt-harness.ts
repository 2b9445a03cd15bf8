import mqtt, { type MqttClient } from "mqtt";
import { type Config, type ConfigInput, configSchema } from "../../src/config/schema.js";
import type { EventKind, EventSink, NewBridgeEvent } from "../../src/core/events.js";
import { HealthRegistry } from "../../src/core/health.js";
import { silentLogger } from "../../src/core/logger.js";
import { MqttCounters, MqttSource, type MqttSourceOptions } from "../../src/sources/mqtt/source.js";

/** Polls until `check` returns something other than undefined/false, or fails after `timeoutMs`. */
export async function waitFor<T>(
  check: () => T | undefined | false,
  what: string,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** An `EventSink` that keeps everything, for assertions. */
export class RecordingSink implements EventSink {
  readonly events: NewBridgeEvent[] = [];

  publish(event: NewBridgeEvent): void {
    this.events.push(event);
  }

  of<K extends EventKind>(kind: K): NewBridgeEvent<K>[] {
    return this.events.filter((event) => event.kind === kind) as NewBridgeEvent<K>[];
  }
}

let counter = 0;

/** Topic names no other test uses, so retained messages of one test never reach another. */
export function uniqueMqttConfig(
  brokerUrl: string,
  overrides: ConfigInput["mqtt"] = {},
): ConfigInput["mqtt"] {
  counter += 1;
  const base = `t${process.pid}_${counter}_${Date.now().toString(36)}`;
  return {
    url: brokerUrl,
    client_id: `bridge_${base}`,
    topic_prefix: `${base}/occupancy/predictions`,
    alerts_topic_prefix: `${base}/occupancy/alerts`,
    drift_topic: `${base}/occupancy/drift/+`,
    discovery_prefix: `${base}/homeassistant`,
    status_topic: `${base}/pma-bridge/status`,
    events_topic_prefix: `${base}/pma-bridge/events`,
    ...overrides,
  };
}

export interface SourceUnderTest {
  readonly source: MqttSource;
  readonly sink: RecordingSink;
  readonly health: HealthRegistry;
  readonly stats: MqttCounters;
  readonly config: Config;
}

export function makeSource(
  mqttConfig: ConfigInput["mqtt"],
  extra: Partial<MqttSourceOptions> & { roomMap?: Record<string, string> } = {},
): SourceUnderTest {
  const config = configSchema.parse({ mqtt: mqttConfig, rooms: { room_map: extra.roomMap ?? {} } });
  const sink = new RecordingSink();
  const health = new HealthRegistry();
  const stats = new MqttCounters();
  const source = new MqttSource({
    config: config.mqtt,
    rooms: config.rooms,
    addon: false,
    sink,
    health,
    log: silentLogger(),
    stats,
    version: "1.2.3-test",
    timing: {
      reconnectMinMs: 50,
      reconnectMaxMs: 500,
      supervisorRetryMinMs: 20,
      supervisorRetryMaxMs: 100,
      stalenessCheckMs: 50,
    },
    ...extra,
  });
  return { source, sink, health, stats, config };
}

/** A plain MQTT client standing in for the predictor, Home Assistant or a consumer. */
export function connectPeer(url: string, options: mqtt.IClientOptions = {}): Promise<MqttClient> {
  return mqtt.connectAsync(url, { reconnectPeriod: 50, ...options });
}
