import type { LoadedConfig } from "./config/load.js";
import { HealthRegistry } from "./core/health.js";
import { HomeModel } from "./core/home-model.js";
import { Hub } from "./core/hub.js";
import { Lifecycle, type Service } from "./core/lifecycle.js";
import type { Logger } from "./core/logger.js";
import { RateMeter } from "./core/rate-meter.js";
import { SelfAlerts } from "./core/self-alerts.js";
import { dashboardRoutes } from "./dashboard/routes.js";
import { SUPERVISOR_ADDRESS } from "./server/auth/principal.js";
import { BridgeServer } from "./server/bridge-server.js";
import { HttpListener, healthRoute } from "./server/http.js";
import { HomeAssistantSource } from "./sources/home-assistant/index.js";
import { MqttCounters, MqttSource } from "./sources/mqtt/index.js";
import { VERSION } from "./version.js";

/** A running bridge, as the CLI, the demo, the benchmarks and the tests see it. */
export interface Bridge {
  readonly health: HealthRegistry;
  readonly hub: Hub;
  readonly home: HomeModel;
  readonly server: BridgeServer;
  /** The bound main port (differs from the configured one when that was 0). */
  port(): number;
  /** The bound port of the occupancy listener (seed 002's 8766), when enabled. */
  occupancyPort(): number | undefined;
  /** The bound ingress port, when configured. */
  ingressPort(): number | undefined;
  stop(): Promise<void>;
}

/**
 * The composition root: builds every part from the validated config, wires them, and starts them in
 * order (the hub before anything that publishes; listeners before the sources so their first events find
 * clients). Nothing else in the bridge constructs services.
 */
export async function startBridge(loaded: LoadedConfig, log: Logger): Promise<Bridge> {
  const { config } = loaded;
  const supervisorToken = process.env.SUPERVISOR_TOKEN ?? process.env.HASSIO_TOKEN;
  const health = new HealthRegistry();
  const hub = new Hub({ log: log.child({ ns: "hub" }) });
  const home = new HomeModel();
  const server = new BridgeServer({
    config,
    hub,
    health,
    home,
    log: log.child({ ns: "ws" }),
    version: VERSION,
  });

  const listeners: HttpListener[] = [];
  const listener = (name: string, port: number, ingress: boolean): HttpListener => {
    const http = new HttpListener({ name, host: config.server.host, port }, log.child({ ns: name }));
    const trust = ingress ? { trustedPeer: SUPERVISOR_ADDRESS } : {};
    server.attach(http, trust);
    dashboardRoutes(http, { ingress, ...trust });
    listeners.push(http);
    return http;
  };
  const main = listener("http", config.server.port, false);
  main.route("/healthz", healthRoute(health));
  const occupancy = config.server.occupancy_listener.enabled
    ? listener("occupancy", config.server.occupancy_listener.port, false)
    : undefined;
  const ingress =
    config.server.ingress_port === null ? undefined : listener("ingress", config.server.ingress_port, true);

  const sources: Service[] = [];
  if (config.homeassistant.url !== undefined || loaded.addon) {
    sources.push(
      new HomeAssistantSource({
        config: config.homeassistant,
        addon: loaded.addon,
        supervisorToken,
        sink: hub,
        model: home,
        health,
        log: log.child({ ns: "ha" }),
      }),
    );
  } else {
    log.warn(
      "no Home Assistant configured (homeassistant.url / --ha-url): serving without Home Assistant data. " +
        "To try the bridge against a simulated home, run `pma-bridge demo`.",
    );
  }

  const selfAlerts = new SelfAlerts({
    health,
    sink: hub,
    log: log.child({ ns: "alerts" }),
    downAfterMs: config.alerts.upstream_down_after_seconds * 1000,
  });
  const eventRate = new RateMeter(() => hub.stats().published);
  const mqtt = new MqttSource({
    config: config.mqtt,
    rooms: config.rooms,
    addon: loaded.addon,
    supervisorToken,
    sink: hub,
    home,
    stateFeed: home,
    health,
    log: log.child({ ns: "mqtt" }),
    stats: new MqttCounters(),
    version: VERSION,
    live: {
      connectedClients: () => server.clients().length,
      eventsPerSecond: () => eventRate.perSecond(),
      pendingAcks: () => server.acks.totalPending,
      haConnected: () => health.get("homeassistant")?.ready === true,
    },
    onStale: selfAlerts.predictionsStale,
  });
  const unsubscribe = hub.onEvent((event) => mqtt.onEvent(event));
  const detach: Service = {
    name: "mqtt-event-mirror",
    start: () => Promise.resolve(),
    stop: () => {
      unsubscribe();
      return Promise.resolve();
    },
  };

  const lifecycle = new Lifecycle(
    // Listeners start before the server so that, stopping in reverse, the server closes its clients before
    // the listeners wait for their connections to end.
    [hub, ...listeners, server, ...sources, selfAlerts, mqtt, detach],
    log.child({ ns: "lifecycle" }),
  );
  try {
    await lifecycle.start();
  } catch (error) {
    await lifecycle.stop();
    throw error;
  }
  return {
    health,
    hub,
    home,
    server,
    port: () => main.port(),
    occupancyPort: () => occupancy?.port(),
    ingressPort: () => ingress?.port(),
    stop: () => lifecycle.stop(),
  };
}

/** How long shutdown may take before the process exits anyway; well inside the add-on's stop timeout. */
export const SHUTDOWN_DEADLINE_MS = 8_000;

/** Runs until SIGTERM/SIGINT, then stops every part in reverse order and exits 0. */
export async function runUntilSignal(loaded: LoadedConfig, log: Logger): Promise<void> {
  // A rejected promise nobody awaited (e.g. inside a client library) must not take the whole bridge down;
  // it is logged and the owning part recovers on its own.
  process.on("unhandledRejection", (reason) => log.error({ err: reason }, "unhandled promise rejection"));
  const bridge = await startBridge(loaded, log);
  log.info({ port: bridge.port() }, "bridge started");
  await new Promise<void>((resolve) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals): void => {
      if (stopping) return;
      stopping = true;
      log.info({ signal }, "stopping");
      const deadline = setTimeout(() => {
        log.error("shutdown took too long; exiting");
        process.exit(1);
      }, SHUTDOWN_DEADLINE_MS);
      deadline.unref();
      bridge
        .stop()
        .catch((error: unknown) => log.error({ err: error }, "shutdown failed"))
        .finally(() => {
          clearTimeout(deadline);
          resolve();
        });
    };
    process.once("SIGTERM", onSignal);
    process.once("SIGINT", onSignal);
  });
  log.info("stopped");
}
