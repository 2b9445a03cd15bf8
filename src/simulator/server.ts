import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { type RawData, type WebSocket, WebSocketServer } from "ws";
import { isRecord } from "../config/schema.js";
import type { Attributes, JsonValue } from "../core/events.js";
import { type ActivityOptions, driveActivity } from "./activity.js";
import {
  ADMIN_USER_ID,
  fixtureHome,
  type HomeSpec,
  registryEntry,
  type SimArea,
  type SimDevice,
  type SimEntityEntry,
  type SimFloor,
} from "./home.js";
import {
  compressedState,
  fullState,
  isoMicro,
  isSameState,
  type SimState,
  stateDiff,
  ulid,
} from "./states.js";

type JsonObject = { [key: string]: JsonValue };

/** HA's limits (websocket_api/const.py): a connection with this many queued messages is dropped. */
export const MAX_PENDING_MESSAGES = 4096;
const DEFAULT_HA_VERSION = "2026.7.3";
const PATHS = new Set(["/api/websocket", "/core/websocket", "/core/api/websocket"]);

export type CoreState = "NOT_RUNNING" | "STARTING" | "RUNNING" | "STOPPING" | "FINAL_WRITE";

export interface SimulatorOptions {
  readonly port?: number;
  readonly host?: string;
  /** The only access token accepted. */
  readonly token: string;
  readonly home?: HomeSpec;
  readonly haVersion?: string;
  /** HA closes a connection that sends no auth message within 10 s. */
  readonly authTimeoutMs?: number;
  /** Delays `auth_required`, so a client's early `auth` arrives first. */
  readonly authRequiredDelayMs?: number;
}

export interface ProtocolErrorRecord {
  readonly connection: number;
  readonly id: JsonValue;
  readonly code: string;
}

export interface CommandRecord {
  readonly connection: number;
  readonly message: Readonly<Record<string, unknown>>;
}

interface Refusal {
  remaining: number;
  readonly code: string;
  readonly message: string;
}

type Subscription =
  | { readonly kind: "events"; readonly eventType: string }
  | { readonly kind: "entities"; readonly entityIds: ReadonlySet<string> | null }
  | { readonly kind: "trigger"; readonly triggers: readonly StateTrigger[] };

/** The one trigger platform the simulator evaluates: `state`, with optional `from`/`to`. */
interface StateTrigger {
  readonly entityIds: readonly string[];
  readonly from: string | undefined;
  readonly to: string | undefined;
}

function parseStateTriggers(raw: unknown): StateTrigger[] | undefined {
  const list = Array.isArray(raw) ? raw : [raw];
  const triggers: StateTrigger[] = [];
  for (const item of list) {
    if (!isRecord(item)) return undefined;
    const platform = item.trigger ?? item.platform;
    const entityIds = ids(item.entity_id);
    if (platform !== "state" || entityIds.length === 0) return undefined;
    triggers.push({
      entityIds,
      from: typeof item.from === "string" ? item.from : undefined,
      to: typeof item.to === "string" ? item.to : undefined,
    });
  }
  return triggers;
}

class CommandError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly extra: JsonObject = {},
  ) {
    super(message);
  }
}

/** One client connection, with HA's phases, id rules, coalescing writer and slow-client limit. */
class SimConnection {
  phase: "auth" | "ready" | "closed" = "auth";
  lastId = 0;
  coalesce = false;
  readonly subscriptions = new Map<number, Subscription>();
  private queue: JsonObject[] = [];
  private flushScheduled = false;

  constructor(
    readonly index: number,
    readonly ws: WebSocket,
    private readonly frames: { total: number; arrays: number },
  ) {}

  send(message: JsonObject): void {
    if (this.phase === "closed") return;
    this.queue.push(message);
    if (this.queue.length >= MAX_PENDING_MESSAGES) {
      // HA gives up on a client that lets this many messages pile up, without a word.
      this.terminate();
      return;
    }
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /** Sends immediately, outside the queue: only for the auth phase, which HA also writes directly. */
  sendNow(message: JsonObject): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.send(JSON.stringify(message));
  }

  private flush(): void {
    this.flushScheduled = false;
    const batch = this.queue;
    this.queue = [];
    if (this.phase === "closed" || this.ws.readyState !== this.ws.OPEN || batch.length === 0) return;
    if (this.coalesce && batch.length > 1) {
      this.frames.total++;
      this.frames.arrays++;
      this.ws.send(JSON.stringify(batch));
      return;
    }
    for (const message of batch) {
      this.frames.total++;
      this.ws.send(JSON.stringify(message));
    }
  }

  terminate(): void {
    this.phase = "closed";
    this.queue = [];
    this.ws.terminate();
  }
}

function result(id: number, value: JsonValue): JsonObject {
  return { id, type: "result", success: true, result: value };
}

function errorReply(id: JsonValue, code: string, message: string, extra: JsonObject = {}): JsonObject {
  return { id, type: "result", success: false, error: { code, message, ...extra } };
}

function parseJson(data: RawData): unknown {
  try {
    return JSON.parse(
      Buffer.isBuffer(data) ? data.toString("utf8") : Buffer.from(data as ArrayBuffer).toString(),
    );
  } catch {
    return undefined;
  }
}

function ids(value: unknown): string[] {
  if (typeof value === "string") return [value];
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === "string");
  return [];
}

const SERVICES: Record<string, Record<string, JsonObject>> = {
  light: {
    turn_on: { name: "Turn on", fields: { brightness: { selector: { number: { min: 0, max: 255 } } } } },
    turn_off: { name: "Turn off", fields: {} },
    toggle: { name: "Toggle", fields: {} },
  },
  switch: {
    turn_on: { name: "Turn on", fields: {} },
    turn_off: { name: "Turn off", fields: {} },
    toggle: { name: "Toggle", fields: {} },
  },
  scene: { turn_on: { name: "Activate", fields: {} } },
  automation: { trigger: { name: "Trigger", fields: {} } },
};

/** How many commands and protocol errors the simulator keeps for inspection; the oldest go first. */
const MAX_RECORDS = 10_000;

function remember<T>(records: T[], record: T): void {
  if (records.length >= MAX_RECORDS) records.splice(0, records.length - MAX_RECORDS + 1);
  records.push(record);
}

/**
 * A Home Assistant that speaks the real WebSocket API (auth phase, ids, coalescing, compressed entity
 * subscriptions, registries and their update events) over a real socket, plus a scripting API for tests,
 * the demo and the benchmarks. It is strict where HA is strict, so a lenient fake cannot hide a client bug.
 */
export class SimulatedHomeAssistant {
  /** `ws://host:port/api/websocket`. */
  readonly url: string;
  /** `http://host:port`, the form users configure. */
  readonly httpUrl: string;
  /** The latest commands received (at most `MAX_RECORDS`: `pma-bridge demo` runs the simulator for days). */
  readonly commands: CommandRecord[] = [];
  /** The latest protocol errors answered (at most `MAX_RECORDS`). */
  readonly protocolErrors: ProtocolErrorRecord[] = [];
  /** Answer `auth` with nothing at all. */
  stallAuth = false;
  /** Stop answering `ping`. */
  ignorePings = false;
  /** Send a service call's state change after its result rather than before. */
  stateAfterServiceResult = false;
  coreState: CoreState = "RUNNING";
  /** While false, `config/*` commands are unknown, as before the `config` integration loads. */
  registriesLoaded = true;

  /** Frames written after auth on all connections, and how many were coalesced arrays. */
  readonly frames = { total: 0, arrays: 0 };
  private readonly connections = new Set<SimConnection>();
  private connectionCounter = 0;
  private flapsLeft = 0;
  private readonly refusals = new Map<string, Refusal>();
  private readonly drops = new Map<string, number>();
  private token: string;
  private readonly floors = new Map<string, SimFloor>();
  private readonly areas = new Map<string, SimArea>();
  private readonly devices = new Map<string, SimDevice>();
  private readonly entries = new Map<string, SimEntityEntry>();
  private readonly states = new Map<string, SimState>();
  private restoredStates: SimState[] = [];
  private lastTime = 0;
  private readonly haVersion: string;

  private constructor(
    private readonly server: Server,
    private readonly wss: WebSocketServer,
    private readonly options: SimulatorOptions,
    home: HomeSpec,
  ) {
    const address = server.address() as AddressInfo;
    const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
    this.httpUrl = `http://${host}:${address.port}`;
    this.url = `ws://${host}:${address.port}/api/websocket`;
    this.haVersion = options.haVersion ?? DEFAULT_HA_VERSION;
    this.token = options.token;
    for (const floor of home.floors) this.floors.set(floor.floor_id, floor);
    for (const area of home.areas) this.areas.set(area.area_id, area);
    for (const device of home.devices) this.devices.set(device.id, device);
    for (const entry of home.entities) this.entries.set(entry.entity_id, entry);
    const now = this.now();
    for (const spec of home.states) {
      this.states.set(spec.entity_id, {
        entity_id: spec.entity_id,
        state: spec.state,
        attributes: spec.attributes,
        last_changed: now,
        last_updated: now,
        last_reported: now,
        context: { id: ulid(), parent_id: null, user_id: null },
      });
    }
    wss.on("connection", (ws: WebSocket) => this.accept(ws));
  }

  static async start(options: SimulatorOptions): Promise<SimulatedHomeAssistant> {
    const server = createServer((_req, res) => {
      res.writeHead(404, { "content-type": "application/json" });
      res.end(JSON.stringify({ message: "Not found" }));
    });
    const wss = new WebSocketServer({ noServer: true });
    server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      const path = URL.parse(req.url ?? "/", "http://localhost")?.pathname;
      socket.on("error", () => socket.destroy());
      if (path === undefined || !PATHS.has(path)) {
        socket.end("HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n");
        return;
      }
      wss.handleUpgrade(req, socket, head, (ws) => wss.emit("connection", ws, req));
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => {
        server.off("error", reject);
        resolve();
      });
    });
    return new SimulatedHomeAssistant(server, wss, options, options.home ?? fixtureHome());
  }

  async stop(): Promise<void> {
    for (const connection of this.connections) connection.terminate();
    this.connections.clear();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  // ---- observation -------------------------------------------------------------------------------------

  /** Authenticated connections that are still open. */
  get openConnections(): number {
    return [...this.connections].filter((c) => c.phase === "ready").length;
  }

  /** Connections accepted so far, authenticated or not. */
  get totalConnections(): number {
    return this.connectionCounter;
  }

  /** Commands received on one connection (1-based, in accept order). */
  commandsOn(connection: number): Readonly<Record<string, unknown>>[] {
    return this.commands.filter((c) => c.connection === connection).map((c) => c.message);
  }

  stateOf(entityId: string): SimState | undefined {
    return this.states.get(entityId);
  }

  entityIds(): string[] {
    return [...this.states.keys()];
  }

  // ---- scripting: connections and lifecycle ------------------------------------------------------------

  /** Drops every connection at once, as a network failure would. */
  dropConnections(): void {
    for (const connection of this.connections) connection.terminate();
    this.connections.clear();
  }

  /** The next `count` successful authentications get `auth_ok` and then an immediate close (Supervisor proxy while core restarts). */
  flapAfterAuth(count: number): void {
    this.flapsLeft = count;
  }

  /** Answers the next `times` commands of `type` with an error, e.g. a refused resubscription. */
  refuse(type: string, options: { times?: number; code?: string; message?: string } = {}): void {
    this.refusals.set(type, {
      remaining: options.times ?? 1,
      code: options.code ?? "unknown_command",
      message: options.message ?? "Unknown command.",
    });
  }

  /** Drops the connection when the next `times` commands of `type` arrive, before answering (e.g. mid-sync). */
  dropOn(type: string, times = 1): void {
    this.drops.set(type, times);
  }

  /** Revokes the token in use: HA just closes the socket, and the old token no longer authenticates. */
  revokeToken(newToken: string): void {
    this.token = newToken;
    this.dropConnections();
  }

  /** Writes a raw text frame to every authenticated connection, e.g. garbage a buggy proxy might send. */
  sendRaw(text: string): void {
    for (const connection of this.connections) {
      if (connection.phase === "ready") connection.ws.send(text);
    }
  }

  /** Sends a `subscribe_entities` event of one's own making to every entity subscription. */
  injectEntitiesEvent(event: JsonObject): void {
    this.forEachSubscription((connection, id, sub) => {
      if (sub.kind === "entities") connection.send({ id, type: "event", event });
    });
  }

  /**
   * Restarts core: every connection drops, core comes back `STARTING` without its `config` integration,
   * and entities are restored placeholders (`unavailable`, `restored: true`) until `finishStartup()`.
   */
  restart(): void {
    this.dropConnections();
    this.coreState = "STARTING";
    this.registriesLoaded = false;
    this.restoredStates = [...this.states.values()];
    const now = this.now();
    for (const state of this.restoredStates) {
      this.states.set(state.entity_id, {
        ...state,
        state: "unavailable",
        attributes: { ...state.attributes, restored: true, supported_features: 0 },
        last_changed: now,
        last_updated: now,
        last_reported: now,
        context: { id: ulid(), parent_id: null, user_id: null },
      });
    }
  }

  /** Integrations finish loading: real states replace the placeholders, `config/*` appears, core is RUNNING. */
  finishStartup(): void {
    for (const state of this.restoredStates) {
      if (this.states.has(state.entity_id)) {
        this.writeState(state.entity_id, state.state, state.attributes, { replaceAttributes: true });
      }
    }
    this.restoredStates = [];
    this.registriesLoaded = true;
    this.coreState = "RUNNING";
    this.fireEvent("homeassistant_started", {});
  }

  /** Starts realistic background activity (motion, lights, climate, automations, scenes); returns stop. */
  startActivity(options: ActivityOptions): () => void {
    return driveActivity(this, options);
  }

  /** Queues `count` state diffs at once, as a burst would for a client that cannot keep up. */
  flood(count: number, entityId = "sensor.coffee_machine_power"): void {
    for (let i = 0; i < count; i++) this.setState(entityId, `${(i % 2000) / 10}`);
  }

  // ---- scripting: states -------------------------------------------------------------------------------

  /** Writes a state; attributes are merged into the current ones unless `replaceAttributes`. */
  setState(
    entityId: string,
    state: string,
    attributes: Attributes = {},
    options: {
      userId?: string | null;
      replaceAttributes?: boolean;
      removeAttributes?: readonly string[];
    } = {},
  ): void {
    this.writeState(entityId, state, attributes, options);
  }

  /** Adds an entity with a state, and a registry entry unless `registry` is false. */
  addEntity(spec: {
    entity_id: string;
    state: string;
    attributes?: Attributes;
    registry?: Partial<Omit<SimEntityEntry, "entity_id">> | false;
  }): void {
    if (spec.registry !== false) {
      const { id, platform, ...extra } = spec.registry ?? {};
      const entry = registryEntry(
        id ?? ulid().toLowerCase().slice(0, 32).padEnd(32, "0"),
        spec.entity_id,
        platform ?? "demo",
        extra,
      );
      this.entries.set(spec.entity_id, entry);
      this.fireEvent("entity_registry_updated", { action: "create", entity_id: spec.entity_id });
    }
    this.writeState(spec.entity_id, spec.state, spec.attributes ?? {}, { replaceAttributes: true });
  }

  /** Removes an entity's registry entry and state; HA gives no order between the two events. */
  removeEntity(entityId: string, order: "state_first" | "registry_first" = "registry_first"): void {
    const removeRegistry = (): void => {
      if (this.entries.delete(entityId)) {
        this.fireEvent("entity_registry_updated", { action: "remove", entity_id: entityId });
      }
    };
    if (order === "registry_first") removeRegistry();
    this.removeState(entityId);
    if (order === "state_first") removeRegistry();
  }

  /** Removes only the state (e.g. a YAML entity that is gone after a reload). */
  removeState(entityId: string): void {
    const before = this.states.get(entityId);
    if (before === undefined) return;
    this.states.delete(entityId);
    this.broadcastStateChange(entityId, before, undefined);
  }

  // ---- scripting: registries ---------------------------------------------------------------------------

  renameEntity(oldEntityId: string, newEntityId: string): void {
    const entry = this.requireEntry(oldEntityId);
    this.entries.delete(oldEntityId);
    this.entries.set(newEntityId, { ...entry, entity_id: newEntityId });
    this.fireEvent("entity_registry_updated", {
      action: "update",
      entity_id: newEntityId,
      changes: { entity_id: oldEntityId },
      old_entity_id: oldEntityId,
    });
    const state = this.states.get(oldEntityId);
    if (state !== undefined) {
      this.removeState(oldEntityId);
      this.writeState(newEntityId, state.state, state.attributes, { replaceAttributes: true });
    }
  }

  updateEntity(
    entityId: string,
    patch: Partial<Pick<SimEntityEntry, "name" | "area_id" | "device_id">>,
  ): void {
    const entry = this.requireEntry(entityId);
    const changes = this.oldValues(entry, patch);
    this.entries.set(entityId, { ...entry, ...patch });
    this.fireEvent("entity_registry_updated", { action: "update", entity_id: entityId, changes });
  }

  /** Disables an entity: a registry update carrying the old `disabled_by`, then its state goes away. */
  disableEntity(entityId: string): void {
    const entry = this.requireEntry(entityId);
    this.entries.set(entityId, { ...entry, disabled_by: "user" });
    this.fireEvent("entity_registry_updated", {
      action: "update",
      entity_id: entityId,
      changes: { disabled_by: entry.disabled_by },
    });
    this.removeState(entityId);
  }

  moveDevice(deviceId: string, areaId: string | null): void {
    const device = this.devices.get(deviceId);
    if (device === undefined) throw new Error(`no device ${deviceId}`);
    this.devices.set(deviceId, { ...device, area_id: areaId });
    this.fireEvent("device_registry_updated", {
      action: "update",
      device_id: deviceId,
      changes: { area_id: device.area_id },
    });
  }

  createArea(area: SimArea): void {
    this.areas.set(area.area_id, area);
    this.fireEvent("area_registry_updated", { action: "create", area_id: area.area_id });
  }

  /** HA fires an area `update` even when nothing changed. */
  updateArea(areaId: string, patch: Partial<Omit<SimArea, "area_id">> = {}): void {
    const area = this.areas.get(areaId);
    if (area === undefined) throw new Error(`no area ${areaId}`);
    this.areas.set(areaId, { ...area, ...patch });
    this.fireEvent("area_registry_updated", { action: "update", area_id: areaId });
  }

  /** Deletes an area the way HA does: devices and entities are cleared first, then the area goes. */
  deleteArea(areaId: string): void {
    for (const device of [...this.devices.values()]) {
      if (device.area_id === areaId) this.moveDevice(device.id, null);
    }
    for (const entry of [...this.entries.values()]) {
      if (entry.area_id === areaId) this.updateEntity(entry.entity_id, { area_id: null });
    }
    this.areas.delete(areaId);
    this.fireEvent("area_registry_updated", { action: "remove", area_id: areaId });
  }

  createFloor(floor: SimFloor): void {
    this.floors.set(floor.floor_id, floor);
    this.fireEvent("floor_registry_updated", { action: "create", floor_id: floor.floor_id });
  }

  /** Deletes a floor: the floor `remove` first, then an area `update` for each area that was on it. */
  deleteFloor(floorId: string): void {
    this.floors.delete(floorId);
    this.fireEvent("floor_registry_updated", { action: "remove", floor_id: floorId });
    for (const area of [...this.areas.values()]) {
      if (area.floor_id === floorId) this.updateArea(area.area_id, { floor_id: null });
    }
  }

  /** Newer cores announce a reordering with no id at all. */
  reorder(): void {
    this.fireEvent("area_registry_updated", { action: "reorder", area_id: null });
    this.fireEvent("floor_registry_updated", { action: "reorder" });
  }

  // ---- scripting: events -------------------------------------------------------------------------------

  fireEvent(eventType: string, data: JsonObject, context?: { id: string; user_id: string | null }): void {
    const event: JsonObject = {
      event_type: eventType,
      data,
      origin: "LOCAL",
      time_fired: isoMicro(this.now()),
      context: { id: context?.id ?? ulid(), parent_id: null, user_id: context?.user_id ?? null },
    };
    this.forEachSubscription((connection, id, sub) => {
      if (sub.kind === "events" && (sub.eventType === "*" || sub.eventType === eventType)) {
        connection.send({ id, type: "event", event });
      }
    });
  }

  /** An automation runs: its `last_triggered` moves and `automation_triggered` is fired. */
  triggerAutomation(entityId: string, source = "state of binary_sensor.hallway_motion"): void {
    const state = this.states.get(entityId);
    const name =
      typeof state?.attributes.friendly_name === "string" ? state.attributes.friendly_name : entityId;
    const context = { id: ulid(), user_id: null };
    if (state !== undefined) {
      this.writeState(entityId, state.state, { last_triggered: isoMicro(this.now()) });
    }
    this.fireEvent("automation_triggered", { name, entity_id: entityId, source }, context);
  }

  /** A user activates a scene: HA fires `call_service` for `scene.turn_on` and the scene's state becomes the time. */
  activateScene(sceneId: string, userId: string | null = ADMIN_USER_ID): void {
    const context = { id: ulid(), user_id: userId };
    this.fireEvent(
      "call_service",
      { domain: "scene", service: "turn_on", service_data: { entity_id: [sceneId] } },
      context,
    );
    const state = this.states.get(sceneId);
    if (state !== undefined) this.writeState(sceneId, isoMicro(this.now()), {}, { userId });
  }

  // ---- protocol ----------------------------------------------------------------------------------------

  private accept(ws: WebSocket): void {
    this.connectionCounter += 1;
    const connection = new SimConnection(this.connectionCounter, ws, this.frames);
    this.connections.add(connection);
    ws.on("close", () => {
      connection.phase = "closed";
      this.connections.delete(connection);
    });
    ws.on("error", () => connection.terminate());
    const authTimer = setTimeout(() => {
      if (connection.phase === "auth") connection.terminate();
    }, this.options.authTimeoutMs ?? 10_000);
    ws.once("close", () => clearTimeout(authTimer));
    const sendAuthRequired = (): void =>
      connection.sendNow({ type: "auth_required", ha_version: this.haVersion });
    if (this.options.authRequiredDelayMs) setTimeout(sendAuthRequired, this.options.authRequiredDelayMs);
    else sendAuthRequired();
    ws.on("message", (data: RawData, isBinary: boolean) => {
      if (connection.phase === "closed") return;
      const message = isBinary ? undefined : parseJson(data);
      // HA closes without a word on anything that is not JSON text, in either phase.
      if (message === undefined) {
        connection.terminate();
        return;
      }
      if (connection.phase === "auth") {
        clearTimeout(authTimer);
        this.authenticate(connection, message);
        return;
      }
      for (const item of Array.isArray(message) ? message : [message]) this.handleCommand(connection, item);
    });
  }

  private authenticate(connection: SimConnection, message: unknown): void {
    if (this.stallAuth) return;
    const valid =
      isRecord(message) &&
      message.type === "auth" &&
      (typeof message.access_token === "string") !== (typeof message.api_password === "string");
    if (!valid) {
      connection.sendNow({
        type: "auth_invalid",
        message:
          "Auth message incorrectly formatted: required key not provided @ data['access_token']. Got None",
      });
      connection.ws.close();
      connection.phase = "closed";
      return;
    }
    if (message.access_token !== this.token) {
      connection.sendNow({ type: "auth_invalid", message: "Invalid access token or password" });
      connection.ws.close();
      connection.phase = "closed";
      return;
    }
    connection.sendNow({ type: "auth_ok", ha_version: this.haVersion });
    if (this.flapsLeft > 0) {
      this.flapsLeft -= 1;
      connection.terminate();
      return;
    }
    connection.phase = "ready";
  }

  private handleCommand(connection: SimConnection, message: unknown): void {
    if (!isRecord(message)) {
      this.protocolError(connection, 0, "invalid_format", "Message incorrectly formatted.");
      return;
    }
    remember(this.commands, { connection: connection.index, message });
    const { id, type } = message;
    if (typeof id !== "number" || !Number.isInteger(id) || id < 1 || typeof type !== "string") {
      const replyId = id === undefined ? null : (id as JsonValue);
      this.protocolError(connection, replyId, "invalid_format", "Message incorrectly formatted.");
      return;
    }
    if (id <= connection.lastId) {
      this.protocolError(connection, id, "id_reuse", "Identifier values have to increase.");
      return;
    }
    const handler = this.handler(type);
    if (handler === undefined) {
      this.protocolError(connection, id, "unknown_command", "Unknown command.");
      return;
    }
    connection.lastId = id;
    const drops = this.drops.get(type) ?? 0;
    if (drops > 0) {
      this.drops.set(type, drops - 1);
      connection.terminate();
      return;
    }
    const refusal = this.refusals.get(type);
    if (refusal !== undefined && refusal.remaining > 0) {
      refusal.remaining -= 1;
      connection.send(errorReply(id, refusal.code, refusal.message));
      return;
    }
    try {
      handler(connection, id, message);
    } catch (error) {
      if (error instanceof CommandError)
        connection.send(errorReply(id, error.code, error.message, error.extra));
      else connection.send(errorReply(id, "unknown_error", "Unknown error"));
    }
  }

  private protocolError(connection: SimConnection, id: JsonValue, code: string, message: string): void {
    remember(this.protocolErrors, { connection: connection.index, id, code });
    connection.send(errorReply(id, code, message));
  }

  private handler(
    type: string,
  ): ((connection: SimConnection, id: number, message: Record<string, unknown>) => void) | undefined {
    if (type.startsWith("config/") && !this.registriesLoaded) return undefined;
    switch (type) {
      case "ping":
        return (c, id) => {
          if (!this.ignorePings) c.send({ id, type: "pong" });
        };
      case "supported_features":
        return (c, id, m) => {
          const features = isRecord(m.features) ? m.features : {};
          c.coalesce = features.coalesce_messages === 1 || features.coalesce_messages === true;
          c.send(result(id, null));
        };
      case "get_states":
        return (c, id) => c.send(result(id, [...this.states.values()].map(fullState)));
      case "get_config":
        return (c, id) => c.send(result(id, this.config()));
      case "get_services":
        return (c, id) => c.send(result(id, SERVICES));
      case "subscribe_events":
        return (c, id, m) => {
          if (m.event_type !== undefined && typeof m.event_type !== "string") {
            throw new CommandError(
              "invalid_format",
              "expected str for dictionary value @ data['event_type']",
            );
          }
          c.subscriptions.set(id, { kind: "events", eventType: m.event_type ?? "*" });
          c.send(result(id, null));
        };
      case "unsubscribe_events":
        return (c, id, m) => {
          if (typeof m.subscription !== "number") {
            throw new CommandError(
              "invalid_format",
              "required key not provided @ data['subscription']. Got None",
            );
          }
          if (!c.subscriptions.delete(m.subscription))
            throw new CommandError("not_found", "Subscription not found.");
          c.send(result(id, null));
        };
      case "subscribe_entities":
        return (c, id, m) => {
          const filter = m.entity_ids === undefined ? null : new Set(ids(m.entity_ids));
          c.subscriptions.set(id, { kind: "entities", entityIds: filter });
          c.send(result(id, null));
          const snapshot: JsonObject = {};
          for (const state of this.states.values()) {
            if (filter === null || filter.has(state.entity_id))
              snapshot[state.entity_id] = compressedState(state);
          }
          c.send({ id, type: "event", event: { a: snapshot } });
        };
      case "subscribe_trigger":
        return (c, id, m) => {
          const triggers = parseStateTriggers(m.trigger);
          if (triggers === undefined) {
            throw new CommandError(
              "invalid_format",
              "Invalid trigger: only state triggers with an entity_id are simulated",
            );
          }
          c.subscriptions.set(id, { kind: "trigger", triggers });
          c.send(result(id, null));
        };
      case "call_service":
        return (c, id, m) => this.callService(c, id, m);
      case "config/floor_registry/list":
        return (c, id) =>
          c.send(
            result(
              id,
              [...this.floors.values()].map((f) => this.floorJson(f)),
            ),
          );
      case "config/area_registry/list":
        return (c, id) =>
          c.send(
            result(
              id,
              [...this.areas.values()].map((a) => this.areaJson(a)),
            ),
          );
      case "config/device_registry/list":
        return (c, id) =>
          c.send(
            result(
              id,
              [...this.devices.values()].map((d) => this.deviceJson(d)),
            ),
          );
      case "config/entity_registry/list":
        return (c, id) =>
          c.send(
            result(
              id,
              [...this.entries.values()].map((e) => this.entryJson(e)),
            ),
          );
      default:
        return undefined;
    }
  }

  private callService(connection: SimConnection, id: number, message: Record<string, unknown>): void {
    const { domain, service } = message;
    if (typeof domain !== "string" || typeof service !== "string") {
      throw new CommandError("invalid_format", "required key not provided @ data['service']. Got None");
    }
    if (SERVICES[domain]?.[service] === undefined) {
      throw new CommandError("not_found", `Service ${domain}.${service} not found.`, {
        translation_key: "service_not_found",
        translation_placeholders: { domain, service },
        translation_domain: "homeassistant",
      });
    }
    const data = isRecord(message.service_data) ? message.service_data : {};
    const target = isRecord(message.target) ? message.target : {};
    const brightness = data.brightness;
    if (brightness !== undefined && (typeof brightness !== "number" || brightness < 0 || brightness > 255)) {
      throw new CommandError(
        "service_validation_error",
        "Validation error: value must be at most 255 for dictionary value @ data['brightness']",
      );
    }
    const context = { id: ulid(), parent_id: null, user_id: ADMIN_USER_ID };
    const targets = [...ids(target.entity_id), ...ids(data.entity_id)].filter((e) =>
      e.startsWith(`${domain}.`),
    );
    const apply = (): void => {
      for (const entityId of targets) this.applyService(domain, service, entityId, data, context.id);
    };
    this.fireEvent(
      "call_service",
      { domain, service, service_data: { ...data, ...target } as JsonObject },
      { id: context.id, user_id: ADMIN_USER_ID },
    );
    if (!this.stateAfterServiceResult) apply();
    connection.send(result(id, { context }));
    if (this.stateAfterServiceResult) setImmediate(apply);
  }

  private applyService(
    domain: string,
    service: string,
    entityId: string,
    data: Record<string, unknown>,
    contextId: string,
  ): void {
    const current = this.states.get(entityId);
    if (current === undefined) return; // HA only logs a warning for unknown targets.
    const options = { userId: ADMIN_USER_ID, contextId };
    if (domain === "scene") {
      this.writeState(entityId, isoMicro(this.now()), {}, options);
      return;
    }
    const on = service === "toggle" ? current.state !== "on" : service === "turn_on";
    const attributes: Attributes = {};
    if (domain === "light") {
      attributes.brightness = on ? (typeof data.brightness === "number" ? data.brightness : 255) : null;
      if (Array.isArray(current.attributes.supported_color_modes)) {
        attributes.color_mode = on ? (current.attributes.supported_color_modes[0] ?? null) : null;
      }
    }
    this.writeState(entityId, on ? "on" : "off", attributes, options);
  }

  // ---- state machine -----------------------------------------------------------------------------------

  private now(): number {
    // Distinct, increasing timestamps keep HA's "moved" rules observable even within one millisecond.
    const now = Math.max(Date.now() / 1000, this.lastTime + 0.000001);
    this.lastTime = Math.round(now * 1_000_000) / 1_000_000;
    return this.lastTime;
  }

  private writeState(
    entityId: string,
    state: string,
    attributes: Attributes,
    options: {
      userId?: string | null;
      contextId?: string;
      replaceAttributes?: boolean;
      removeAttributes?: readonly string[];
    } = {},
  ): void {
    const before = this.states.get(entityId);
    const merged: Attributes = options.replaceAttributes
      ? { ...attributes }
      : { ...before?.attributes, ...attributes };
    for (const key of options.removeAttributes ?? []) delete merged[key];
    const now = this.now();
    if (before !== undefined && isSameState(before, state, merged)) {
      this.states.set(entityId, { ...before, last_reported: now });
      return;
    }
    const after: SimState = {
      entity_id: entityId,
      state,
      attributes: merged,
      last_changed: before === undefined || before.state !== state ? now : before.last_changed,
      last_updated: now,
      last_reported: now,
      context: { id: options.contextId ?? ulid(), parent_id: null, user_id: options.userId ?? null },
    };
    this.states.set(entityId, after);
    this.broadcastStateChange(entityId, before, after);
  }

  private broadcastStateChange(
    entityId: string,
    before: SimState | undefined,
    after: SimState | undefined,
  ): void {
    const entitiesEvent: JsonObject =
      after === undefined
        ? { r: [entityId] }
        : before === undefined
          ? { a: { [entityId]: compressedState(after) } }
          : { c: { [entityId]: stateDiff(before, after) } };
    this.forEachSubscription((connection, id, sub) => {
      if (sub.kind === "entities" && (sub.entityIds === null || sub.entityIds.has(entityId))) {
        connection.send({ id, type: "event", event: entitiesEvent });
      }
      if (sub.kind === "trigger" && before !== undefined && after !== undefined) {
        const fired = sub.triggers.find(
          (t) =>
            t.entityIds.includes(entityId) &&
            (t.from === undefined || t.from === before.state) &&
            (t.to === undefined || t.to === after.state),
        );
        if (fired !== undefined) {
          const trigger: JsonObject = {
            id: "0",
            idx: "0",
            alias: null,
            platform: "state",
            entity_id: entityId,
            from_state: fullState(before),
            to_state: fullState(after),
            for: null,
            attribute: null,
            description: `state of ${entityId}`,
          };
          connection.send({
            id,
            type: "event",
            event: { variables: { trigger }, context: fullState(after).context ?? null },
          });
        }
      }
    });
    const context = after?.context ?? { id: ulid(), parent_id: null, user_id: null };
    this.fireEvent(
      "state_changed",
      {
        entity_id: entityId,
        old_state: before === undefined ? null : fullState(before),
        new_state: after === undefined ? null : fullState(after),
      },
      context,
    );
  }

  private forEachSubscription(
    visit: (connection: SimConnection, id: number, sub: Subscription) => void,
  ): void {
    for (const connection of [...this.connections]) {
      if (connection.phase !== "ready") continue;
      for (const [id, sub] of connection.subscriptions) visit(connection, id, sub);
    }
  }

  // ---- registry JSON -----------------------------------------------------------------------------------

  private requireEntry(entityId: string): SimEntityEntry {
    const entry = this.entries.get(entityId);
    if (entry === undefined) throw new Error(`no registry entry ${entityId}`);
    return entry;
  }

  /** HA's `changes`: the OLD values of the fields a patch changes. */
  private oldValues<T extends object>(current: T, patch: Partial<T>): JsonObject {
    const changes: JsonObject = {};
    for (const key of Object.keys(patch) as (keyof T & string)[]) {
      if (current[key] !== patch[key]) changes[key] = current[key] as JsonValue;
    }
    return changes;
  }

  private config(): JsonObject {
    return {
      allowlist_external_dirs: ["/config/www", "/media"],
      allowlist_external_urls: [],
      components: ["automation", "light", "scene", "sensor", "switch", "zha"],
      config_dir: "/config",
      config_source: "storage",
      country: "NL",
      currency: "EUR",
      elevation: 4,
      external_url: null,
      internal_url: null,
      language: "en",
      latitude: 52.37,
      location_name: "Home",
      longitude: 4.89,
      radius: 100,
      recovery_mode: false,
      safe_mode: false,
      state: this.coreState,
      time_zone: "Europe/Amsterdam",
      unit_system: {
        length: "km",
        mass: "g",
        pressure: "Pa",
        temperature: "°C",
        volume: "L",
        wind_speed: "m/s",
      },
      version: this.haVersion,
      whitelist_external_dirs: ["/config/www", "/media"],
    };
  }

  private floorJson(floor: SimFloor): JsonObject {
    return {
      ...floor,
      aliases: [...floor.aliases],
      created_at: 1762108812.331904,
      modified_at: 1762108812.331904,
    };
  }

  private areaJson(area: SimArea): JsonObject {
    return {
      aliases: [],
      area_id: area.area_id,
      floor_id: area.floor_id,
      humidity_entity_id: null,
      icon: area.icon,
      labels: [],
      name: area.name,
      picture: null,
      temperature_entity_id: null,
      created_at: 1762108812.331904,
      modified_at: 1773482575.918273,
    };
  }

  private deviceJson(device: SimDevice): JsonObject {
    return {
      area_id: device.area_id,
      configuration_url: null,
      config_entries: ["01JA8Y1E2B3C4D5E6F7G8H9J0K"],
      connections: [],
      created_at: 1762108812.331904,
      disabled_by: null,
      entry_type: null,
      hw_version: null,
      id: device.id,
      identifiers: [["sim", device.id]],
      labels: [],
      manufacturer: device.manufacturer,
      model: device.model,
      modified_at: 1773482575.918273,
      name_by_user: device.name_by_user,
      name: device.name,
      serial_number: null,
      sw_version: null,
      via_device_id: null,
    };
  }

  private entryJson(entry: SimEntityEntry): JsonObject {
    return {
      area_id: entry.area_id,
      categories: {},
      config_entry_id: null,
      created_at: 1762108812.331904,
      device_id: entry.device_id,
      disabled_by: entry.disabled_by,
      entity_category: entry.entity_category,
      entity_id: entry.entity_id,
      has_entity_name: entry.device_id !== null,
      hidden_by: null,
      icon: null,
      id: entry.id,
      labels: [],
      modified_at: 1762108812.331904,
      name: entry.name,
      options: {},
      original_name: entry.original_name,
      platform: entry.platform,
      translation_key: null,
      unique_id: entry.id,
    };
  }
}
