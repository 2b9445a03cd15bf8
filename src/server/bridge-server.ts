import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { type RawData, type WebSocket, WebSocketServer } from "ws";
import type { Config } from "../config/schema.js";
import type { AckTracker } from "../core/delivery/acks.js";
import { AttemptLimiter } from "../core/delivery/attempt-limiter.js";
import { Delivery } from "../core/delivery/delivery.js";
import { undeliverableAlert } from "../core/delivery/undeliverable.js";
import type { BridgeEvent } from "../core/events.js";
import type { HealthRegistry } from "../core/health.js";
import type { HomeDirectory } from "../core/home.js";
import type { Hub } from "../core/hub.js";
import type { Service } from "../core/lifecycle.js";
import type { Logger } from "../core/logger.js";
import { AuthError, Authenticator } from "./auth/authenticator.js";
import { FailedAuthLimiter } from "./auth/failed-auth.js";
import { ingressPrincipal, type Principal, plainAddress } from "./auth/principal.js";
import { CLIENT_ID, CloseCode, type Connection, type ConnectionContext } from "./connection.js";
import { type HttpListener, sendJson } from "./http.js";
import { ServerMetrics } from "./metrics.js";
import { OccupancyEncoder, occupancyMessageType } from "./occupancy/encoder.js";
import { type Endpoint, parseEndpointPath } from "./occupancy/protocol.js";
import { OccupancySession } from "./occupancy/session.js";
import { PmaEncoder, pmaMessageType } from "./pma/encoder.js";
import { PmaSession } from "./pma/session.js";

export interface BridgeServerOptions {
  readonly config: Config;
  readonly hub: Hub;
  readonly health: HealthRegistry;
  /** Absent when no Home Assistant is configured: room names fall back to ids, occupancy to null. */
  readonly home?: HomeDirectory | undefined;
  readonly log: Logger;
  /** Where the generated key lives; `config.data_dir` by default. */
  readonly dataDir?: string;
  readonly version?: string;
}

export interface AttachOptions {
  /**
   * Makes the listener an ingress port: only this peer may connect (the Supervisor, `SUPERVISOR_ADDRESS`, in
   * the add-on), and the Home Assistant user it names in `X-Remote-User-*` headers needs no key.
   */
  readonly trustedPeer?: string;
}

export const HEALTH_COMPONENT = "websocket";

function destroySocket(this: Duplex): void {
  this.destroy();
}
/** A socket's error ends it: for refused WebSockets, which ws keeps reading until the peer's close frame. */
function terminateSocket(this: WebSocket): void {
  this.terminate();
}
/** How long a PMA connection with `?last_seq=` waits for its `resume` before the replay runs anyway. */
export const RESUME_HOLD_MS = 10_000;

function packageVersion(): string {
  try {
    const text = readFileSync(new URL("../../package.json", import.meta.url), "utf8");
    return (JSON.parse(text) as { version?: string }).version ?? "unknown";
  } catch {
    return "unknown";
  }
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

/** What the shared socket listeners report to the server. */
interface SocketEvents {
  closed(connection: Connection): void;
  socketError(connection: Connection | undefined, error: Error): void;
}

/** The listeners every socket shares; `this` is the socket, its connection is looked up. */
function socketListeners(bySocket: WeakMap<WebSocket, Connection>, server: SocketEvents) {
  return {
    message(this: WebSocket, data: RawData, isBinary: boolean): void {
      bySocket.get(this)?.receive(toBuffer(data), isBinary);
    },
    pong(this: WebSocket): void {
      const connection = bySocket.get(this);
      if (connection !== undefined) connection.alive = true;
    },
    error(this: WebSocket, error: Error): void {
      server.socketError(bySocket.get(this), error);
    },
    close(this: WebSocket): void {
      const connection = bySocket.get(this);
      if (connection !== undefined) server.closed(connection);
    },
  };
}

/**
 * The bridge's WebSocket server: both dialects on every listener it is attached to (`/ws` = pma, the
 * occupancy paths = occupancy, anything else 404), the connection limits, the shared ping sweep, heartbeat
 * and housekeeping timers (one each, not one per connection), and the metrics/clients HTTP endpoints.
 */
export class BridgeServer implements Service {
  readonly name = "websocket-server";
  readonly metrics: ServerMetrics;
  /** Acknowledgements, replay and snapshots; its state lives in the data directory. */
  readonly delivery: Delivery;
  private readonly config: Config;
  private readonly log: Logger;
  private readonly wss: WebSocketServer;
  private readonly auth: Authenticator;
  private readonly failedAuth: FailedAuthLimiter;
  private readonly ctx: ConnectionContext;
  private readonly pmaEncoder: PmaEncoder;
  private readonly occupancyEncoder: OccupancyEncoder;
  private readonly connections = new Map<string, Connection>();
  private readonly perIp = new Map<string, number>();
  private readonly attempts: AttemptLimiter;
  private unobserve: (() => void) | undefined;
  private readonly timers: NodeJS.Timeout[] = [];
  private started = false;
  /** Each open socket's connection, for the socket listeners (one set of listeners for every socket). */
  private readonly bySocket = new WeakMap<WebSocket, Connection>();
  /** The limit key of connections counted under something else than their address (ingress users). */
  private readonly ingressKeys = new WeakMap<Connection, string>();
  /**
   * Listeners shared by every socket (called with the socket as `this`): closures per connection would cost
   * four functions and a context per idle connection.
   */
  private readonly socketListeners = socketListeners(this.bySocket, {
    closed: (connection) => this.closed(connection),
    socketError: (connection, error) =>
      this.log.debug({ err: error, client: connection?.id }, "client socket error"),
  });

  constructor(private readonly options: BridgeServerOptions) {
    const { config, hub, log } = options;
    this.config = config;
    this.log = log;
    this.metrics = new ServerMetrics(() => this.connectionCounts());
    this.auth = new Authenticator(config.auth, options.dataDir ?? config.data_dir, log);
    this.failedAuth = new FailedAuthLimiter(
      config.server.failed_auth.max_attempts,
      config.server.failed_auth.window_seconds * 1000,
    );
    this.delivery = new Delivery(config, log.child({ ns: "delivery" }), this.metrics.registry);
    // The burst lets a house's worth of clients (re)connect at once, e.g. after a restart of the bridge.
    this.attempts = new AttemptLimiter(
      Math.max(config.server.max_connections_per_ip, config.server.connection_attempts_per_minute),
      config.server.connection_attempts_per_minute,
    );
    const countRender = (dialect: string): void => hub.countRender(dialect);
    const ackTypes = new Set(config.acks.message_types);
    this.pmaEncoder = new PmaEncoder(countRender, (event: BridgeEvent) => {
      const occupancyType = occupancyMessageType(event);
      return (
        (occupancyType !== null && ackTypes.has(occupancyType)) || ackTypes.has(pmaMessageType(event.kind))
      );
    });
    this.occupancyEncoder = new OccupancyEncoder(
      countRender,
      options.home,
      new Set(config.acks.message_types),
    );
    this.ctx = {
      config,
      hub,
      auth: this.auth,
      failedAuth: this.failedAuth,
      delivery: this.delivery,
      metrics: this.metrics,
      home: options.home,
      log,
      version: options.version ?? packageVersion(),
    };
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: config.server.max_payload_bytes,
      perMessageDeflate: false,
      clientTracking: false,
    });
    options.health.register(HEALTH_COMPONENT);
  }

  /** Serves both dialects and the metrics endpoints on a listener. Call before the listener starts. */
  attach(listener: HttpListener, options: AttachOptions = {}): void {
    const trustedPeer = options.trustedPeer;
    listener.onUpgrade((req, socket, head, url) => this.upgrade(req, socket, head, url, trustedPeer));
    const metrics = this.adminRoute(trustedPeer, (_req, res) => sendJson(res, 200, this.metricsReport()));
    listener.route("/api/v1/websocket/metrics", metrics);
    listener.route("/api/v1/websocket/stats", metrics);
    listener.route(
      "/api/v1/websocket/clients",
      this.adminRoute(trustedPeer, (_req, res) =>
        sendJson(res, 200, { clients: [...this.connections.values()].map((c) => c.summary()) }),
      ),
    );
    listener.route(
      "/metrics",
      this.adminRoute(trustedPeer, async (_req, res) => {
        const text = await this.metrics.registry.metrics();
        res.writeHead(200, {
          "Content-Type": this.metrics.registry.contentType,
          "Cache-Control": "no-store",
        });
        res.end(text);
      }),
    );
  }

  async start(): Promise<void> {
    this.auth.init();
    const { hub } = this.options;
    await this.delivery.start();
    const numbering = this.delivery.numbering();
    hub.continueFrom(numbering.epoch, numbering.lastSeq);
    // Before delivery to clients: a resume reading the ring never misses the event being delivered.
    this.unobserve = hub.onEvent((event) => this.delivery.observe(event));
    this.delivery.acks.attach({ send: (identity, frame, seq) => this.sendPending(identity, frame, seq) });
    this.delivery.acks.onUndeliverable((report) => {
      const alert = undeliverableAlert(report, new Date());
      if (alert !== null) hub.publish(alert);
    });
    const s = this.config.server;
    const every = (ms: number, task: () => void): void => {
      const timer = setInterval(task, Math.max(10, ms));
      timer.unref();
      this.timers.push(timer);
    };
    every(s.ping_interval_seconds * 1000, () => this.pingSweep());
    every(s.heartbeat_interval_seconds * 1000, () => this.heartbeats());
    every(
      Math.min(
        1000,
        (s.queue.stuck_timeout_seconds * 1000) / 4,
        (s.connection_timeout_seconds * 1000) / 4,
        (s.auth_timeout_seconds * 1000) / 4,
      ),
      () => this.housekeeping(),
    );
    this.started = true;
    this.options.health.set(HEALTH_COMPONENT, true);
  }

  /**
   * Stops accepting, writes what each client's queue can still take, closes every client with 1012 (they
   * reconnect and resume), then saves the delivery state (the replay ring and the epoch).
   */
  async stop(): Promise<void> {
    this.started = false;
    for (const timer of this.timers.splice(0)) clearInterval(timer);
    for (const connection of this.connections.values()) {
      connection.queue.flush();
      connection.close(CloseCode.ServiceRestart, "server restarting: reconnect and resume with last_seq");
    }
    this.connections.clear();
    this.perIp.clear();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    this.unobserve?.();
    await this.delivery.stop();
  }

  clients(): readonly Connection[] {
    return [...this.connections.values()];
  }

  /** The persisted acknowledgement tracker (valid once started). */
  get acks(): AckTracker {
    return this.delivery.acks;
  }

  private upgrade(
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    url: URL,
    trustedPeer: string | undefined,
  ): void {
    // A module-level listener: a closure here would share this call's context with the upgrade callback
    // below and keep the request and URL alive for as long as the socket lives.
    socket.on("error", destroySocket);
    if (trustedPeer !== undefined && plainAddress(req.socket.remoteAddress) !== trustedPeer) {
      this.metrics.add("rejected_connections");
      socket.end("HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
      return;
    }
    const endpoint: Endpoint | "pma" | null =
      url.pathname === "/ws" ? "pma" : parseEndpointPath(url.pathname);
    if (endpoint === null || !this.started) {
      this.metrics.add("rejected_connections");
      const status = endpoint === null ? "404 Not Found" : "503 Service Unavailable";
      socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      return;
    }
    const vouched = trustedPeer === undefined ? null : ingressPrincipal(req.headers);
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, req, url, endpoint, vouched));
  }

  private accept(
    ws: WebSocket,
    req: IncomingMessage,
    url: URL,
    endpoint: Endpoint | "pma",
    vouched: Principal | null,
  ): void {
    // Before any refusal below: ws reads on until the peer's close frame, and a bad frame in that window (an
    // unmasked one, a bad close code) is an 'error' event that, unheard, would end the process.
    ws.on("error", terminateSocket);
    const ip = plainAddress(req.socket.remoteAddress);
    // Through ingress every user arrives from the Supervisor's one address; limit each Home Assistant user
    // on their own instead of making them share one address's allowance.
    const limitKey = vouched === null ? ip : `ingress:${vouched.subject}`;
    const { max_connections, max_connections_per_ip } = this.config.server;
    if (this.connections.size >= max_connections) {
      this.metrics.add("rejected_connections");
      ws.close(
        CloseCode.TryAgainLater,
        `server is at its connection limit (${max_connections}); retry later`,
      );
      return;
    }
    if ((this.perIp.get(limitKey) ?? 0) >= max_connections_per_ip) {
      this.metrics.add("rejected_connections");
      ws.close(
        CloseCode.PolicyViolation,
        `too many connections from your address (limit ${max_connections_per_ip})`,
      );
      return;
    }
    const attempt = this.attempts.admit(limitKey);
    if (!attempt.ok) {
      this.metrics.add("rejected_connections");
      ws.close(
        CloseCode.TryAgainLater,
        `too many connection attempts from your address; retry in ${Math.ceil(attempt.retryAfterMs / 1000)} s`,
      );
      return;
    }
    const requested = url.searchParams.get("client_id");
    const id =
      requested !== null && CLIENT_ID.test(requested) && !this.connections.has(requested)
        ? requested
        : randomUUID();
    const connection: Connection =
      endpoint === "pma"
        ? new PmaSession(id, ws, this.ctx, ip, this.pmaEncoder)
        : new OccupancySession(id, ws, this.ctx, ip, this.occupancyEncoder, endpoint);
    this.connections.set(id, connection);
    this.perIp.set(limitKey, (this.perIp.get(limitKey) ?? 0) + 1);
    this.bySocket.set(ws, connection);
    if (limitKey !== ip) this.ingressKeys.set(connection, limitKey);
    const listeners = this.socketListeners;
    ws.off("error", terminateSocket);
    ws.on("message", listeners.message);
    ws.on("pong", listeners.pong);
    ws.on("error", listeners.error);
    ws.on("close", listeners.close);
    connection.begin(url.searchParams, vouched).catch((error: unknown) => {
      this.log.error({ err: error, client: id }, "opening connection failed");
      connection.close(1011, "internal error");
    });
  }

  /** A socket closed: forget its connection and give its address's slot back. */
  private closed(connection: Connection): void {
    connection.dispose();
    if (this.connections.get(connection.id) === connection) this.connections.delete(connection.id);
    const limitKey = this.ingressKeys.get(connection) ?? connection.remoteAddress;
    const left = (this.perIp.get(limitKey) ?? 1) - 1;
    if (left <= 0) this.perIp.delete(limitKey);
    else this.perIp.set(limitKey, left);
  }

  /** One sweep for every connection: a peer that did not answer the previous ping is gone. */
  private pingSweep(): void {
    for (const connection of this.connections.values()) {
      if (!connection.alive) {
        this.metrics.add("dead_peers_terminated");
        connection.terminate();
        continue;
      }
      connection.alive = false;
      connection.ping();
    }
  }

  private heartbeats(): void {
    for (const connection of this.connections.values()) {
      if (connection instanceof OccupancySession) connection.heartbeat();
    }
  }

  private housekeeping(): void {
    const now = Date.now();
    const s = this.config.server;
    for (const connection of this.connections.values()) {
      if (connection.queue.stuckFor() > s.queue.stuck_timeout_seconds * 1000) {
        this.metrics.add("slow_consumer_closes");
        connection.close(CloseCode.SlowConsumer, "slow consumer: reconnect and resume with last_seq");
        continue;
      }
      if (connection.principal === null && now - connection.connectedAt > s.auth_timeout_seconds * 1000) {
        this.metrics.add("auth_timeouts");
        connection.close(
          CloseCode.PolicyViolation,
          `authentication timeout: authenticate within ${s.auth_timeout_seconds} s of connecting`,
        );
        continue;
      }
      if (
        connection instanceof OccupancySession &&
        now - connection.lastSeen > s.connection_timeout_seconds * 1000
      ) {
        this.metrics.add("inactivity_closes");
        connection.close(CloseCode.InactivityTimeout, "inactivity timeout: send heartbeat messages");
        continue;
      }
      connection.queue.flush();
      connection.advanceResume((resume) => {
        resume.pump();
        if (connection.principal !== null) resume.expireHold(now, RESUME_HOLD_MS);
      });
    }
    this.failedAuth.prune();
    this.attempts.prune();
  }

  /** The acknowledgement tracker's way out: every open connection of the identity. */
  private sendPending(identity: string, frame: string, seq: number): number {
    let sent = 0;
    for (const connection of this.connections.values()) {
      if (connection.isClosed || connection.identity() !== identity) continue;
      connection.sendPending(frame, seq);
      sent += 1;
    }
    return sent;
  }

  private connectionCounts(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const c of this.connections.values()) {
      const endpoint = c.endpoint.startsWith("/ws/room/") ? "/ws/room/{room_id}" : c.endpoint;
      const key = `${c.dialect} ${endpoint}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    return counts;
  }

  private metricsReport(): Record<string, unknown> {
    const byDialect: Record<string, number> = { pma: 0, occupancy: 0 };
    const byEndpoint: Record<string, number> = {};
    for (const [key, count] of this.connectionCounts()) {
      const [dialect = "", endpoint = ""] = key.split(" ");
      byDialect[dialect] = (byDialect[dialect] ?? 0) + count;
      byEndpoint[endpoint] = (byEndpoint[endpoint] ?? 0) + count;
    }
    const hub = this.options.hub;
    return {
      uptime_seconds: (Date.now() - this.metrics.startedAt) / 1000,
      started_at: new Date(this.metrics.startedAt).toISOString(),
      connected_clients: this.connections.size,
      connections: { total: this.connections.size, by_dialect: byDialect, by_endpoint: byEndpoint },
      ...this.metrics.snapshot(),
      pending_acks: this.delivery.acks.pendingCount(),
      epoch: hub.epoch,
      last_seq: hub.lastSeq(),
      events: hub.stats(),
    };
  }

  /** HTTP routes that need a credential with the `admin` capability (`Authorization: Bearer` or `X-API-Key`). */
  private adminRoute(
    trustedPeer: string | undefined,
    handler: (req: IncomingMessage, res: ServerResponse) => void | Promise<void>,
  ): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
    return async (req, res) => {
      if (trustedPeer !== undefined && plainAddress(req.socket.remoteAddress) !== trustedPeer) {
        sendJson(res, 403, { error: "forbidden", message: "this port accepts only the Supervisor" });
        return;
      }
      const vouched = trustedPeer === undefined ? null : ingressPrincipal(req.headers);
      const principal = vouched ?? (await this.httpPrincipal(req));
      if (principal === null) {
        res.setHeader("WWW-Authenticate", 'Bearer realm="pma-bridge"');
        sendJson(res, 401, {
          error: "unauthorized",
          message: "send an API key or token with the admin capability",
        });
        return;
      }
      if (!principal.capabilities.has("admin")) {
        sendJson(res, 403, { error: "forbidden", message: "the admin capability is required" });
        return;
      }
      await handler(req, res);
    };
  }

  private async httpPrincipal(req: IncomingMessage): Promise<Principal | null> {
    const header = req.headers.authorization;
    const bearer =
      typeof header === "string" && /^Bearer\s+/i.test(header)
        ? header.replace(/^Bearer\s+/i, "")
        : undefined;
    const apiKey = req.headers["x-api-key"];
    const credential = bearer ?? (typeof apiKey === "string" ? apiKey : undefined);
    if (credential === undefined || credential === "") return null;
    const ip = plainAddress(req.socket.remoteAddress);
    const delay = this.failedAuth.delayMs(ip);
    if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
    try {
      return await this.auth.authenticate({ token: credential });
    } catch (error) {
      if (!(error instanceof AuthError)) throw error;
      this.failedAuth.recordFailure(ip);
      this.metrics.add("auth_failures");
      return null;
    }
  }
}
