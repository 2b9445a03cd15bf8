import { z } from "zod";
import { brokerUrlProblem } from "../sources/mqtt/url.js";

/**
 * The one configuration schema. It gives the validator, the `Config` type and every default; the add-on's
 * `config.yaml` options, the `PMA_*` environment variables and the CLI flags all map onto its paths.
 * Keys are snake_case because that is what Home Assistant users write in add-on options and YAML.
 */

const port = z
  .number()
  .int()
  .min(0, "must be a port number from 0 to 65535")
  .max(65535, "must be a port number from 0 to 65535");
/**
 * The longest delay Node's timers hold: 2^31-1 ms. A longer one overflows (TimeoutOverflowWarning) and fires
 * after 1 ms instead, every time, so every duration is capped here, whether or not it is used as a timer today.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;
export const MAX_TIMER_SECONDS = Math.floor(MAX_TIMER_MS / 1000);
const seconds = (min = 0) =>
  z
    .number()
    .min(min)
    .max(
      MAX_TIMER_SECONDS,
      `must be at most ${MAX_TIMER_SECONDS} seconds (about 24.8 days), the longest delay Node.js timers allow`,
    );
const milliseconds = (min = 0) =>
  z
    .number()
    .int()
    .min(min)
    .max(
      MAX_TIMER_MS,
      `must be at most ${MAX_TIMER_MS} ms (about 24.8 days), the longest delay Node.js timers allow`,
    );
const positiveInt = z.number().int().min(1);

export const CAPABILITIES = [
  "predictions",
  "system_status",
  "alerts",
  "room_specific",
  "entities",
  "admin",
] as const;
export type Capability = (typeof CAPABILITIES)[number];

export const apiKeySchema = z.object({
  name: z.string().min(1).max(100),
  key: z.string().min(16, "must be at least 16 characters"),
  capabilities: z.array(z.enum(CAPABILITIES)).default([...CAPABILITIES]),
  /** Rooms (HA area ids) this key may see; empty means every room. */
  rooms: z.array(z.string().min(1)).default([]),
});
export type ApiKeyConfig = z.infer<typeof apiKeySchema>;

const serverSchema = z
  .object({
    host: z.string().min(1).default("0.0.0.0"),
    port: port.default(3001),
    /** A second listener serving the same paths, for clients of the seed 002 system (its default port). */
    occupancy_listener: z
      .object({ enabled: z.boolean().default(false), port: port.default(8766) })
      .prefault({}),
    /** The add-on's ingress port; only the Supervisor (172.30.32.2) may connect to it. */
    ingress_port: port.nullable().default(null),
    max_connections: positiveInt.default(1000),
    max_connections_per_ip: positiveInt.default(100),
    /** Connection attempts per address and minute, after a burst of this many (or `max_connections_per_ip`). */
    connection_attempts_per_minute: positiveInt.default(120),
    /** Largest client frame accepted, in bytes. */
    max_payload_bytes: z
      .number()
      .int()
      .min(1024)
      .max(16 * 1024 * 1024)
      .default(64 * 1024),
    heartbeat_interval_seconds: seconds(1).default(30),
    /** Occupancy-dialect clients silent for longer are closed. */
    connection_timeout_seconds: seconds(1).default(300),
    /**
     * Connections not authenticated this long after opening are closed (1008), so sockets that never log in
     * cannot hold connection slots. Anonymous PMA clients, when allowed, count as authenticated.
     */
    auth_timeout_seconds: seconds(1).default(30),
    /** Interval of the shared protocol-level ping sweep that finds dead peers. */
    ping_interval_seconds: seconds(1).default(30),
    rate_limit: z
      .object({
        messages_per_minute: positiveInt.default(60),
        /** Fraction of the limit at which a `rate_limit_warning` is sent. */
        warn_ratio: z.number().gt(0).max(1).default(0.8),
      })
      .prefault({}),
    queue: z
      .object({
        max_messages: positiveInt.default(256),
        max_bytes: positiveInt.default(4 * 1024 * 1024),
        /** A client whose queue stays full this long is closed with a resume code. */
        stuck_timeout_seconds: seconds(1).default(30),
      })
      .prefault({}),
    replay: z
      .object({
        size: z.number().int().min(0).default(10_000),
        max_age_seconds: seconds(0).default(600),
        /** Memory budget of the replay history (estimated event sizes); the oldest events go first. */
        max_bytes: positiveInt.default(32 * 1024 * 1024),
      })
      .prefault({}),
    failed_auth: z
      .object({
        /** Failed authentications per IP before further attempts are delayed. */
        max_attempts: positiveInt.default(5),
        window_seconds: seconds(1).default(60),
      })
      .prefault({}),
  })
  .prefault({});

const authSchema = z
  .object({
    api_keys: z.array(apiKeySchema).default([]),
    /** Secret for HS256 tokens (`pma-bridge token`); at least 32 characters. */
    jwt_secret: z.string().min(32, "must be at least 32 characters").optional(),
    /** Lets clients without a credential read non-sensitive entity events. */
    allow_anonymous: z.boolean().default(false),
  })
  .prefault({});

const homeAssistantSchema = z
  .object({
    /** `http://homeassistant.local:8123`, or a `ws(s)://…/api/websocket` URL. */
    url: z.string().url("must be a URL such as http://homeassistant.local:8123").optional(),
    /** A long-lived access token (Profile → Security in Home Assistant). */
    token: z.string().min(1).optional(),
    heartbeat_interval_seconds: seconds(1).default(30),
    /** A ping unanswered this long counts the connection as lost; also the state snapshot's deadline. */
    pong_timeout_seconds: seconds(1).default(10),
    auth_timeout_seconds: seconds(1).default(10),
    /** Largest frame accepted from Home Assistant, in MiB (big homes send big snapshots). */
    max_payload_mib: z.number().int().min(1).max(1024).default(64),
    /** HA event types forwarded as `source_event` besides the ones the bridge understands. */
    forward_event_types: z.array(z.string().min(1)).default(["call_service"]),
    /** Wait before retrying after Home Assistant rejected the token (no tight loop on a bad token). */
    auth_retry_seconds: seconds(1).default(300),
    /** Upper bound of the backoff between failed connection attempts. */
    reconnect_max_seconds: seconds(1).default(30),
    /** Wait before retrying a sync whose subscriptions or lists Home Assistant refused. */
    resubscribe_retry_seconds: seconds(1).default(10),
    /** How often `get_config` is polled while Home Assistant is still starting. */
    startup_poll_seconds: seconds(0.1).default(2),
    /** Registry changes are re-listed after this quiet period, like HA's own frontend. */
    registry_debounce_ms: milliseconds(0).default(500),
  })
  .prefault({});

const mqttSchema = z
  .object({
    /** `mqtt://host:1883` or `mqtts://…`; in the add-on, the Mosquitto service is used when absent. */
    url: z
      .string()
      .url("must be a URL such as mqtt://core-mosquitto:1883")
      // The MQTT client parses URLs more strictly than the URL check above; the value may hold a password, so
      // the message never repeats it.
      .superRefine((url, ctx) => {
        const problem = URL.canParse(url) ? brokerUrlProblem(url) : undefined;
        if (problem !== undefined)
          ctx.addIssue({ code: "custom", message: `is not a URL the MQTT client can use: ${problem}` });
      })
      .optional(),
    username: z.string().optional(),
    password: z.string().optional(),
    client_id: z.string().min(1).max(64).default("pma-bridge"),
    tls: z
      .object({
        ca_file: z.string().optional(),
        cert_file: z.string().optional(),
        key_file: z.string().optional(),
        reject_unauthorized: z.boolean().default(true),
      })
      .prefault({}),
    topic_prefix: z.string().min(1).default("occupancy/predictions"),
    alerts_topic_prefix: z.string().min(1).default("occupancy/alerts"),
    drift_topic: z.string().min(1).default("occupancy/drift/+"),
    /** Predictions older than this mark the predictor unavailable for that room. */
    stale_after_seconds: seconds(1).default(600),
    discovery: z.boolean().default(true),
    discovery_prefix: z.string().min(1).default("homeassistant"),
    status_topic: z.string().min(1).default("pma-bridge/status"),
    publish_events: z.boolean().default(false),
    events_topic_prefix: z.string().min(1).default("pma-bridge/events"),
    /** HA's `mqtt_eventstream` publish topic, for hubs that reach Home Assistant only through MQTT. */
    eventstream_topic: z.string().min(1).optional(),
    max_payload_bytes: positiveInt.default(256 * 1024),
  })
  .prefault({});

const roomsSchema = z
  .object({
    /** Predictor room id → Home Assistant area id, for rooms whose ids differ. */
    room_map: z.record(z.string().min(1), z.string().min(1)).default({}),
  })
  .prefault({});

const acksSchema = z
  .object({
    timeout_seconds: seconds(1).default(30),
    max_attempts: positiveInt.default(5),
    backoff_factor: z.number().min(1).default(2),
    /** Message types delivered with `requires_ack: true`. */
    message_types: z.array(z.string().min(1)).default(["alert_notification", "drift_notification"]),
    /** Unacknowledged messages kept per client identity; beyond it the oldest is reported undeliverable. */
    max_pending_per_client: positiveInt.default(1000),
    /** A message nobody acknowledged (e.g. its client never came back) is given up on after this long. */
    retention_hours: z.number().gt(0).default(168),
  })
  .prefault({});

const alertsSchema = z
  .object({
    /** The bridge raises its own alerts when an upstream stays down longer than this. */
    upstream_down_after_seconds: seconds(1).default(60),
  })
  .prefault({});

export const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "fatal", "silent"] as const;

export const configSchema = z.object({
  server: serverSchema,
  auth: authSchema,
  homeassistant: homeAssistantSchema,
  mqtt: mqttSchema,
  rooms: roomsSchema,
  acks: acksSchema,
  alerts: alertsSchema,
  /** Where the bridge keeps its generated key, pending acknowledgements and resume state. */
  data_dir: z.string().min(1).default("./data"),
  log_level: z.enum(LOG_LEVELS).default("info"),
  log_format: z.enum(["pretty", "json"]).default("pretty"),
});

export type Config = z.infer<typeof configSchema>;
export type ConfigIssue = { readonly path: string; readonly message: string };

/**
 * Checks that span several options. They run on the raw input, beside the schema, so that a wrong type in
 * one place does not hide a missing token in another: every problem is reported at once.
 */
export function crossFieldIssues(raw: unknown): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const get = (...path: string[]): unknown =>
    path.reduce<unknown>((node, key) => (isRecord(node) ? node[key] : undefined), raw);
  if (get("homeassistant", "url") !== undefined && get("homeassistant", "token") === undefined) {
    issues.push({
      path: "homeassistant.token",
      message: "is required when homeassistant.url is set (a long-lived access token)",
    });
  }
  const keys = get("auth", "api_keys");
  if (Array.isArray(keys)) {
    const names = new Set<unknown>();
    keys.forEach((key, index) => {
      const name = isRecord(key) ? key.name : undefined;
      if (name !== undefined && names.has(name)) {
        issues.push({ path: `auth.api_keys.${index}.name`, message: "is used twice" });
      }
      names.add(name);
    });
  }
  const mainPort = get("server", "port") ?? 3001;
  const occupancyPort = get("server", "occupancy_listener", "port") ?? 8766;
  if (
    get("server", "occupancy_listener", "enabled") === true &&
    occupancyPort !== 0 &&
    occupancyPort === mainPort
  ) {
    issues.push({ path: "server.occupancy_listener.port", message: "must differ from server.port" });
  }
  const ingressPort = get("server", "ingress_port");
  if (typeof ingressPort === "number" && ingressPort !== 0 && ingressPort === mainPort) {
    issues.push({ path: "server.ingress_port", message: "must differ from server.port" });
  }
  return issues;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
/** What config sources may say: any subset of the config, unvalidated. */
export type ConfigInput = z.input<typeof configSchema>;

/** Paths of values that are secret: masked by `check-config` and never logged. */
export const SECRET_PATHS: readonly string[] = [
  "auth.jwt_secret",
  "auth.api_keys.*.key",
  "homeassistant.token",
  "mqtt.password",
];

// --- Add-on options ---------------------------------------------------------------------------------------

/**
 * The add-on's `/data/options.json` as a config layer. Its keys are config paths, except two: the Supervisor's
 * option grammar allows a list of mappings only at the top level, so `config.yaml` spells `auth.api_keys` as
 * `api_keys` and `rooms.room_map` as `room_map: [{predictor_room, area_id}]`. This moves both into place.
 */
export function fromAddonOptions(options: Record<string, unknown>): Record<string, unknown> {
  const { api_keys: apiKeys, room_map: roomMap, ...config } = options;
  const section = (key: string): Record<string, unknown> => {
    const current = config[key];
    const node = isRecord(current) ? { ...current } : {};
    config[key] = node;
    return node;
  };
  if (apiKeys !== undefined) section("auth").api_keys = apiKeys;
  if (roomMap !== undefined) section("rooms").room_map = roomPairsToMap(roomMap);
  return config;
}

/** `[{predictor_room, area_id}]` → `{predictor_room: area_id}`; anything else is left for the schema to reject. */
function roomPairsToMap(value: unknown): unknown {
  if (!Array.isArray(value)) return value;
  const pairs = value.map((item) =>
    isRecord(item) && typeof item.predictor_room === "string"
      ? ([item.predictor_room, item.area_id] as const)
      : undefined,
  );
  return pairs.every((pair) => pair !== undefined) ? Object.fromEntries(pairs) : value;
}
