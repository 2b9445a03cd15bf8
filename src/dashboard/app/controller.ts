import { PmaClient, type PmaEventType } from "../../client/index.js";
import { DashboardState, Series } from "./state.js";

/** `/healthz` as the bridge answers it. */
export interface HealthReport {
  readonly status: string;
  readonly reasons: readonly string[];
  readonly components: Readonly<Record<string, { ready: boolean; reason?: string; since: string }>>;
}

/** One row of `/api/v1/websocket/clients`. */
export interface ClientRow {
  readonly id: string;
  readonly dialect: string;
  readonly endpoint: string;
  readonly subject: string | null;
  readonly remote_address: string;
  readonly subscriptions: unknown;
  readonly queue_depth: number;
  readonly pending_acks: number;
  readonly connected_since: string;
  readonly messages_sent: number;
  readonly dropped: number;
}

export type LinkState = "connecting" | "live" | "reconnecting" | "refused";

/** Every event type the dashboard follows: the whole home and every bridge status. */
const EVENT_TYPES: readonly PmaEventType[] = [
  "state_changed",
  "automation_triggered",
  "call_service",
  "entity_registry_updated",
  "area_registry_updated",
  "floor_registry_updated",
  "prediction_update",
  "alert",
  "drift",
  "system_status",
  "sync_status",
  "adapter_status",
  "connection_status",
];

const POLL_MS = 2000;
const TOKEN_KEY = "pma-bridge-dashboard-token";

/**
 * The dashboard's link to the bridge: a PMA client (it is an ordinary client of the bridge) plus polling of
 * the health, metrics and clients endpoints. Every URL is relative to the page, so the dashboard works at
 * `/` and behind Home Assistant's ingress prefix alike.
 */
export class DashboardController {
  readonly state = new DashboardState();
  link: LinkState = "connecting";
  subject: string | null = null;
  health: HealthReport | null = null;
  clients: readonly ClientRow[] | null = null;
  metrics: Record<string, unknown> | null = null;
  /** Why clients and metrics are not shown (e.g. no token), or null. */
  adminProblem: string | null = null;
  readonly series = {
    messages: new Series(),
    clients: new Series(),
    events: new Series(),
    queued: new Series(),
  };
  private client: PmaClient | undefined;
  private timer: ReturnType<typeof setInterval> | undefined;
  private lastCounts: { at: number; messagesOut: number; published: number } | undefined;

  constructor(
    private readonly base: URL,
    private readonly onChange: () => void,
    public token: string | null = readToken(),
  ) {}

  start(): void {
    this.connect();
    void this.poll();
    this.timer = setInterval(() => void this.poll(), POLL_MS);
  }

  stop(): void {
    this.client?.close();
    if (this.timer !== undefined) clearInterval(this.timer);
  }

  /** Switches credentials (an empty string signs out) and reconnects with them. */
  setToken(token: string): void {
    this.token = token.trim() === "" ? null : token.trim();
    if (this.token === null) sessionStorage.removeItem(TOKEN_KEY);
    else sessionStorage.setItem(TOKEN_KEY, this.token);
    this.client?.close();
    this.subject = null;
    this.connect();
    void this.poll();
  }

  private connect(): void {
    const url = new URL("ws", this.base);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    // From seq 0: everything the bridge still has, or a flagged snapshot, so the rooms fill in at once. The
    // subscriptions go with the first connection, before that resume, so that it covers what they match.
    const client = new PmaClient({
      url: url.toString(),
      ...(this.token === null ? {} : { token: this.token }),
      resumeFrom: { seq: 0, epoch: null },
      subscriptions: { events: EVENT_TYPES },
    });
    this.client = client;
    this.link = "connecting";
    client.on("message", (message) => {
      this.state.apply(message);
      this.onChange();
    });
    client.on("authentication_success", (m) => {
      this.subject = m.data.subject;
    });
    client.on("ready", () => {
      this.link = "live";
      this.onChange();
    });
    client.on("disconnected", (info) => {
      if (client !== this.client) return;
      this.link = info.reconnectInMs === null ? "refused" : "reconnecting";
      this.onChange();
    });
    client.connect().catch(() => {
      if (client === this.client) this.link = "refused";
      this.onChange();
    });
  }

  private async poll(): Promise<void> {
    const headers: Record<string, string> =
      this.token === null ? {} : { Authorization: `Bearer ${this.token}` };
    const [health, metrics, clients] = await Promise.all([
      getJson<HealthReport>(new URL("healthz", this.base), {}),
      getJson<Record<string, unknown>>(new URL("api/v1/websocket/metrics", this.base), headers),
      getJson<{ clients: ClientRow[] }>(new URL("api/v1/websocket/clients", this.base), headers),
    ]);
    this.health = health.body;
    if (metrics.body !== null && clients.body !== null) {
      this.adminProblem = null;
      this.metrics = metrics.body;
      this.clients = clients.body.clients;
      this.sample(metrics.body, clients.body.clients);
    } else {
      const status = metrics.status ?? clients.status;
      this.adminProblem =
        status === 401 || status === 403
          ? "Sign in with a token that has the admin capability to see clients and metrics."
          : "Clients and metrics are unavailable right now.";
    }
    this.onChange();
  }

  private sample(metrics: Record<string, unknown>, clients: readonly ClientRow[]): void {
    const now = Date.now();
    const messagesOut = numberAt(metrics, "messages_out");
    const published = numberAt(metrics, "events", "published");
    if (this.lastCounts !== undefined) {
      const seconds = Math.max(0.001, (now - this.lastCounts.at) / 1000);
      this.series.messages.push(Math.max(0, (messagesOut - this.lastCounts.messagesOut) / seconds));
      this.series.events.push(Math.max(0, (published - this.lastCounts.published) / seconds));
    }
    this.lastCounts = { at: now, messagesOut, published };
    this.series.clients.push(clients.length);
    this.series.queued.push(clients.reduce((sum, c) => sum + c.queue_depth, 0));
  }
}

function numberAt(record: Record<string, unknown>, ...path: string[]): number {
  let node: unknown = record;
  for (const key of path)
    node = typeof node === "object" && node !== null ? (node as Record<string, unknown>)[key] : undefined;
  return typeof node === "number" ? node : 0;
}

async function getJson<T>(
  url: URL,
  headers: Record<string, string>,
): Promise<{ body: T | null; status: number | null }> {
  try {
    const response = await fetch(url, { headers, cache: "no-store" });
    if (!response.ok) return { body: null, status: response.status };
    return { body: (await response.json()) as T, status: response.status };
  } catch {
    return { body: null, status: null };
  }
}

/**
 * The token from `#token=…` (how `pma-bridge demo` links the dashboard; a fragment never reaches the server
 * or its logs), else the one remembered for this browser tab.
 */
function readToken(): string | null {
  const fromHash = new URLSearchParams(location.hash.slice(1)).get("token");
  if (fromHash !== null && fromHash !== "") {
    sessionStorage.setItem(TOKEN_KEY, fromHash);
    history.replaceState(null, "", location.pathname + location.search);
    return fromHash;
  }
  return sessionStorage.getItem(TOKEN_KEY);
}
