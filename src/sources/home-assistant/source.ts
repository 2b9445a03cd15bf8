import {
  type Connection,
  createConnection,
  ERR_CONNECTION_LOST,
  ERR_INVALID_AUTH,
  type MessageBase,
} from "home-assistant-js-websocket";
import type { Config } from "../../config/schema.js";
import { isRecord } from "../../config/schema.js";
import { errorMessage } from "../../core/errors.js";
import type { EventSink, NewBridgeEvent, SyncState } from "../../core/events.js";
import type { HealthRegistry } from "../../core/health.js";
import type { HaStateObject } from "../../core/home.js";
import type { HomeModel, RegistrySnapshot } from "../../core/home-model.js";
import type { Service } from "../../core/lifecycle.js";
import type { Logger } from "../../core/logger.js";
import { type HomeAssistantEndpoint, resolveEndpoint } from "./endpoint.js";
import { HomeAssistantCommandError, HomeAssistantSnapshotError, SessionEndedError } from "./errors.js";
import {
  type EntitiesEvent,
  type Parsed,
  parseAreaList,
  parseCoreConfig,
  parseDeviceList,
  parseEntitiesEvent,
  parseEntitiesSnapshot,
  parseEntityList,
  parseFloorList,
  parseHaEvent,
  type RegistryList,
  type RegistryName,
  registryOfEvent,
  renameOf,
} from "./messages.js";
import {
  adapterStatusEvent,
  applyStateDiff,
  automationTriggeredEvent,
  connectionStatusEvent,
  expandState,
  sceneActivatedEvents,
  sourceEvent,
  syncStatusEvent,
} from "./normalize.js";
import { SocketFactory } from "./socket.js";

export const HEALTH_COMPONENT = "homeassistant";
const REGISTRY_EVENTS = [
  "floor_registry_updated",
  "area_registry_updated",
  "device_registry_updated",
  "entity_registry_updated",
] as const;
/** Events the source understands; `call_service` carries scene activations. */
const CORE_EVENTS = [...REGISTRY_EVENTS, "automation_triggered", "call_service"];
const REGISTRY_COMMANDS: Record<RegistryName, string> = {
  floors: "config/floor_registry/list",
  areas: "config/area_registry/list",
  devices: "config/device_registry/list",
  entities: "config/entity_registry/list",
};
const REGISTRY_ORDER: readonly RegistryName[] = ["floors", "areas", "devices", "entities"];

export interface HomeAssistantSourceOptions {
  readonly config: Config["homeassistant"];
  /** Running as a Home Assistant add-on: without `url`, the Supervisor proxy and `supervisorToken` are used. */
  readonly addon: boolean;
  readonly supervisorToken?: string | undefined;
  readonly sink: EventSink;
  readonly model: HomeModel;
  readonly health: HealthRegistry;
  readonly log: Logger;
  readonly now?: () => Date;
}

/** Counters for metrics and tests; every oddity from upstream is counted here. */
export interface HomeAssistantSourceStats {
  connects: number;
  disconnects: number;
  authFailures: number;
  connectFailures: number;
  heartbeatTimeouts: number;
  syncs: number;
  syncFailures: number;
  badFrames: number;
  /** Frames whose handling threw: a bug in the bridge, logged with its stack; the bridge carries on. */
  handlerErrors: number;
  malformedMessages: number;
  unknownEntityDiffs: number;
  registryRelists: number;
  eventsPublished: number;
}

/**
 * One `subscribe_entities` subscription. Once abandoned (its snapshot was malformed or overdue), its events
 * are ignored and it is unsubscribed, so that a new subscription's snapshot is the only one read.
 */
class EntitiesSubscription {
  private abandoned = false;
  private unsubscribe: (() => Promise<void>) | undefined;

  get isAbandoned(): boolean {
    return this.abandoned;
  }

  /** The result came; HA's events for it usually came in the same frame, before this. */
  subscribed(unsubscribe: () => Promise<void>): void {
    if (this.abandoned) dropSubscription(unsubscribe);
    else this.unsubscribe = unsubscribe;
  }

  abandon(): void {
    this.abandoned = true;
    if (this.unsubscribe !== undefined) dropSubscription(this.unsubscribe);
    this.unsubscribe = undefined;
  }
}

/** Best effort: on a lost connection HA has dropped the subscription already. */
function dropSubscription(unsubscribe: () => Promise<void>): void {
  unsubscribe().catch(() => {});
}

/** One authenticated connection: its subscriptions, its state snapshot and the work bound to it. */
class Session {
  synced = false;
  snapshot: Map<string, HaStateObject> | undefined;
  readonly subscribedEvents = new Set<string>();
  /** The entity subscription whose events count; undefined before subscribing and once abandoned. */
  entities: EntitiesSubscription | undefined;
  readonly dirty = new Set<RegistryName>();
  relistTimer: NodeJS.Timeout | undefined;
  private ended = false;
  private readonly endListeners = new Set<() => void>();
  private snapshotWaiters: (() => void)[] = [];
  /** Why the current subscription's snapshot will not come; kept for a sync that is not waiting yet. */
  private snapshotFailure: Error | undefined;

  constructor(readonly conn: Connection) {}

  get isEnded(): boolean {
    return this.ended;
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    clearTimeout(this.relistTimer);
    for (const listener of this.endListeners) listener();
    this.endListeners.clear();
  }

  /** Settles with `work`, or rejects with `SessionEndedError` as soon as the connection ends. */
  run<T>(work: Promise<T>): Promise<T> {
    if (this.ended) {
      work.catch(() => {});
      return Promise.reject(new SessionEndedError());
    }
    return new Promise<T>((resolve, reject) => {
      const onEnd = (): void => reject(new SessionEndedError());
      this.endListeners.add(onEnd);
      work.then(
        (value) => {
          this.endListeners.delete(onEnd);
          resolve(value);
        },
        (error: unknown) => {
          this.endListeners.delete(onEnd);
          reject(error);
        },
      );
    });
  }

  sleep(ms: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    return this.run(
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, ms);
      }),
    ).finally(() => clearTimeout(timer));
  }

  /** A new entity subscription: its first event is the snapshot, whatever became of an earlier one. */
  subscribingEntities(): EntitiesSubscription {
    this.entities = new EntitiesSubscription();
    this.snapshot = undefined;
    this.snapshotFailure = undefined;
    return this.entities;
  }

  snapshotArrived(states: Map<string, HaStateObject>): void {
    this.snapshot = states;
    this.notifySnapshotWaiters();
  }

  /** No usable snapshot will come on this subscription: it is dropped, and the next sync attempt subscribes again. */
  snapshotFailed(error: Error): void {
    this.entities?.abandon();
    this.entities = undefined;
    this.snapshot = undefined;
    this.snapshotFailure = error;
    this.notifySnapshotWaiters();
  }

  /**
   * The snapshot, or a rejection when it is malformed or has not come within `timeoutMs`. HA sends it
   * right after the subscription's result, so by the time the sync waits for it, it is due.
   */
  waitForSnapshot(timeoutMs: number): Promise<Map<string, HaStateObject>> {
    let timer: NodeJS.Timeout | undefined;
    return this.run(
      new Promise<Map<string, HaStateObject>>((resolve, reject) => {
        const check = (): void => {
          if (this.snapshot !== undefined) resolve(this.snapshot);
          else if (this.snapshotFailure !== undefined) {
            reject(this.snapshotFailure);
            this.snapshotFailure = undefined;
          } else this.snapshotWaiters.push(check);
        };
        timer = setTimeout(() => {
          const seconds = timeoutMs / 1000;
          this.snapshotFailed(
            new HomeAssistantSnapshotError("timeout", `the state snapshot did not come within ${seconds} s`),
          );
        }, timeoutMs);
        check();
      }),
    ).finally(() => clearTimeout(timer));
  }

  private notifySnapshotWaiters(): void {
    const waiters = this.snapshotWaiters;
    this.snapshotWaiters = [];
    for (const waiter of waiters) waiter();
  }
}

/** What the client library rejects with: a number, HA's error object, or a whole failed result message. */
function commandError(command: string, error: unknown): HomeAssistantCommandError {
  if (error === ERR_CONNECTION_LOST)
    return new HomeAssistantCommandError(command, "connection_lost", "Connection lost");
  if (isRecord(error)) {
    const inner = isRecord(error.error) ? error.error : error;
    const code =
      inner.code === ERR_CONNECTION_LOST ? "connection_lost" : String(inner.code ?? "unknown_error");
    const message = typeof inner.message === "string" ? inner.message : "Unknown error";
    const details: Record<string, unknown> = {};
    for (const key of ["translation_key", "translation_placeholders", "translation_domain"]) {
      if (inner[key] !== undefined) details[key] = inner[key];
    }
    return new HomeAssistantCommandError(command, code, message, details);
  }
  return new HomeAssistantCommandError(command, "unknown_error", errorMessage(error));
}

function orThrow<T>(parsed: Parsed<T>, what: string): T {
  if (!parsed.ok) throw new HomeAssistantCommandError(what, "invalid_response", parsed.error);
  return parsed.value;
}

/**
 * Reads Home Assistant over its WebSocket API (through `home-assistant-js-websocket` on a `ws` socket),
 * keeps the home model current and publishes what changes. It survives everything upstream does: bad
 * tokens (reported, retried slowly), dead sockets (heartbeat), restarts (resync once HA is RUNNING),
 * refused subscriptions (retried), and malformed frames (dropped and counted).
 */
export class HomeAssistantSource implements Service {
  readonly name = "homeassistant";
  readonly stats: HomeAssistantSourceStats = {
    connects: 0,
    disconnects: 0,
    authFailures: 0,
    connectFailures: 0,
    heartbeatTimeouts: 0,
    syncs: 0,
    syncFailures: 0,
    badFrames: 0,
    handlerErrors: 0,
    malformedMessages: 0,
    unknownEntityDiffs: 0,
    registryRelists: 0,
    eventsPublished: 0,
  };
  private readonly log: Logger;
  private readonly now: () => Date;
  private endpoint: HomeAssistantEndpoint | undefined;
  private factory: SocketFactory | undefined;
  private conn: Connection | undefined;
  private resyncScheduled = false;
  private session: Session | undefined;
  private stopped = false;
  private connectAttempts = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private pingInFlight = false;
  private lastSync: string | null = null;
  private issue: string | undefined;

  constructor(private readonly options: HomeAssistantSourceOptions) {
    this.log = options.log.child({ ns: "homeassistant" });
    this.now = options.now ?? (() => new Date());
  }

  /** True once authenticated and synced on the current connection. */
  get ready(): boolean {
    return this.session?.synced === true && !this.session.isEnded;
  }

  get haVersion(): string | null {
    return this.conn?.haVersion ?? null;
  }

  /**
   * Resolves after the first connection attempt finished, successfully or not; it never throws for
   * upstream trouble. Reconnecting continues in the background.
   */
  async start(): Promise<void> {
    const { config, health } = this.options;
    health.register(HEALTH_COMPONENT, "connecting to Home Assistant");
    try {
      this.endpoint = resolveEndpoint({
        url: config.url,
        token: config.token,
        addon: this.options.addon,
        supervisorToken: this.options.supervisorToken,
      });
    } catch (error) {
      this.setIssue(errorMessage(error));
      this.log.error({ err: error }, "Home Assistant is not configured");
      this.publishAdapter("error");
      return;
    }
    this.factory = new SocketFactory({
      url: this.endpoint.wsUrl,
      token: this.endpoint.token,
      handshakeTimeoutMs: config.auth_timeout_seconds * 1000,
      authTimeoutMs: config.auth_timeout_seconds * 1000,
      maxPayloadBytes: config.max_payload_mib * 1024 * 1024,
      log: this.log,
      onBadFrame: (reason) => {
        this.stats.badFrames++;
        this.log.warn({ reason }, "dropped a malformed frame from Home Assistant");
      },
      onHandlerError: (error) => {
        this.stats.handlerErrors++;
        this.log.error(
          { err: error },
          "handling a message from Home Assistant failed; reconnecting to resync the home model",
        );
        this.forceResync();
      },
    });
    this.log.info({ url: this.endpoint.wsUrl, mode: this.endpoint.mode }, "connecting to Home Assistant");
    this.publishAdapter("connecting");
    this.heartbeatTimer = setInterval(() => this.heartbeat(), config.heartbeat_interval_seconds * 1000);
    await this.connect();
  }

  stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearInterval(this.heartbeatTimer);
    this.session?.end();
    this.session = undefined;
    this.conn?.close();
    this.conn = undefined;
    this.factory?.terminate();
    this.options.health.set(HEALTH_COMPONENT, false, "stopped");
    return Promise.resolve();
  }

  /** Calls a HA service; rejects with `HomeAssistantCommandError` (HA's code, or `connection_lost`). */
  async callService(
    domain: string,
    service: string,
    serviceData?: Record<string, unknown>,
    target?: { entity_id?: string | string[]; device_id?: string | string[]; area_id?: string | string[] },
  ): Promise<unknown> {
    const conn = this.conn;
    if (conn === undefined || !conn.connected) {
      throw new HomeAssistantCommandError(
        "call_service",
        "connection_lost",
        "not connected to Home Assistant",
      );
    }
    const message: MessageBase = { type: "call_service", domain, service };
    if (serviceData !== undefined) message.service_data = serviceData;
    if (target !== undefined) message.target = target;
    try {
      return await conn.sendMessagePromise(message);
    } catch (error) {
      throw commandError("call_service", error);
    }
  }

  // ---- connection --------------------------------------------------------------------------------------

  private async connect(): Promise<void> {
    const factory = this.factory;
    if (this.stopped || factory === undefined) return;
    this.connectAttempts++;
    let conn: Connection;
    try {
      conn = await createConnection({ createSocket: factory.createSocket, setupRetry: 0 });
    } catch (error) {
      if (this.stopped) return;
      if (error === ERR_INVALID_AUTH) this.onInvalidAuth();
      else this.onConnectFailed();
      return;
    }
    if (this.stopped) {
      conn.close();
      return;
    }
    this.conn = conn;
    conn.addEventListener("ready", () => this.onConnected(conn));
    conn.addEventListener("disconnected", () => this.onDisconnected());
    conn.addEventListener("reconnect-error", () => {
      conn.close();
      if (this.conn === conn) this.conn = undefined;
      this.onInvalidAuth();
    });
    // The library fires `ready` for the first socket inside its constructor, before anyone can listen.
    this.onConnected(conn);
  }

  private scheduleConnect(delayMs: number): void {
    if (this.stopped) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      this.connect().catch((error: unknown) => this.log.error({ err: error }, "connect failed unexpectedly"));
    }, delayMs);
  }

  private onInvalidAuth(): void {
    this.stats.authFailures++;
    this.session?.end();
    const retry = this.options.config.auth_retry_seconds;
    const detail =
      this.factory?.lastFailure?.kind === "invalid_auth" ? this.factory.lastFailure.message : undefined;
    this.log.error(
      { url: this.endpoint?.wsUrl, reply: detail, retry_in_seconds: retry },
      "Home Assistant rejected the access token; check homeassistant.token (or the add-on's Home Assistant API access)",
    );
    this.setIssue("Home Assistant rejected the access token");
    this.publish([
      connectionStatusEvent(
        "disconnected",
        "Home Assistant rejected the access token",
        this.connectAttempts,
        this.iso(),
      ),
    ]);
    this.publishAdapter("error");
    this.scheduleConnect(retry * 1000);
  }

  private onConnectFailed(): void {
    this.stats.connectFailures++;
    const failure = this.factory?.lastFailure;
    const reason =
      failure === undefined
        ? "cannot connect"
        : failure.kind === "auth_timeout"
          ? "Home Assistant did not answer authentication in time"
          : `cannot connect: ${failure.message}`;
    // Exponential backoff, 1 s to the configured maximum.
    const delay =
      Math.min(2 ** Math.min(this.connectAttempts - 1, 10), this.options.config.reconnect_max_seconds) * 1000;
    this.log.warn(
      { url: this.endpoint?.wsUrl, reason, retry_in_ms: delay },
      "Home Assistant connection failed",
    );
    this.setIssue(`Home Assistant unreachable (${reason})`);
    this.publish([connectionStatusEvent("reconnecting", reason, this.connectAttempts, this.iso())]);
    this.publishAdapter("disconnected");
    this.scheduleConnect(delay);
  }

  private onConnected(conn: Connection): void {
    if (this.stopped) return;
    this.session?.end();
    const session = new Session(conn);
    this.session = session;
    this.stats.connects++;
    this.log.info(
      { ha_version: conn.haVersion, attempt: this.connectAttempts },
      "connected to Home Assistant",
    );
    this.publish([
      connectionStatusEvent(
        "connected",
        `connected to Home Assistant ${conn.haVersion}`,
        this.connectAttempts,
        this.iso(),
      ),
    ]);
    this.connectAttempts = 0;
    this.runSession(session).catch((error: unknown) =>
      this.log.error({ err: error }, "session failed unexpectedly"),
    );
  }

  private onDisconnected(): void {
    if (this.stopped) return;
    this.stats.disconnects++;
    this.session?.end();
    this.log.warn("connection to Home Assistant lost; reconnecting");
    this.setIssue("connection to Home Assistant lost; reconnecting");
    this.publish([connectionStatusEvent("reconnecting", "connection to Home Assistant lost", 0, this.iso())]);
    this.publishAdapter("disconnected");
  }

  /** Application-level ping: the library has no timeout of its own, so a dead socket is found here. */
  /**
   * After a frame's handling threw, the client library has dropped the rest of that frame (other entities'
   * changes, command results): only a full resync, on a new connection, brings the model back in line.
   * Deferred, because the library is still inside its handler; once per failure burst.
   */
  private forceResync(): void {
    if (this.resyncScheduled) return;
    this.resyncScheduled = true;
    setImmediate(() => {
      this.resyncScheduled = false;
      if (!this.stopped) this.conn?.reconnect(true);
    });
  }

  private heartbeat(): void {
    const conn = this.conn;
    if (conn === undefined || !conn.connected || this.pingInFlight) return;
    this.pingInFlight = true;
    const timer = setTimeout(() => {
      this.stats.heartbeatTimeouts++;
      this.log.warn(
        { timeout_seconds: this.options.config.pong_timeout_seconds },
        "Home Assistant did not answer a ping; reconnecting",
      );
      conn.reconnect(true);
    }, this.options.config.pong_timeout_seconds * 1000);
    conn
      .ping()
      .catch(() => {})
      .finally(() => {
        clearTimeout(timer);
        this.pingInFlight = false;
      });
  }

  // ---- sync --------------------------------------------------------------------------------------------

  private async runSession(session: Session): Promise<void> {
    for (;;) {
      try {
        await this.sync(session);
        return;
      } catch (error) {
        if (session.isEnded || this.stopped) return;
        this.stats.syncFailures++;
        const retry = this.options.config.resubscribe_retry_seconds;
        this.log.warn({ err: error, retry_in_seconds: retry }, "Home Assistant sync failed; retrying");
        this.setIssue(`Home Assistant sync failed, retrying: ${errorMessage(error)}`);
        this.publishSync("error", `sync failed: ${errorMessage(error)}`, 0);
        try {
          await session.sleep(retry * 1000);
        } catch {
          return;
        }
      }
    }
  }

  private async command(session: Session, message: MessageBase): Promise<unknown> {
    try {
      return await session.run(session.conn.sendMessagePromise<unknown>(message));
    } catch (error) {
      if (error instanceof SessionEndedError) throw error;
      throw commandError(message.type, error);
    }
  }

  /** Subscribes (what is not yet subscribed on this connection), waits for RUNNING, lists, applies. */
  private async sync(session: Session): Promise<void> {
    this.publishSync("syncing", "Subscribing to Home Assistant", 5);
    await this.subscribe(session);
    this.publishSync("syncing", "Reading Home Assistant's configuration", 15);
    let config = orThrow(parseCoreConfig(await this.command(session, { type: "get_config" })), "get_config");
    // Registries and integrations load during startup; a resync before RUNNING would see a half home.
    while (config.state !== "RUNNING") {
      this.publishSync("syncing", `Waiting for Home Assistant to start (${config.state})`, 15);
      await session.sleep(this.options.config.startup_poll_seconds * 1000);
      config = orThrow(parseCoreConfig(await this.command(session, { type: "get_config" })), "get_config");
    }
    const registries = await this.listRegistries(session, REGISTRY_ORDER, (name, index) =>
      this.publishSync("syncing", `Reading the ${name} registry`, 20 + index * 15),
    );
    this.publishSync("syncing", "Reading entity states", 80);
    const snapshot = await session.waitForSnapshot(this.options.config.pong_timeout_seconds * 1000);
    if (session.isEnded) throw new SessionEndedError();
    const events = this.options.model.resync({
      registries,
      states: [...snapshot.values()],
      source: "homeassistant",
    });
    session.synced = true;
    session.snapshot = undefined;
    this.stats.syncs++;
    this.lastSync = this.iso();
    this.publish(events);
    this.setIssue(undefined);
    this.publishSync("completed", `Synchronised ${this.options.model.counts().entities} entities`, 100);
    this.publishAdapter("connected");
    this.log.info({ ...this.options.model.counts(), changes: events.length }, "Home Assistant synchronised");
  }

  private async subscribe(session: Session): Promise<void> {
    const eventTypes = [...new Set([...CORE_EVENTS, ...this.options.config.forward_event_types])];
    const pending: Promise<void>[] = [];
    for (const eventType of eventTypes) {
      if (session.subscribedEvents.has(eventType)) continue;
      pending.push(
        this.subscribeMessage(session, (event) => this.onHaEvent(session, event), {
          type: "subscribe_events",
          event_type: eventType,
        }).then(() => {
          session.subscribedEvents.add(eventType);
        }),
      );
    }
    if (session.entities === undefined) {
      const subscription = session.subscribingEntities();
      pending.push(
        this.subscribeMessage(
          session,
          (event) => {
            if (!subscription.isAbandoned) this.onEntities(session, event);
          },
          { type: "subscribe_entities" },
        ).then(
          (unsubscribe) => subscription.subscribed(unsubscribe),
          (error: unknown) => {
            // Refused: the next sync attempt subscribes again.
            if (session.entities === subscription) session.entities = undefined;
            subscription.abandon();
            throw error;
          },
        ),
      );
    }
    const results = await Promise.allSettled(pending);
    const failure = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failure !== undefined) throw failure.reason;
  }

  /** Subscriptions are never resubscribed by the library: each new connection's sync makes its own. */
  private async subscribeMessage(
    session: Session,
    callback: (event: unknown) => void,
    message: MessageBase,
  ): Promise<() => Promise<void>> {
    try {
      return await session.run(session.conn.subscribeMessage(callback, message, { resubscribe: false }));
    } catch (error) {
      if (error instanceof SessionEndedError) throw error;
      throw commandError(message.type, error);
    }
  }

  private async listRegistries(
    session: Session,
    names: readonly RegistryName[],
    progress?: (name: RegistryName, index: number) => void,
  ): Promise<Partial<RegistrySnapshot>> {
    const lists: { -readonly [K in keyof RegistrySnapshot]?: RegistrySnapshot[K] } = {};
    for (const [index, name] of names.entries()) {
      progress?.(name, index);
      const raw = await this.command(session, { type: REGISTRY_COMMANDS[name] });
      switch (name) {
        case "floors":
          lists.floors = this.items(parseFloorList(raw), name);
          break;
        case "areas":
          lists.areas = this.items(parseAreaList(raw), name);
          break;
        case "devices":
          lists.devices = this.items(parseDeviceList(raw), name);
          break;
        case "entities":
          lists.entities = this.items(parseEntityList(raw), name);
          break;
      }
    }
    return lists;
  }

  private items<T>(parsed: Parsed<RegistryList<T>>, name: RegistryName): readonly T[] {
    const list = orThrow(parsed, REGISTRY_COMMANDS[name]);
    if (list.malformed > 0) {
      this.stats.malformedMessages += list.malformed;
      this.log.warn({ registry: name, skipped: list.malformed }, "skipped malformed registry entries");
    }
    return list.items;
  }

  // ---- live updates ------------------------------------------------------------------------------------

  private onEntities(session: Session, raw: unknown): void {
    if (session.isEnded) return;
    if (session.snapshot === undefined && !session.synced) {
      // The first event after subscribing is the full snapshot.
      this.onSnapshot(session, raw);
      return;
    }
    const parsed = parseEntitiesEvent(raw);
    if (!parsed.ok) {
      this.stats.malformedMessages++;
      this.log.warn({ error: parsed.error }, "malformed subscribe_entities event");
      return;
    }
    const event = parsed.value;
    this.skippedEntries(event);
    if (!session.synced && session.snapshot !== undefined) {
      this.applyToSnapshot(session.snapshot, event);
      return;
    }
    const model = this.options.model;
    const events: NewBridgeEvent[] = [];
    for (const [id, compressed] of event.added) {
      events.push(...model.applyStateChange(id, expandState(id, compressed), "homeassistant"));
    }
    for (const [id, diff] of event.changed) {
      const current = model.state(id);
      if (current === undefined) {
        this.unknownEntity(id, "c");
        continue;
      }
      events.push(...model.applyStateChange(id, applyStateDiff(current, diff), "homeassistant"));
    }
    for (const id of event.removed) {
      if (model.state(id) === undefined) {
        this.unknownEntity(id, "r");
        continue;
      }
      events.push(...model.applyStateChange(id, null, "homeassistant"));
    }
    this.publish(events);
  }

  /** A malformed snapshot fails the sync attempt: the model is not touched, and the retry subscribes afresh. */
  private onSnapshot(session: Session, raw: unknown): void {
    const parsed = parseEntitiesSnapshot(raw);
    if (!parsed.ok) {
      this.stats.malformedMessages++;
      this.log.warn({ error: parsed.error }, "malformed state snapshot; the sync will be retried");
      session.snapshotFailed(
        new HomeAssistantSnapshotError("malformed", `the state snapshot was malformed (${parsed.error})`),
      );
      return;
    }
    this.skippedEntries(parsed.value);
    const states = new Map<string, HaStateObject>();
    for (const [id, compressed] of parsed.value.added) states.set(id, expandState(id, compressed));
    session.snapshotArrived(states);
  }

  private skippedEntries(event: EntitiesEvent): void {
    if (event.malformed.length === 0) return;
    this.stats.malformedMessages += event.malformed.length;
    this.log.warn(
      { entity_ids: event.malformed.slice(0, 10), count: event.malformed.length },
      "skipped malformed entity states",
    );
  }

  private applyToSnapshot(snapshot: Map<string, HaStateObject>, event: EntitiesEvent): void {
    for (const [id, compressed] of event.added) snapshot.set(id, expandState(id, compressed));
    for (const [id, diff] of event.changed) {
      const current = snapshot.get(id);
      if (current === undefined) this.unknownEntity(id, "c");
      else snapshot.set(id, applyStateDiff(current, diff));
    }
    for (const id of event.removed) snapshot.delete(id);
  }

  /** A diff for an entity the bridge does not know: skipped and counted; the next resync repairs the model. */
  private unknownEntity(entityId: string, diff: "c" | "r"): void {
    this.stats.unknownEntityDiffs++;
    this.log.debug({ entity_id: entityId, diff }, "diff for an unknown entity skipped");
  }

  private onHaEvent(session: Session, raw: unknown): void {
    if (session.isEnded) return;
    const parsed = parseHaEvent(raw);
    if (!parsed.ok) {
      this.stats.malformedMessages++;
      this.log.warn({ error: parsed.error }, "malformed Home Assistant event");
      return;
    }
    const event = parsed.value;
    const now = this.iso();
    const registry = registryOfEvent(event.event_type);
    if (registry !== undefined) {
      const rename = renameOf(event);
      if (rename !== undefined && session.synced) {
        this.publish(this.options.model.renameEntity(rename.from, rename.to));
      }
      this.scheduleRelist(session, registry);
      return;
    }
    const events: NewBridgeEvent[] = [];
    if (event.event_type === "automation_triggered") {
      const triggered = automationTriggeredEvent(event, this.options.model, now);
      if (triggered === undefined) this.stats.malformedMessages++;
      else events.push(triggered);
    }
    events.push(...sceneActivatedEvents(event, this.options.model, now));
    if (this.options.config.forward_event_types.includes(event.event_type))
      events.push(sourceEvent(event, now));
    this.publish(events);
  }

  /** `changes` in registry events hold OLD values, so the lists are re-read, debounced like HA's frontend. */
  private scheduleRelist(session: Session, registry: RegistryName): void {
    session.dirty.add(registry);
    clearTimeout(session.relistTimer);
    session.relistTimer = setTimeout(() => {
      this.relist(session).catch((error: unknown) =>
        this.log.error({ err: error }, "registry re-list failed unexpectedly"),
      );
    }, this.options.config.registry_debounce_ms);
  }

  private async relist(session: Session): Promise<void> {
    if (session.isEnded || session.dirty.size === 0) return;
    const names = REGISTRY_ORDER.filter((name) => session.dirty.has(name));
    if (!session.synced) {
      // The sync in progress may have listed before the change; look again once it is done.
      for (const name of names) this.scheduleRelist(session, name);
      return;
    }
    session.dirty.clear();
    try {
      const registries = await this.listRegistries(session, names);
      this.stats.registryRelists++;
      this.publish(this.options.model.resync({ registries }));
    } catch (error) {
      if (session.isEnded) return;
      this.log.warn({ err: error, registries: names }, "registry re-list failed; retrying");
      for (const name of names) this.scheduleRelist(session, name);
    }
  }

  // ---- reporting ---------------------------------------------------------------------------------------

  private iso(): string {
    return this.now().toISOString();
  }

  private publish(events: readonly NewBridgeEvent[]): void {
    for (const event of events) {
      try {
        this.options.sink.publish(event);
        this.stats.eventsPublished++;
      } catch (error) {
        this.log.error({ err: error, kind: event.kind }, "event sink failed");
      }
    }
  }

  private publishSync(status: SyncState, message: string, progress: number): void {
    const counts = this.options.model.counts();
    this.publish([
      syncStatusEvent(
        status,
        message,
        progress,
        {
          entities: counts.entities,
          rooms: counts.rooms,
          errors: this.stats.syncFailures + this.stats.malformedMessages,
        },
        this.iso(),
      ),
    ]);
  }

  private publishAdapter(status: "connecting" | "connected" | "disconnected" | "error"): void {
    this.publish([
      adapterStatusEvent(
        status,
        {
          issues: this.issue === undefined ? [] : [this.issue],
          lastSync: this.lastSync,
          haVersion: this.haVersion,
        },
        this.iso(),
      ),
    ]);
  }

  /** The one place health is reported: ready exactly when there is no issue and the session is synced. */
  private setIssue(issue: string | undefined): void {
    this.issue = issue;
    if (issue === undefined && this.ready) this.options.health.set(HEALTH_COMPONENT, true);
    else this.options.health.set(HEALTH_COMPONENT, false, issue ?? "synchronising with Home Assistant");
  }
}
