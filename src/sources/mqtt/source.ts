import mqtt, { type IClientOptions, type IPublishPacket, type MqttClient } from "mqtt";
import type { Config } from "../../config/schema.js";
import { errorMessage } from "../../core/errors.js";
import {
  type AdapterState,
  type AlertData,
  type BridgeEvent,
  type ConnectionState,
  type DriftData,
  EventKind,
  type EventSink,
  type JsonValue,
  type NewBridgeEvent,
  type PredictionData,
  type SystemHealth,
  type SystemStatusData,
} from "../../core/events.js";
import type { HealthRegistry } from "../../core/health.js";
import type { HomeDirectory, StateFeed } from "../../core/home.js";
import type { Service } from "../../core/lifecycle.js";
import type { Logger } from "../../core/logger.js";
import { type BrokerEndpoint, endpointFromConfig, MqttError, querySupervisorService } from "./broker.js";
import { type EventstreamMessage, parseEventstream } from "./eventstream.js";
import {
  type DeviceAvailability,
  decodeJson,
  type Parsed,
  type PredictorStatus,
  parseAlert,
  parseAvailability,
  parseDrift,
  parsePrediction,
  parseSystemStatus,
  type RejectReason,
} from "./normalize.js";
import {
  type BridgeLiveStats,
  diagnosticsMessage,
  discoveryMessages,
  eventMessage,
  haStatusTopic,
  type OutgoingMessage,
  type PresenceLayout,
  STATUS_OFFLINE,
  STATUS_ONLINE,
} from "./presence.js";
import { RoomResolver } from "./rooms.js";
import {
  classifyTopic,
  subscriptionFilters,
  type TopicKind,
  type TopicLayout,
  type TopicMatch,
} from "./topics.js";
import { brokerUrlProblem, redactUrl } from "./url.js";

export const HEALTH_COMPONENT = "mqtt";
const DEFAULT_SUPERVISOR_URL = "http://supervisor";

/** Counts what arrives and what is refused; main exports these as metrics. */
export interface MqttStats {
  received(kind: TopicKind): void;
  rejected(kind: TopicKind, reason: RejectReason): void;
}

/** A plain in-memory `MqttStats`, read by the metrics endpoint. */
export class MqttCounters implements MqttStats {
  readonly receivedByKind = new Map<TopicKind, number>();
  readonly rejectedByReason = new Map<RejectReason, number>();

  received(kind: TopicKind): void {
    this.receivedByKind.set(kind, (this.receivedByKind.get(kind) ?? 0) + 1);
  }

  rejected(_kind: TopicKind, reason: RejectReason): void {
    this.rejectedByReason.set(reason, (this.rejectedByReason.get(reason) ?? 0) + 1);
  }

  /** Plain numbers for the JSON metrics endpoint. */
  snapshot(): { received: Record<string, number>; rejected: Record<string, number> } {
    return {
      received: Object.fromEntries(this.receivedByKind),
      rejected: Object.fromEntries(this.rejectedByReason),
    };
  }
}

/** Told when a room's predictions go stale (no prediction for `stale_after_seconds`) and when they resume. */
export type StalenessListener = (roomId: string, stale: boolean, lastPredictionAt: string) => void;

export interface MqttTiming {
  readonly reconnectMinMs: number;
  readonly reconnectMaxMs: number;
  readonly supervisorRetryMinMs: number;
  readonly supervisorRetryMaxMs: number;
  /** How often the diagnostic sensors' state is published. */
  readonly diagnosticsIntervalMs: number;
  /** How often rooms are checked for stale predictions. */
  readonly stalenessCheckMs: number;
}

const DEFAULT_TIMING: MqttTiming = {
  reconnectMinMs: 1_000,
  reconnectMaxMs: 60_000,
  supervisorRetryMinMs: 2_000,
  supervisorRetryMaxMs: 60_000,
  diagnosticsIntervalMs: 30_000,
  stalenessCheckMs: 10_000,
};

export interface MqttSourceOptions {
  readonly config: Config["mqtt"];
  readonly rooms: Config["rooms"];
  /** Running as a Home Assistant add-on: the Supervisor's MQTT service is asked when `mqtt.url` is unset. */
  readonly addon: boolean;
  readonly supervisorToken?: string | undefined;
  /** `http://supervisor` unless a test points it elsewhere. */
  readonly supervisorUrl?: string;
  readonly sink: EventSink;
  readonly home?: HomeDirectory | undefined;
  /** Needed for `mqtt.eventstream_topic`: HA state changes read over MQTT go into the same home model. */
  readonly stateFeed?: StateFeed | undefined;
  readonly health: HealthRegistry;
  readonly log: Logger;
  readonly stats?: MqttStats | undefined;
  /** Live numbers for the bridge's diagnostic sensors. */
  readonly live?: BridgeLiveStats | undefined;
  readonly version: string;
  readonly onStale?: StalenessListener | undefined;
  readonly timing?: Partial<MqttTiming>;
  readonly now?: () => Date;
}

/** What the source knows from the broker, retained messages included: for snapshots and the bridge's own status. */
export interface MqttLastKnown {
  readonly connected: boolean;
  readonly predictions: readonly PredictionData[];
  readonly staleRooms: readonly string[];
  /** The predictor's status merged with the bridge's view; null before the predictor has said anything. */
  readonly predictorStatus: SystemStatusData | null;
  /** The predictor's `device/availability`; null before it has said anything. */
  readonly predictorOnline: boolean | null;
  readonly alerts: readonly AlertData[];
  readonly drift: readonly DriftData[];
}

interface RoomPrediction {
  readonly data: PredictionData;
  /** When the prediction was made (or received, if it does not say), in epoch ms. */
  readonly madeAt: number;
  stale: boolean;
}

/** How many alerts and drift notifications are remembered as "last known". */
const LAST_KNOWN_LIMIT = 100;
/** How many published alert and drift signatures are remembered to drop repeated deliveries. */
const PUBLISHED_MEMORY = 1_000;
/** The same refusal for the same topic is logged at most this often. */
const REJECT_LOG_INTERVAL_MS = 60_000;
/** Connection refused codes meaning bad credentials or not authorised (MQTT 3.1.1: 4, 5; MQTT 5: 134, 135). */
const AUTH_REFUSED_CODES = new Set([4, 5, 134, 135]);
/** How long a clean stop waits for the broker to take the `offline` status. */
const STOP_PUBLISH_TIMEOUT_MS = 2_000;

/**
 * The MQTT side of the bridge: finds the broker, keeps a persistent QoS 1 session to it, turns the
 * prediction system's topics into bridge events, and keeps the bridge's own availability, discovery and
 * (optionally) event stream on the broker.
 *
 * Retained messages received when a subscription is made are "last known" state: they update what
 * `lastKnown()` returns but are never published as new events (a retained alert is not raised again on
 * every restart).
 */
export class MqttSource implements Service {
  readonly name = "mqtt";
  private readonly topics: TopicLayout;
  private readonly presence: PresenceLayout;
  private readonly resolver: RoomResolver;
  private readonly timing: MqttTiming;
  private readonly now: () => Date;
  private readonly log: Logger;

  private client: MqttClient | undefined;
  private stopped = true;
  private abort = new AbortController();
  private runLoop: Promise<void> | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private diagnosticsTimer: NodeJS.Timeout | undefined;
  private stalenessTimer: NodeJS.Timeout | undefined;
  private connection: ConnectionState | undefined;
  private attempt = 0;

  private readonly predictions = new Map<string, RoomPrediction>();
  private predictorStatus: PredictorStatus | undefined;
  private predictorAvailability: DeviceAvailability | undefined;
  private readonly alerts = new Map<string, AlertData>();
  private readonly drift = new Map<string, DriftData>();
  private readonly rejectLogged = new Map<string, number>();
  /** Signatures of recently published alerts and drift reports (see `firstDelivery`). */
  private readonly published = new Map<string, true>();

  constructor(private readonly options: MqttSourceOptions) {
    const { config } = options;
    this.topics = {
      predictionPrefix: config.topic_prefix,
      alertsPrefix: config.alerts_topic_prefix,
      driftFilter: config.drift_topic,
      eventstreamTopic: options.stateFeed === undefined ? undefined : config.eventstream_topic,
      haStatusTopic: haStatusTopic({ discoveryPrefix: config.discovery_prefix }),
    };
    this.presence = {
      statusTopic: config.status_topic,
      discoveryPrefix: config.discovery_prefix,
      eventsTopicPrefix: config.events_topic_prefix,
      clientId: config.client_id,
      version: options.version,
    };
    this.resolver = new RoomResolver(options.rooms.room_map, options.home);
    this.timing = { ...DEFAULT_TIMING, ...options.timing };
    this.now = options.now ?? (() => new Date());
    this.log = options.log;
  }

  /** False when there is no broker to use (no `mqtt.url` and not an add-on): the bridge then runs without MQTT. */
  enabled(): boolean {
    return (
      this.options.config.url !== undefined ||
      (this.options.addon && this.options.supervisorToken !== undefined)
    );
  }

  connected(): boolean {
    return this.client?.connected === true;
  }

  // biome-ignore lint/suspicious/useAwait: part of the Service contract; the connection runs in the background.
  async start(): Promise<void> {
    if (!this.enabled()) {
      this.log.info("MQTT is off: no mqtt.url configured and not running as an add-on");
      return;
    }
    if (this.options.config.eventstream_topic !== undefined && this.options.stateFeed === undefined) {
      this.log.warn(
        "mqtt.eventstream_topic is set but no home model is available to feed; the eventstream is ignored",
      );
    }
    this.stopped = false;
    this.abort = new AbortController();
    this.options.health.register(HEALTH_COMPONENT, "connecting to the MQTT broker");
    this.setConnection("reconnecting", "connecting to the MQTT broker");
    this.stalenessTimer = setInterval(() => this.checkStaleness(), this.timing.stalenessCheckMs);
    this.stalenessTimer.unref();
    // run() handles its own failures; this catch is the last line, so that nothing ends up as an unhandled
    // rejection and stop() always resolves.
    this.runLoop = this.run().catch((error: unknown) => this.fail(error));
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.abort.abort();
    clearTimeout(this.reconnectTimer);
    clearInterval(this.diagnosticsTimer);
    clearInterval(this.stalenessTimer);
    const client = this.client;
    this.client = undefined;
    if (client !== undefined) {
      if (client.connected) {
        // A clean shutdown says offline itself; the Last Will only covers crashes. A broker that no longer
        // answers must not hold up the shutdown.
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          client
            .publishAsync(this.presence.statusTopic, STATUS_OFFLINE, { qos: 1, retain: true })
            .catch((error: unknown) => this.log.debug({ err: error }, "could not publish offline status")),
          new Promise<void>((resolve) => {
            timer = setTimeout(resolve, STOP_PUBLISH_TIMEOUT_MS);
          }),
        ]);
        clearTimeout(timer);
      }
      await client.endAsync(true);
    }
    await this.runLoop;
    this.options.health.unregister(HEALTH_COMPONENT);
  }

  /** Hand every numbered event here to mirror it on `<events_topic_prefix>/<kind>/<id>` (when enabled). */
  onEvent(event: BridgeEvent): void {
    if (!this.options.config.publish_events) return;
    const client = this.client;
    if (client === undefined || !client.connected) return;
    this.publish(client, eventMessage(this.presence, event), 1);
  }

  lastKnown(): MqttLastKnown {
    const rooms = [...this.predictions.values()];
    return {
      connected: this.connected(),
      predictions: rooms.map((room) => room.data),
      staleRooms: rooms.filter((room) => room.stale).map((room) => room.data.room_id),
      predictorStatus:
        this.predictorStatus === undefined && this.predictorAvailability === undefined
          ? null
          : this.systemStatus(),
      predictorOnline: this.predictorAvailability?.online ?? null,
      alerts: [...this.alerts.values()],
      drift: [...this.drift.values()],
    };
  }

  private async run(): Promise<void> {
    let refusals = 0;
    while (!this.stopped) {
      const endpoint = await this.resolveEndpoint();
      if (endpoint === undefined) return;
      const outcome = await this.session(endpoint);
      if (outcome === "stopped") return;
      if (outcome === "unusable") {
        // Asked again after the wait: the Supervisor's answer may have been corrected by then.
        this.attempt += 1;
        const delay = this.backoff(this.attempt);
        this.setConnection("reconnecting", `reconnecting to the MQTT broker in ${delay} ms`);
        await this.sleep(delay);
        continue;
      }
      refusals += 1;
      const delay = this.backoff(refusals);
      this.log.warn(
        { retry_in_ms: delay },
        "the broker refused the Supervisor's MQTT credentials; asking the Supervisor again",
      );
      await this.sleep(delay);
    }
  }

  private backoff(attempt: number): number {
    return Math.min(this.timing.reconnectMinMs * 2 ** (attempt - 1), this.timing.reconnectMaxMs);
  }

  /** The configured broker, or the Supervisor's, asked again with backoff while it has none. */
  private async resolveEndpoint(): Promise<BrokerEndpoint | undefined> {
    try {
      const configured = endpointFromConfig(this.options.config);
      if (configured !== undefined) return configured;
    } catch (error) {
      this.fail(error);
      return undefined;
    }
    const token = this.options.supervisorToken ?? "";
    let delay = this.timing.supervisorRetryMinMs;
    while (!this.stopped) {
      try {
        const endpoint = await querySupervisorService(
          this.options.supervisorUrl ?? DEFAULT_SUPERVISOR_URL,
          token,
          this.abort.signal,
        );
        this.log.info({ url: redactUrl(endpoint.url) }, "using the MQTT broker from the Supervisor");
        return endpoint;
      } catch (error) {
        if (this.stopped) return undefined;
        if (!(error instanceof MqttError) || !error.retryable) {
          this.fail(error);
          return undefined;
        }
        this.log.info({ retry_in_ms: delay }, `${error.message}; asking again`);
        this.options.health.set(HEALTH_COMPONENT, false, error.message);
        await this.sleep(delay);
        delay = Math.min(delay * 2, this.timing.supervisorRetryMaxMs);
      }
    }
    return undefined;
  }

  private fail(error: unknown): void {
    const message = errorMessage(error);
    this.log.error({ err: error }, `MQTT cannot start: ${message}`);
    this.options.health.set(HEALTH_COMPONENT, false, message);
    this.publishAdapter("error", [message]);
  }

  /**
   * One broker connection, kept alive until stop, or until the broker refuses Supervisor credentials. Ends at
   * once as `unusable` when mqtt.js cannot even parse the URL.
   */
  private session(endpoint: BrokerEndpoint): Promise<"stopped" | "refused" | "unusable"> {
    const { config } = this.options;
    const clientOptions: IClientOptions = {
      clientId: config.client_id,
      clean: false,
      protocolVersion: endpoint.protocolVersion,
      // Reconnection is scheduled here, with backoff, rather than by mqtt.js's fixed period.
      reconnectPeriod: 0,
      connectTimeout: 10_000,
      keepalive: 30,
      will: { topic: config.status_topic, payload: Buffer.from(STATUS_OFFLINE), qos: 1, retain: true },
      ...(endpoint.username === undefined ? {} : { username: endpoint.username }),
      ...(endpoint.password === undefined ? {} : { password: endpoint.password }),
      ...(endpoint.tls === undefined
        ? {}
        : {
            rejectUnauthorized: endpoint.tls.rejectUnauthorized,
            ...(endpoint.tls.ca === undefined ? {} : { ca: endpoint.tls.ca }),
            ...(endpoint.tls.cert === undefined ? {} : { cert: endpoint.tls.cert }),
            ...(endpoint.tls.key === undefined ? {} : { key: endpoint.tls.key }),
          }),
    };
    const url = redactUrl(endpoint.url);
    this.log.info({ url, client_id: config.client_id }, "connecting to the MQTT broker");
    let client: MqttClient;
    try {
      // mqtt.connect throws synchronously on what Node's legacy url.parse refuses. Checked first so that a URL
      // WHATWG refuses never reaches that parser, which prints such a URL to stderr, password and all (DEP0170).
      const problem = brokerUrlProblem(endpoint.url);
      if (problem !== undefined) throw new Error(problem);
      client = mqtt.connect(endpoint.url, clientOptions);
    } catch (error) {
      // Not logged as `err`: Node's URL errors carry the whole URL, password included, in `input`.
      const detail = errorMessage(error).replaceAll(endpoint.url, url);
      const failure = new MqttError(
        "MQTT_URL_UNUSABLE",
        `the MQTT broker URL ${url} cannot be used (${detail})`,
      );
      this.log.error({ code: failure.code, url }, failure.message);
      this.options.health.set(HEALTH_COMPONENT, false, failure.message);
      this.client = undefined;
      return Promise.resolve("unusable");
    }
    this.client = client;
    let subscribed = false;
    let refused = false;
    /** The latest connection error, so that health says why the broker is unreachable (refused, TLS, DNS). */
    let lastError: string | undefined;

    let active = true;
    return new Promise((resolve) => {
      const onAbort = (): void => finish("stopped");
      const finish = (outcome: "stopped" | "refused"): void => {
        clearTimeout(this.reconnectTimer);
        clearInterval(this.diagnosticsTimer);
        this.abort.signal.removeEventListener("abort", onAbort);
        // The handlers stay attached (an `error` listener must exist for the client's last moments) but go quiet.
        active = false;
        resolve(outcome);
      };
      this.abort.signal.addEventListener("abort", onAbort, { once: true });

      client.on("connect", (connack) => {
        if (!active) return;
        this.attempt = 0;
        this.log.info({ session_present: connack.sessionPresent }, "connected to the MQTT broker");
        // Ready (for /healthz and the adapter status clients see) only once the subscriptions stand, so that a
        // message published after "ready" is never missed.
        const ready = (): void => {
          if (!active || !client.connected) return;
          this.options.health.set(HEALTH_COMPONENT, true);
          this.setConnection("connected", "connected to the MQTT broker");
        };
        this.publish(client, { topic: config.status_topic, payload: STATUS_ONLINE, retain: true }, 1);
        this.publishDiscovery(client);
        clearInterval(this.diagnosticsTimer);
        this.diagnosticsTimer = setInterval(
          () => this.publishDiagnostics(client),
          this.timing.diagnosticsIntervalMs,
        );
        this.diagnosticsTimer.unref();
        // Subscribe on this process's first connection (which also brings the retained "last known" messages)
        // and whenever the broker kept no session for us; a resumed session still holds the subscriptions.
        // (mqtt.js's own resubscription works only with its fixed reconnect period, which is off here.)
        if (!subscribed || !connack.sessionPresent) {
          subscribed = true;
          const filters = subscriptionFilters(this.topics);
          client.subscribe(filters, { qos: 1 }, (error) => {
            if (error !== null && error !== undefined) {
              subscribed = false;
              this.log.error({ err: error, filters }, "subscribing failed");
              this.options.health.set(HEALTH_COMPONENT, false, `subscribing failed (${error.message})`);
              return;
            }
            ready();
          });
        } else {
          ready();
        }
      });
      client.on("message", (topic, payload, packet) => {
        if (active) this.handleMessage(topic, payload, packet, client);
      });
      client.on("error", (error) => {
        if (!active) return;
        const code = (error as { code?: unknown }).code;
        if (typeof code === "number" && AUTH_REFUSED_CODES.has(code)) {
          refused = true;
          this.log.error(
            { url, username: endpoint.username },
            `the MQTT broker refused the connection: ${error.message}`,
          );
          this.options.health.set(
            HEALTH_COMPONENT,
            false,
            `the MQTT broker refused the credentials (${error.message})`,
          );
          return;
        }
        lastError = error.message;
        this.log.warn({ err: error }, "MQTT connection error");
      });
      client.on("close", () => {
        if (!active || this.stopped) return;
        clearInterval(this.diagnosticsTimer);
        if (refused && endpoint.origin === "supervisor") {
          void client.endAsync(true).finally(() => finish("refused"));
          return;
        }
        this.attempt += 1;
        const delay = this.backoff(this.attempt);
        if (!refused) {
          const why = lastError === undefined ? "" : ` (${lastError})`;
          this.options.health.set(HEALTH_COMPONENT, false, `the MQTT broker is unreachable${why}`);
        }
        lastError = undefined;
        this.setConnection("reconnecting", `reconnecting to the MQTT broker in ${delay} ms`);
        refused = false;
        clearTimeout(this.reconnectTimer);
        this.reconnectTimer = setTimeout(() => {
          // Without the stores, mqtt.js would start over with empty ones and drop unacknowledged QoS 1 publishes.
          if (!this.stopped)
            client.reconnect({ incomingStore: client.incomingStore, outgoingStore: client.outgoingStore });
        }, delay);
      });
    });
  }

  private handleMessage(topic: string, payload: Buffer, packet: IPublishPacket, client: MqttClient): void {
    // An empty retained payload clears a retained topic; it carries no message.
    if (payload.byteLength === 0) return;
    const match = classifyTopic(topic, this.topics);
    this.options.stats?.received(match.kind);
    let rejection: Rejection | undefined;
    try {
      rejection = this.dispatch(match, payload, packet.retain, client);
    } catch (error) {
      // A bug in one handler must not take the connection down with it.
      rejection = { ok: false, reason: "invalid_payload", detail: `handling failed: ${errorMessage(error)}` };
    }
    if (rejection === undefined) return;
    this.options.stats?.rejected(match.kind, rejection.reason);
    this.logRejection(topic, rejection.reason, rejection.detail);
  }

  /** Acts on one message; returns why it was refused, if it was. */
  private dispatch(
    match: TopicMatch,
    payload: Buffer,
    retained: boolean,
    client: MqttClient,
  ): Rejection | undefined {
    const maxBytes = this.options.config.max_payload_bytes;
    switch (match.kind) {
      case "prediction": {
        const room = this.resolver.resolve(match.room);
        if (!room.ok) return { ok: false, reason: room.reason, detail: `room ${match.room}` };
        const parsed = then(decodeJson(payload, maxBytes), (value) =>
          parsePrediction(value, { predictorRoomId: match.room, room: room.room }),
        );
        if (!parsed.ok) return parsed;
        this.onPrediction(parsed.value, retained);
        return undefined;
      }
      case "system_status": {
        const parsed = then(decodeJson(payload, maxBytes), parseSystemStatus);
        if (!parsed.ok) return parsed;
        this.predictorStatus = parsed.value;
        if (!retained) this.publishSystemStatus();
        return undefined;
      }
      case "availability": {
        const parsed = parseAvailability(payload, maxBytes);
        if (!parsed.ok) return parsed;
        const changed = this.predictorAvailability?.online !== parsed.value.online;
        this.predictorAvailability = parsed.value;
        if (changed) this.log.info({ online: parsed.value.online, retained }, "predictor availability");
        if (changed && !retained) this.publishSystemStatus();
        return undefined;
      }
      case "alert": {
        const context = { severity: match.severity, resolveRoom: this.resolveOptional, now: this.now() };
        const parsed = then(decodeJson(payload, maxBytes), (value) => parseAlert(value, context));
        if (!parsed.ok) return parsed;
        const alert = parsed.value;
        remember(this.alerts, alert.alert_id, alert);
        if (
          !retained &&
          this.firstDelivery(`alert\u0000${alert.alert_id}\u0000${alert.resolved}\u0000${alert.created_at}`)
        )
          this.emit({
            kind: EventKind.Alert,
            room_id: parsed.value.room_id,
            critical: true,
            data: parsed.value,
          });
        return undefined;
      }
      case "drift": {
        const context = { topicRoom: match.room, resolveRoom: this.resolveOptional, now: this.now() };
        const parsed = then(decodeJson(payload, maxBytes), (value) => parseDrift(value, context));
        if (!parsed.ok) return parsed;
        remember(this.drift, parsed.value.drift_id, parsed.value);
        if (
          !retained &&
          this.firstDelivery(`drift\u0000${parsed.value.drift_id}\u0000${parsed.value.created_at}`)
        )
          this.emit({
            kind: EventKind.Drift,
            room_id: parsed.value.room_id,
            critical: true,
            data: parsed.value,
          });
        return undefined;
      }
      case "eventstream": {
        const parsed = then(decodeJson(payload, maxBytes), parseEventstream);
        if (!parsed.ok) return parsed;
        // A retained eventstream message is an old event, not a current one.
        if (!retained) this.onEventstream(parsed.value);
        return undefined;
      }
      case "ha_status":
        if (!retained && payload.toString("utf8").trim() === "online") {
          this.log.info("Home Assistant came online; re-sending discovery");
          this.publishDiscovery(client);
        }
        return undefined;
      case "legacy_scalar":
        // The scalar topics repeat the JSON prediction; they are not predictions of their own.
        return undefined;
      case "unknown":
        return { ok: false, reason: "unknown_topic", detail: "not a topic the bridge reads" };
    }
  }

  /**
   * QoS 1 is "at least once": a broker may deliver an alert again (flagged `dup`, or after a restart). An alert
   * or drift report already published with the same id, state and time is not published twice, because each
   * one asks every client for an acknowledgement.
   */
  private firstDelivery(signature: string): boolean {
    if (this.published.has(signature)) {
      this.log.debug("ignored a repeated delivery of an alert");
      return false;
    }
    remember(this.published, signature, true, PUBLISHED_MEMORY);
    return true;
  }

  private readonly resolveOptional = (predictorRoomId: string) => {
    const resolved = this.resolver.resolve(predictorRoomId);
    return resolved.ok ? resolved.room : undefined;
  };

  private onPrediction(data: PredictionData, retained: boolean): void {
    const nowMs = this.now().getTime();
    const madeAt =
      data.prediction_made_at === null ? nowMs : Math.min(Date.parse(data.prediction_made_at), nowMs);
    const previous = this.predictions.get(data.room_id);
    const stale = nowMs - madeAt > this.options.config.stale_after_seconds * 1000;
    this.predictions.set(data.room_id, { data, madeAt, stale });
    if (previous?.stale === true && !stale) this.notifyStale(data.room_id, false, madeAt);
    if (previous?.stale !== true && stale) this.notifyStale(data.room_id, true, madeAt);
    if (retained) return;
    this.emit({
      kind: EventKind.PredictionUpdate,
      time: data.prediction_made_at ?? undefined,
      room_id: data.room_id,
      critical: false,
      data,
    });
  }

  private checkStaleness(): void {
    const nowMs = this.now().getTime();
    const limit = this.options.config.stale_after_seconds * 1000;
    for (const [roomId, room] of this.predictions) {
      if (!room.stale && nowMs - room.madeAt > limit) {
        room.stale = true;
        this.notifyStale(roomId, true, room.madeAt);
      }
    }
  }

  private notifyStale(roomId: string, stale: boolean, madeAt: number): void {
    const at = new Date(madeAt).toISOString();
    this.log.info(
      { room_id: roomId, last_prediction_at: at },
      stale ? "predictions are stale" : "predictions resumed",
    );
    this.options.onStale?.(roomId, stale, at);
  }

  private onEventstream(message: EventstreamMessage): void {
    if (message.type === "state_changed") {
      const feed = this.options.stateFeed;
      if (feed === undefined) return;
      for (const event of feed.applyStateChange(message.entityId, message.newState, "homeassistant")) {
        this.options.sink.publish(event);
      }
      return;
    }
    this.options.sink.publish({
      kind: EventKind.SourceEvent,
      time: this.now().toISOString(),
      source: "homeassistant",
      ha_event_type: message.eventType,
      critical: false,
      data: { source: "homeassistant", event_type: message.eventType, event_data: message.eventData },
    });
  }

  /** The predictor's status merged with the bridge's own view; unavailability of the predictor wins. */
  private systemStatus(): SystemStatusData {
    const predictorOnline = this.predictorAvailability?.online ?? null;
    const fromPredictor: SystemHealth = this.predictorStatus?.status ?? "healthy";
    const report = this.options.health.report();
    const components: Record<string, JsonValue> = {};
    for (const [name, health] of Object.entries(report.components)) components[name] = health.ready;
    return {
      status: predictorOnline === false ? "offline" : fromPredictor,
      details: {
        ...(this.predictorStatus?.payload ?? {}),
        predictor_available: predictorOnline,
        stale_rooms: [...this.predictions.values()]
          .filter((room) => room.stale)
          .map((room) => room.data.room_id),
        bridge: {
          version: this.options.version,
          ready: report.ready,
          mqtt_connected: this.connected(),
          components,
        },
      },
    };
  }

  private publishSystemStatus(): void {
    this.emit({ kind: EventKind.SystemStatus, room_id: null, critical: false, data: this.systemStatus() });
  }

  private emit(
    event: DistributiveOmit<NewBridgeEvent, "time" | "source"> & { time?: string | undefined },
  ): void {
    this.options.sink.publish({
      ...event,
      time: event.time ?? this.now().toISOString(),
      source: "mqtt",
    } as NewBridgeEvent);
  }

  private setConnection(status: ConnectionState, message: string): void {
    if (this.connection === status) return;
    this.connection = status;
    this.options.sink.publish({
      kind: EventKind.ConnectionStatus,
      time: this.now().toISOString(),
      source: "mqtt",
      critical: false,
      data: { source: "mqtt", status, message, attempt: this.attempt },
    });
    this.publishAdapter(
      status === "connected" ? "connected" : status === "reconnecting" ? "connecting" : "disconnected",
      status === "connected" ? [] : [message],
    );
  }

  private publishAdapter(status: AdapterState, issues: string[]): void {
    this.options.sink.publish({
      kind: EventKind.AdapterStatus,
      time: this.now().toISOString(),
      source: "mqtt",
      critical: false,
      data: {
        adapter_id: "mqtt",
        adapter_name: "MQTT broker",
        source: "mqtt",
        status,
        health: { is_healthy: status === "connected", issues, last_sync: null },
      },
    });
  }

  private publishDiscovery(client: MqttClient): void {
    if (!this.options.config.discovery) return;
    for (const message of discoveryMessages(this.presence)) this.publish(client, message, 1);
    this.publishDiagnostics(client);
  }

  private publishDiagnostics(client: MqttClient): void {
    if (!this.options.config.discovery || !client.connected) return;
    this.publish(client, diagnosticsMessage(this.presence, this.options.live, true), 0);
  }

  private publish(client: MqttClient, message: OutgoingMessage, qos: 0 | 1): void {
    client.publish(message.topic, message.payload, { qos, retain: message.retain }, (error) => {
      if (error !== undefined && error !== null)
        this.log.warn({ err: error, topic: message.topic }, "MQTT publish failed");
    });
  }

  private logRejection(topic: string, reason: RejectReason, detail: string): void {
    const key = `${reason}\u0000${topic}`;
    const nowMs = Date.now();
    const last = this.rejectLogged.get(key);
    if (last !== undefined && nowMs - last < REJECT_LOG_INTERVAL_MS) return;
    if (this.rejectLogged.size > 1000) this.rejectLogged.clear();
    this.rejectLogged.set(key, nowMs);
    this.log.warn({ topic, reason, detail }, "ignored an MQTT message");
  }

  /** Waits, or less when the source is stopped meanwhile. */
  private sleep(ms: number): Promise<void> {
    const signal = this.abort.signal;
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        signal.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener("abort", done, { once: true });
    });
  }
}

type Rejection = Extract<Parsed<unknown>, { ok: false }>;

/** Chains a second parse step onto a successful first one. */
function then<A, B>(first: Parsed<A>, next: (value: A) => Parsed<B>): Parsed<B> {
  return first.ok ? next(first.value) : first;
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** Sets `key` as the newest entry, dropping the oldest beyond `limit`. */
function remember<T>(map: Map<string, T>, key: string, value: T, limit = LAST_KNOWN_LIMIT): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > limit) {
    const oldest = map.keys().next();
    if (oldest.done !== true) map.delete(oldest.value);
  }
}
