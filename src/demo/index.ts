import { randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import { resolve } from "node:path";
import { type LoadedConfig, loadConfig } from "../config/load.js";
import { CAPABILITIES } from "../config/schema.js";
import { BridgeError } from "../core/errors.js";
import type { Logger } from "../core/logger.js";
import { type Bridge, startBridge } from "../main.js";
import { mintToken } from "../server/auth/jwt.js";
import { loadOrCreateSecrets } from "../server/auth/secrets.js";
import { seededRandom } from "../simulator/generator.js";
import { SimulatedHomeAssistant } from "../simulator/index.js";
import { HomeActivity } from "./activity.js";
import { EmbeddedBroker } from "./broker.js";
import { DEMO_ROOMS, demoHome, PREDICTOR_ROOM_IDS } from "./home.js";
import type { Random } from "./predictions.js";
import { PredictionPublisher } from "./predictor.js";

export interface DemoOptions {
  /** Where the bridge listens; loopback by default, since the demo allows anonymous reads. */
  readonly host?: string;
  /** The bridge's port (default 3001; 0 picks a free one). */
  readonly port?: number;
  /** The embedded MQTT broker's port (default 0: a free one). */
  readonly mqttPort?: number;
  /** Keeps the bridge's generated secrets and pending acknowledgements (default `./data/demo`). */
  readonly dataDir?: string;
  /** Multiplies the pace of the simulated home and predictor (default 1). */
  readonly speed?: number;
  /** Makes the simulated life repeatable. */
  readonly seed?: number;
  readonly logLevel?: "trace" | "debug" | "info" | "warn" | "error" | "fatal" | "silent";
}

export interface DemoUrls {
  readonly dashboard: string;
  readonly http: string;
  readonly pma: string;
  /** Base of the occupancy endpoints; append `/ws/predictions`, `/ws/alerts`, … */
  readonly occupancy: string;
  readonly metrics: string;
  readonly mqtt: string;
  readonly homeAssistant: string;
}

export interface Demo {
  readonly urls: DemoUrls;
  /** A token with every capability, valid for 30 days. */
  readonly token: string;
  /** An API key for occupancy-dialect clients (seed 002 style). */
  readonly apiKey: string;
  /** Whether clients without a credential may read (only when bound to a loopback address). */
  readonly anonymousReads: boolean;
  /** A one-line command that connects an example client and prints live messages. */
  readonly exampleCommand: string;
  readonly simulator: SimulatedHomeAssistant;
  /** Stops and starts the bridge alone (same port and data), as an upgrade or a crash-restart would. */
  restartBridge(): Promise<void>;
  stop(): Promise<void>;
}

/** Demo pace at speed 1: how often the predictor re-predicts, reports, alerts and detects drift. */
const PACE = { predictionMs: 60_000, statusMs: 30_000, alertMs: 90_000, driftMs: 150_000 };

/**
 * Runs the real bridge against a simulated home over real sockets: a simulated Home Assistant with a lively
 * home, an embedded MQTT broker, and a prediction publisher speaking the seed 002 predictor's topics. The
 * bridge is configured exactly as a user would configure it; nothing in it knows it is a demo.
 */
export async function startDemo(options: DemoOptions, log: Logger): Promise<Demo> {
  const host = options.host ?? "127.0.0.1";
  const speed = options.speed ?? 1;
  const random: Random = options.seed === undefined ? Math.random : seededRandom(options.seed);
  const dataDir = resolve(options.dataDir ?? "./data/demo");
  mkdirSync(dataDir, { recursive: true });
  const { secrets } = loadOrCreateSecrets(dataDir);

  const stack: { stop(): Promise<void> }[] = [];
  const stopAll = async (): Promise<void> => {
    for (const part of stack.splice(0).reverse()) {
      await part.stop().catch((error: unknown) => log.warn({ err: error }, "demo part failed to stop"));
    }
  };

  try {
    const broker = new EmbeddedBroker(
      { host: "127.0.0.1", port: options.mqttPort ?? 0 },
      log.child({ ns: "demo-mqtt" }),
    );
    await broker.start();
    stack.push(broker);

    const haToken = randomBytes(24).toString("base64url");
    const simulator = await SimulatedHomeAssistant.start({
      token: haToken,
      home: demoHome(),
      host: "127.0.0.1",
      port: 0,
    });
    stack.push(simulator);
    const activity = new HomeActivity(simulator, { speed, random }, log.child({ ns: "demo-home" }));
    await activity.start();
    stack.push(activity);

    const load = (port: number): LoadedConfig =>
      loadConfig({
        env: {},
        overrides: {
          server: { host, port },
          auth: {
            // Open reads only where nobody else can connect; on any other address every client needs the token.
            allow_anonymous: isLoopback(host),
            jwt_secret: secrets.jwt_secret,
            api_keys: [{ name: "demo", key: secrets.api_key }],
          },
          homeassistant: { url: simulator.httpUrl, token: haToken },
          mqtt: { url: broker.url(), client_id: "pma-bridge-demo" },
          rooms: {
            room_map: Object.fromEntries(
              Object.entries(PREDICTOR_ROOM_IDS).map(([area, room]) => [room, area]),
            ),
          },
          data_dir: dataDir,
          log_level: options.logLevel ?? "info",
        },
      });
    const loaded = load(options.port ?? 3001);
    let bridge: Bridge = await startBridge(loaded, log).catch((error: unknown) => {
      if ((error as NodeJS.ErrnoException).code !== "EADDRINUSE") throw error;
      throw new BridgeError(
        "PORT_IN_USE",
        `port ${loaded.config.server.port} on ${host} is already in use: stop what uses it, or pick another with --port`,
        { port: loaded.config.server.port },
        { cause: error },
      );
    });
    const port = bridge.port();
    stack.push({ stop: () => bridge.stop() });

    const predictor = new PredictionPublisher(
      {
        mqttUrl: broker.url(),
        topicPrefix: loaded.config.mqtt.topic_prefix,
        alertsTopicPrefix: loaded.config.mqtt.alerts_topic_prefix,
        driftTopicPrefix: loaded.config.mqtt.drift_topic.replace(/\/[+#]$/, ""),
        predictorRoomIds: PREDICTOR_ROOM_IDS,
        predictionIntervalMs: PACE.predictionMs / speed,
        statusIntervalMs: PACE.statusMs / speed,
        alertIntervalMs: PACE.alertMs / speed,
        driftIntervalMs: PACE.driftMs / speed,
        random,
      },
      activity,
      log.child({ ns: "demo-predictor" }),
    );
    await predictor.start();
    stack.push(predictor);

    const token = await mintToken(secrets.jwt_secret, {
      subject: "demo-admin",
      capabilities: [...CAPABILITIES],
      rooms: [],
      expiresInSeconds: 30 * 86_400,
    });
    const display = host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host;
    const http = `http://${display}:${port}`;
    const ws = `ws://${display}:${port}`;
    const urls: DemoUrls = {
      // The token rides in the fragment: the dashboard reads it, and it never reaches a server log.
      dashboard: `${http}/#token=${token}`,
      http,
      pma: `${ws}/ws`,
      occupancy: ws,
      metrics: `${http}/api/v1/websocket/metrics`,
      mqtt: broker.url(),
      homeAssistant: simulator.url,
    };
    return {
      urls,
      token,
      apiKey: secrets.api_key,
      anonymousReads: loaded.config.auth.allow_anonymous,
      exampleCommand: `node examples/node/pma-client.mjs ${urls.pma} ${token}`,
      simulator,
      restartBridge: async () => {
        await bridge.stop();
        bridge = await startBridge(load(port), log);
      },
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127(\.\d{1,3}){3}$/.test(host);
}

/** What `pma-bridge demo` prints once everything runs. */
export function demoBanner(demo: Demo): string {
  const { urls } = demo;
  const rooms = DEMO_ROOMS.map((room) => room.id).join(", ");
  return [
    "",
    "PMA Bridge demo: the real bridge, a simulated Home Assistant, an embedded MQTT broker and a prediction publisher.",
    "",
    `  Dashboard        ${urls.dashboard}`,
    `  PMA dialect      ${urls.pma}`,
    `  Occupancy        ${urls.occupancy}/ws/predictions   (also /ws/system-status, /ws/alerts, /ws/room/{room_id})`,
    `  Metrics          ${urls.metrics}`,
    `  MQTT broker      ${urls.mqtt}`,
    `  Rooms            ${rooms}`,
    "",
    `  Token (all capabilities, 30 days):  ${demo.token}`,
    `  API key (occupancy clients):        ${demo.apiKey}`,
    "",
    "  Try a client:",
    `    ${demo.exampleCommand}`,
    "",
    demo.anonymousReads
      ? "  Anonymous clients on this address may read non-sensitive entity events without a token."
      : "  Not a loopback address: every client needs the token or the API key.",
    "  Press Ctrl+C to stop.",
    "",
  ].join("\n");
}

/** `pma-bridge demo`: starts the demo, prints the banner to standard output, and stops on SIGINT/SIGTERM. */
export async function runDemo(
  options: DemoOptions,
  log: Logger,
  out: NodeJS.WritableStream = process.stdout,
): Promise<void> {
  const demo = await startDemo(options, log);
  out.write(`${demoBanner(demo)}\n`);
  await new Promise<void>((resolveStop) => {
    const onSignal = (): void => {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
      resolveStop();
    };
    process.once("SIGINT", onSignal);
    process.once("SIGTERM", onSignal);
  });
  await demo.stop();
}
