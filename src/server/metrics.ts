import { Counter, Gauge, Registry } from "prom-client";

export type CounterName =
  | "messages_in"
  | "messages_out"
  | "bytes_in"
  | "bytes_out"
  | "dropped"
  | "conflated"
  | "slow_consumer_closes"
  | "auth_failures"
  | "rate_limit_hits"
  | "errors_sent"
  | "rejected_connections"
  | "dead_peers_terminated"
  | "inactivity_closes"
  | "auth_timeouts";

const COUNTER_HELP: Record<CounterName, string> = {
  messages_in: "WebSocket messages received from clients",
  messages_out: "WebSocket messages written to clients",
  bytes_in: "Bytes received from clients",
  bytes_out: "Bytes written to clients",
  dropped: "Messages dropped from slow clients' queues",
  conflated: "Entity states replaced by a newer one in a slow client's queue",
  slow_consumer_closes: "Clients closed because their queue made no progress",
  auth_failures: "Failed authentications (WebSocket and HTTP)",
  rate_limit_hits: "Client messages rejected by the rate limit",
  errors_sent: "Error replies sent to clients",
  rejected_connections: "Connections refused (limits, unknown paths)",
  dead_peers_terminated: "Connections terminated by the ping sweep",
  inactivity_closes: "Occupancy connections closed after the inactivity timeout",
  auth_timeouts: "Connections closed for not authenticating within the deadline",
};

/** The server's counters, read by the JSON metrics endpoint and by Prometheus (one private registry). */
export class ServerMetrics {
  readonly startedAt = Date.now();
  private readonly counts = Object.fromEntries(Object.keys(COUNTER_HELP).map((k) => [k, 0])) as Record<
    CounterName,
    number
  >;
  readonly registry = new Registry();

  constructor(connections: () => ReadonlyMap<string, number>) {
    const counts = this.counts;
    // Prometheus reads the plain counts when it scrapes: `add` runs twice per delivered message, and a
    // prom-client `inc` there cost more than the rest of the bookkeeping per delivery.
    for (const name of Object.keys(COUNTER_HELP) as CounterName[]) {
      new Counter({
        name: `pma_bridge_ws_${name}_total`,
        help: COUNTER_HELP[name],
        registers: [this.registry],
        collect() {
          this.reset();
          this.inc(counts[name]);
        },
      });
    }
    new Gauge({
      name: "pma_bridge_ws_connections",
      help: "Open WebSocket connections by dialect and endpoint",
      labelNames: ["dialect", "endpoint"],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [key, count] of connections()) {
          const [dialect = "", endpoint = ""] = key.split(" ");
          this.set({ dialect, endpoint }, count);
        }
      },
    });
    const startedAt = this.startedAt;
    new Gauge({
      name: "pma_bridge_ws_uptime_seconds",
      help: "Seconds since the WebSocket server started",
      registers: [this.registry],
      collect() {
        this.set((Date.now() - startedAt) / 1000);
      },
    });
  }

  add(name: CounterName, by = 1): void {
    this.counts[name] += by;
  }

  /** One message written to a client (on every delivery: named fields, no lookup by name). */
  sent(bytes: number): void {
    this.counts.messages_out += 1;
    this.counts.bytes_out += bytes;
  }

  /** The outbound queues' drop/conflate counter: one function shared by every connection's queue. */
  readonly countQueue = (what: "dropped" | "conflated"): void => this.add(what);

  snapshot(): Readonly<Record<CounterName, number>> {
    return { ...this.counts };
  }
}
