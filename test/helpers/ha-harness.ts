import type { Config } from "../../src/config/schema.js";
import type { EventKind, EventSink, NewBridgeEvent } from "../../src/core/events.js";
import { HealthRegistry } from "../../src/core/health.js";
import { HomeModel } from "../../src/core/home-model.js";
import { silentLogger } from "../../src/core/logger.js";
import { SimulatedHomeAssistant, type SimulatorOptions } from "../../src/simulator/index.js";
import { HomeAssistantSource } from "../../src/sources/home-assistant/index.js";

export const TOKEN = "test-long-lived-access-token";

/** Polls until `condition` holds; generous bounds so a loaded 2-core machine does not flake. */
export async function waitFor(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Keeps everything a source publishes, in order. */
export class RecordingSink implements EventSink {
  readonly events: NewBridgeEvent[] = [];

  publish(event: NewBridgeEvent): void {
    this.events.push(event);
  }

  of<K extends EventKind>(kind: K): NewBridgeEvent<K>[] {
    // The union is discriminated by `kind`, which TypeScript cannot narrow through a generic parameter.
    return this.events.filter((e) => e.kind === kind) as NewBridgeEvent<K>[];
  }

  clear(): void {
    this.events.length = 0;
  }
}

/** Fast timings for tests; every value is what a user could configure. */
export function haConfig(
  url: string,
  overrides: Partial<Config["homeassistant"]> = {},
): Config["homeassistant"] {
  return {
    url,
    token: TOKEN,
    heartbeat_interval_seconds: 30,
    pong_timeout_seconds: 10,
    auth_timeout_seconds: 2,
    max_payload_mib: 64,
    forward_event_types: ["call_service"],
    auth_retry_seconds: 300,
    reconnect_max_seconds: 1,
    resubscribe_retry_seconds: 0.2,
    startup_poll_seconds: 0.1,
    registry_debounce_ms: 20,
    ...overrides,
  };
}

export interface Harness {
  readonly ha: SimulatedHomeAssistant;
  readonly source: HomeAssistantSource;
  readonly sink: RecordingSink;
  readonly model: HomeModel;
  readonly health: HealthRegistry;
  stop(): Promise<void>;
}

/** A simulated HA and a bridge source connected to it over real sockets. */
export async function startHarness(
  options: {
    simulator?: Partial<SimulatorOptions>;
    config?: Partial<Config["homeassistant"]>;
    /** Do not wait for the first sync to complete. */
    noWait?: boolean;
    /** Scripts the simulator before the source first connects. */
    prepare?: (ha: SimulatedHomeAssistant) => void;
    /** The home model the source fills (a fresh one by default). */
    model?: HomeModel;
  } = {},
): Promise<Harness> {
  const ha = await SimulatedHomeAssistant.start({ token: TOKEN, ...options.simulator });
  options.prepare?.(ha);
  const sink = new RecordingSink();
  const model = options.model ?? new HomeModel();
  const health = new HealthRegistry();
  const source = new HomeAssistantSource({
    config: haConfig(ha.httpUrl, options.config),
    addon: false,
    sink,
    model,
    health,
    log: silentLogger(),
  });
  await source.start();
  if (options.noWait !== true) await waitFor(() => source.ready, "the first sync");
  return {
    ha,
    source,
    sink,
    model,
    health,
    async stop() {
      await source.stop();
      await ha.stop();
    },
  };
}
