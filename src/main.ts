import type { LoadedConfig } from "./config/load.js";
import { HealthRegistry } from "./core/health.js";
import { Lifecycle, type Service } from "./core/lifecycle.js";
import type { Logger } from "./core/logger.js";
import { HttpListener, healthRoute } from "./server/http.js";

/** A running bridge, as the CLI and the tests see it. */
export interface Bridge {
  readonly health: HealthRegistry;
  /** The bound main port (differs from the configured one when that was 0). */
  port(): number;
  stop(): Promise<void>;
}

/**
 * The composition root: builds every part from the validated config, wires them, and starts them in
 * order. Nothing else in the bridge constructs services.
 */
export async function startBridge(loaded: LoadedConfig, log: Logger): Promise<Bridge> {
  const { config } = loaded;
  const health = new HealthRegistry();

  const main = new HttpListener(
    { name: "http", host: config.server.host, port: config.server.port },
    log.child({ ns: "http" }),
  );
  main.route("/healthz", healthRoute(health));

  if (config.homeassistant.url === undefined && !loaded.addon) {
    log.warn(
      "no Home Assistant configured (homeassistant.url / --ha-url): serving without Home Assistant data. " +
        "To try the bridge against a simulated home, run `pma-bridge demo`.",
    );
  }

  const services: Service[] = [main];
  const lifecycle = new Lifecycle(services, log.child({ ns: "lifecycle" }));
  try {
    await lifecycle.start();
  } catch (error) {
    await lifecycle.stop();
    throw error;
  }
  return {
    health,
    port: () => main.port(),
    stop: () => lifecycle.stop(),
  };
}

/** How long shutdown may take before the process exits anyway; well inside the add-on's stop timeout. */
export const SHUTDOWN_DEADLINE_MS = 8_000;

/** Runs until SIGTERM/SIGINT, then stops every part in reverse order and exits 0. */
export async function runUntilSignal(loaded: LoadedConfig, log: Logger): Promise<void> {
  // A rejected promise nobody awaited (e.g. a failed resubscription inside a client library) must not
  // take the whole bridge down; it is logged and the owning part recovers on its own.
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
