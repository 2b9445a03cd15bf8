#!/usr/bin/env node
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { ConfigError, type LoadedConfig, loadConfig, maskSecrets, setPath } from "./config/load.js";
import { CAPABILITIES, LOG_LEVELS } from "./config/schema.js";
import { errorMessage } from "./core/errors.js";
import { createLogger } from "./core/logger.js";
import { runUntilSignal } from "./main.js";
import { mintToken, parseDuration } from "./server/auth/jwt.js";
import { readSecrets } from "./server/auth/secrets.js";
import { VERSION } from "./version.js";

/** Exit code for a configuration the bridge refuses to start with. */
export const EXIT_CONFIG = 2;

interface CommonFlags {
  config?: string;
  port?: number;
  host?: string;
  haUrl?: string;
  haToken?: string;
  mqttUrl?: string;
  dataDir?: string;
  logLevel?: string;
}

function splitList(text: string): string[] {
  return text
    .split(",")
    .map((item) => item.trim())
    .filter(Boolean);
}

function parseInteger(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError("must be a whole number");
  return n;
}

function parsePositive(text: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError("must be a positive number");
  return n;
}

function parsePort(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new InvalidArgumentError("must be a port number from 0 to 65535");
  return n;
}

/** Flags every command that reads the configuration shares; they override every other source. */
function withConfigFlags(command: Command): Command {
  return command
    .option("-c, --config <file>", "configuration file (YAML or JSON)")
    .option("-p, --port <port>", "port of the WebSocket and HTTP server (default 3001)", parsePort)
    .option("--host <host>", "address to listen on (default 0.0.0.0)")
    .option("--ha-url <url>", "Home Assistant URL, e.g. http://homeassistant.local:8123")
    .option("--ha-token <token>", "Home Assistant long-lived access token")
    .option("--mqtt-url <url>", "MQTT broker URL, e.g. mqtt://localhost:1883")
    .option("--data-dir <dir>", "directory for generated keys, pending acknowledgements and resume state")
    .addOption(new Option("--log-level <level>", "log level").choices(LOG_LEVELS));
}

function overridesFrom(flags: CommonFlags): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const map: [unknown, string[]][] = [
    [flags.port, ["server", "port"]],
    [flags.host, ["server", "host"]],
    [flags.haUrl, ["homeassistant", "url"]],
    [flags.haToken, ["homeassistant", "token"]],
    [flags.mqttUrl, ["mqtt", "url"]],
    [flags.dataDir, ["data_dir"]],
    [flags.logLevel, ["log_level"]],
  ];
  for (const [value, path] of map) if (value !== undefined) setPath(out, path, value);
  return out;
}

function load(flags: CommonFlags, probeDataDir = true): LoadedConfig {
  return loadConfig({ configFile: flags.config, overrides: overridesFrom(flags), probeDataDir });
}

function reportConfigError(error: ConfigError): never {
  process.stderr.write(`pma-bridge: the configuration has ${error.issues.length} problem(s):\n`);
  for (const issue of error.issues) process.stderr.write(`  - ${issue.path}: ${issue.message}\n`);
  process.stderr.write("Nothing was started.\n");
  process.exit(EXIT_CONFIG);
}

export function buildProgram(): Command {
  const program = new Command("pma-bridge")
    .description("Bridge Home Assistant and MQTT to WebSocket clients in the PMA and occupancy dialects")
    .version(VERSION)
    .showHelpAfterError()
    .exitOverride();

  withConfigFlags(
    program.command("run", { isDefault: true }).description("run the bridge (the default command)"),
  ).action(async (flags: CommonFlags) => {
    const loaded = load(flags);
    const log = createLogger({ level: loaded.config.log_level, format: loaded.config.log_format });
    for (const warning of loaded.warnings) log.warn(warning);
    await runUntilSignal(loaded, log);
  });

  withConfigFlags(
    program
      .command("check-config")
      .description("print the effective configuration (secrets masked) or every problem"),
  ).action((flags: CommonFlags) => {
    const loaded = load(flags, false);
    for (const warning of loaded.warnings) process.stderr.write(`warning: ${warning}\n`);
    process.stderr.write(`configuration is valid (sources: ${loaded.sources.join(" < ")})\n`);
    process.stdout.write(`${JSON.stringify(maskSecrets(loaded.config), null, 2)}\n`);
  });

  withConfigFlags(
    program.command("token").description("mint an HS256 access token for clients of the bridge"),
  )
    .requiredOption("--subject <name>", "who the token is for, e.g. kitchen-tablet")
    .option(
      "--capabilities <list>",
      `comma-separated capabilities (${CAPABILITIES.join(", ")}); default all`,
      (text: string) => {
        const caps = text
          .split(",")
          .map((c) => c.trim())
          .filter(Boolean);
        const unknown = caps.filter((c) => !(CAPABILITIES as readonly string[]).includes(c));
        if (unknown.length > 0) throw new InvalidArgumentError(`unknown capability ${unknown.join(", ")}`);
        return caps;
      },
    )
    .option(
      "--rooms <list>",
      "comma-separated room (area) ids the token may see; default all",
      (text: string) =>
        text
          .split(",")
          .map((r) => r.trim())
          .filter(Boolean),
    )
    .option("--expires-in <duration>", "lifetime such as 90s, 15m, 12h, 30d; 'never' for no expiry", "30d")
    .action(
      async (
        flags: CommonFlags & {
          subject: string;
          capabilities?: string[];
          rooms?: string[];
          expiresIn: string;
        },
      ) => {
        const loaded = load(flags, false);
        const secret = loaded.config.auth.jwt_secret ?? readSecrets(loaded.config.data_dir)?.jwt_secret;
        if (secret === undefined) {
          process.stderr.write(
            `pma-bridge: no token secret: set auth.jwt_secret, or start the bridge once with data dir ${loaded.config.data_dir} so it generates one.\n`,
          );
          process.exit(EXIT_CONFIG);
        }
        const expiresInSeconds = flags.expiresIn === "never" ? null : parseDuration(flags.expiresIn);
        const token = await mintToken(secret, {
          subject: flags.subject,
          capabilities: flags.capabilities ?? [...CAPABILITIES],
          rooms: flags.rooms ?? [],
          expiresInSeconds,
        });
        process.stdout.write(`${token}\n`);
      },
    );

  program
    .command("demo")
    .description(
      "run the bridge against a simulated home, an embedded MQTT broker and a prediction publisher",
    )
    .option(
      "--host <host>",
      "address to listen on; anonymous reads are allowed only on loopback",
      "127.0.0.1",
    )
    .option("-p, --port <port>", "port of the bridge (0 picks a free one)", parsePort, 3001)
    .option("--mqtt-port <port>", "port of the embedded MQTT broker (0 picks a free one)", parsePort, 0)
    .option(
      "--data-dir <dir>",
      "where the demo bridge keeps its secrets and pending acknowledgements",
      "./data/demo",
    )
    .option("--speed <factor>", "pace of the simulated home and predictor", parsePositive, 1)
    .option("--seed <n>", "makes the simulated life repeatable", parseInteger)
    .addOption(new Option("--log-level <level>", "log level").choices(LOG_LEVELS).default("info"))
    .action(
      async (flags: {
        host: string;
        port: number;
        mqttPort: number;
        dataDir: string;
        speed: number;
        seed?: number;
        logLevel: (typeof LOG_LEVELS)[number];
      }) => {
        const log = createLogger({ level: flags.logLevel, format: "pretty" });
        const { runDemo } = await import("./demo/index.js");
        await runDemo({ ...flags, ...(flags.seed === undefined ? {} : { seed: flags.seed }) }, log);
      },
    );

  program
    .command("watch")
    .description("a terminal client: subscribe, print messages, acknowledge alerts, resume after drops")
    .option("--url <url>", "the bridge", "ws://127.0.0.1:3001")
    .option("--token <token>", "a bridge token (pma-bridge token) or an API key")
    .option("--api-key <key>", "API key for the occupancy dialect (defaults to --token)")
    .option("--entities <list>", "comma-separated entity ids to follow", splitList)
    .option("--rooms <list>", "comma-separated room (area) ids to follow", splitList)
    .option(
      "--events <list>",
      "comma-separated event types (state_changed, prediction_update, ...)",
      splitList,
    )
    .option("--endpoint <path>", "watch an occupancy endpoint instead, e.g. /ws/alerts or /ws/room/kitchen")
    .option("--json", "print each message as a JSON line")
    .option("--max-messages <n>", "exit after this many event messages", parseInteger)
    .action(
      async (flags: {
        url: string;
        token?: string;
        apiKey?: string;
        entities?: string[];
        rooms?: string[];
        events?: string[];
        endpoint?: string;
        json?: boolean;
        maxMessages?: number;
      }) => {
        const { runWatch } = await import("./watch/index.js");
        const abort = new AbortController();
        const stop = (): void => abort.abort();
        process.once("SIGINT", stop);
        process.once("SIGTERM", stop);
        const code = await runWatch(flags, process.stdout, abort.signal);
        process.exit(code);
      },
    );

  return program;
}

export async function main(argv: readonly string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync([...argv]);
  } catch (error) {
    if (error instanceof ConfigError) reportConfigError(error);
    if (error instanceof CommanderError) {
      process.exit(error.exitCode === 0 ? 0 : EXIT_CONFIG);
    }
    process.stderr.write(`pma-bridge: ${errorMessage(error)}\n`);
    process.exit(1);
  }
}

await main(process.argv);
