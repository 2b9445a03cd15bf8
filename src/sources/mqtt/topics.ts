/**
 * Which MQTT topics the bridge reads and what each one is. Pure: a topic string in, a tagged match out.
 */

/** Path segments under the prediction prefix that belong to the predictor itself, never to a room. */
export const RESERVED_SEGMENTS: ReadonlySet<string> = new Set(["system", "device", "commands"]);

/** The per-room scalar topics the predictor publishes after the JSON one; they repeat it and are ignored. */
export const LEGACY_SCALAR_FIELDS: ReadonlySet<string> = new Set([
  "next_transition_time",
  "transition_type",
  "confidence",
  "time_until",
]);

export interface TopicLayout {
  /** `occupancy/predictions` by default. */
  readonly predictionPrefix: string;
  /** `occupancy/alerts` by default; severities are the next segment. */
  readonly alertsPrefix: string;
  /** A topic filter (wildcards allowed), `occupancy/drift/+` by default. */
  readonly driftFilter: string;
  /** HA's `mqtt_eventstream` publish topic, when that feed is used. */
  readonly eventstreamTopic: string | undefined;
  /** `homeassistant/status`: Home Assistant's birth and will messages. */
  readonly haStatusTopic: string;
}

export type TopicMatch =
  | { readonly kind: "prediction"; readonly room: string }
  | { readonly kind: "legacy_scalar"; readonly room: string; readonly field: string }
  | { readonly kind: "system_status" }
  | { readonly kind: "availability" }
  | { readonly kind: "alert"; readonly severity: string }
  | { readonly kind: "drift"; readonly room: string | null }
  | { readonly kind: "eventstream" }
  | { readonly kind: "ha_status" }
  | { readonly kind: "unknown" };

export type TopicKind = TopicMatch["kind"];

/** The subscriptions that receive every topic `classifyTopic` understands. */
export function subscriptionFilters(layout: TopicLayout): string[] {
  const p = layout.predictionPrefix;
  const filters = [
    `${p}/+/prediction`,
    `${p}/system/status`,
    `${p}/device/availability`,
    `${layout.alertsPrefix}/+`,
    layout.driftFilter,
    layout.haStatusTopic,
  ];
  if (layout.eventstreamTopic !== undefined) filters.push(layout.eventstreamTopic);
  return [...new Set(filters)];
}

export function classifyTopic(topic: string, layout: TopicLayout): TopicMatch {
  if (topic === layout.haStatusTopic) return { kind: "ha_status" };
  if (layout.eventstreamTopic !== undefined && topic === layout.eventstreamTopic)
    return { kind: "eventstream" };

  const predictionRest = under(topic, layout.predictionPrefix);
  if (predictionRest !== undefined) {
    const [first, second, ...more] = predictionRest.split("/");
    if (first === undefined || second === undefined || more.length > 0) return { kind: "unknown" };
    if (first === "system") return second === "status" ? { kind: "system_status" } : { kind: "unknown" };
    if (first === "device") return second === "availability" ? { kind: "availability" } : { kind: "unknown" };
    if (RESERVED_SEGMENTS.has(first) || first === "") return { kind: "unknown" };
    if (second === "prediction") return { kind: "prediction", room: first };
    if (LEGACY_SCALAR_FIELDS.has(second)) return { kind: "legacy_scalar", room: first, field: second };
    return { kind: "unknown" };
  }

  const alertRest = under(topic, layout.alertsPrefix);
  if (alertRest !== undefined && alertRest !== "" && !alertRest.includes("/")) {
    return { kind: "alert", severity: alertRest };
  }

  if (topicMatchesFilter(layout.driftFilter, topic)) {
    const last = topic.split("/").at(-1);
    const filterLast = layout.driftFilter.split("/").at(-1);
    // The room is the segment a trailing `+` stands for; a fixed drift topic carries it in the payload only.
    const room = filterLast === "+" && last !== undefined && !RESERVED_SEGMENTS.has(last) ? last : null;
    return { kind: "drift", room };
  }
  return { kind: "unknown" };
}

/** MQTT topic-filter matching (`+` one level, `#` the rest), as brokers apply it. */
export function topicMatchesFilter(filter: string, topic: string): boolean {
  const f = filter.split("/");
  const t = topic.split("/");
  for (let i = 0; i < f.length; i++) {
    const part = f[i];
    if (part === "#") return true;
    const level = t[i];
    if (level === undefined) return false;
    if (part !== "+" && part !== level) return false;
  }
  return f.length === t.length;
}

function under(topic: string, prefix: string): string | undefined {
  return topic.startsWith(`${prefix}/`) ? topic.slice(prefix.length + 1) : undefined;
}
