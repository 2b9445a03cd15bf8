/** The MQTT side of the bridge: what the composition root and the demo use. */
export { type BrokerEndpoint, MqttError, type MqttErrorCode } from "./broker.js";
export type { RejectReason } from "./normalize.js";
export type { BridgeLiveStats } from "./presence.js";
export {
  HEALTH_COMPONENT,
  MqttCounters,
  type MqttLastKnown,
  MqttSource,
  type MqttSourceOptions,
  type MqttStats,
  type MqttTiming,
  type StalenessListener,
} from "./source.js";
export type { TopicKind } from "./topics.js";
