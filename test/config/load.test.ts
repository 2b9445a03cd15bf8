import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import {
  ConfigError,
  environmentVariables,
  loadConfig,
  maskSecrets,
  setPath,
} from "../../src/config/load.js";
import { configSchema, MAX_TIMER_MS, MAX_TIMER_SECONDS } from "../../src/config/schema.js";

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "pma-config-"));
}

function writeFile(dir: string, name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

/** Every option path whose name says it is a duration (`…_seconds`, `…_ms`), found by walking the schema. */
function durationPaths(schema: z.ZodType, prefix: readonly string[] = []): string[][] {
  let inner = schema;
  for (;;) {
    const def = inner._zod.def as { innerType?: z.ZodType };
    if (def.innerType === undefined) break;
    inner = def.innerType;
  }
  if (!(inner instanceof z.ZodObject)) return [];
  return Object.entries(inner.shape as Record<string, z.ZodType>).flatMap(([key, child]) =>
    /_(seconds|ms)$/.test(key) ? [[...prefix, key]] : durationPaths(child, [...prefix, key]),
  );
}

function issuesOf(fn: () => unknown): { path: string; message: string }[] {
  try {
    fn();
  } catch (error) {
    if (error instanceof ConfigError) return [...error.issues];
    throw error;
  }
  throw new Error("expected a ConfigError");
}

describe("loadConfig", () => {
  it("gives every default when nothing is configured", () => {
    const dir = tempDir();
    const { config, sources, addon } = loadConfig({ env: {}, overrides: { data_dir: dir } });
    expect(config.server.port).toBe(3001);
    expect(config.server.occupancy_listener).toEqual({ enabled: false, port: 8766 });
    expect(config.server.max_connections).toBe(1000);
    expect(config.server.queue.max_messages).toBe(256);
    expect(config.server.rate_limit.messages_per_minute).toBe(60);
    expect(config.acks.timeout_seconds).toBe(30);
    expect(config.mqtt.topic_prefix).toBe("occupancy/predictions");
    expect(config.auth.allow_anonymous).toBe(false);
    expect(addon).toBe(false);
    expect(sources).toEqual(["defaults", "command line"]);
  });

  it("layers file < environment < command line", () => {
    const dir = tempDir();
    const file = writeFile(
      dir,
      "bridge.yaml",
      "server:\n  port: 4000\n  host: 127.0.0.1\nmqtt:\n  url: mqtt://file:1883\nlog_level: debug\n",
    );
    const { config, sources } = loadConfig({
      configFile: file,
      env: { PMA_SERVER_PORT: "4100", PMA_MQTT_URL: "mqtt://env:1883" },
      overrides: { server: { port: 4200 }, data_dir: dir },
    });
    expect(config.server.port).toBe(4200);
    expect(config.server.host).toBe("127.0.0.1");
    expect(config.mqtt.url).toBe("mqtt://env:1883");
    expect(config.log_level).toBe("debug");
    expect(sources).toEqual(["defaults", `file ${file}`, "environment", "command line"]);
  });

  it("reads JSON config files", () => {
    const dir = tempDir();
    const file = writeFile(dir, "bridge.json", JSON.stringify({ server: { port: 5000 }, data_dir: dir }));
    expect(loadConfig({ configFile: file, env: {} }).config.server.port).toBe(5000);
  });

  it("reads the add-on options file when SUPERVISOR_TOKEN is set, with /data as the data directory default", () => {
    const dir = tempDir();
    const options = writeFile(
      dir,
      "options.json",
      JSON.stringify({ log_level: "warn", data_dir: dir, mqtt: { url: null } }),
    );
    const { config, addon, sources } = loadConfig({
      env: { SUPERVISOR_TOKEN: "supervisor-secret", PMA_ADDON_OPTIONS_FILE: options },
    });
    expect(addon).toBe(true);
    expect(config.log_level).toBe("warn");
    expect(config.mqtt.url).toBeUndefined();
    expect(sources).toContain(`add-on options ${options}`);
  });

  it("moves the add-on's top-level api_keys and room_map lists to their config paths", () => {
    const dir = tempDir();
    const key = { name: "tablet", key: "k".repeat(20), capabilities: ["predictions"], rooms: [] };
    const options = writeFile(
      dir,
      "options.json",
      JSON.stringify({
        data_dir: dir,
        api_keys: [key],
        room_map: [{ predictor_room: "living_kitchen", area_id: "living_room" }],
      }),
    );
    const { config } = loadConfig({ env: { SUPERVISOR_TOKEN: "x", PMA_ADDON_OPTIONS_FILE: options } });
    expect(config.auth.api_keys).toEqual([key]);
    expect(config.rooms.room_map).toEqual({ living_kitchen: "living_room" });
  });

  it("maps the seed system's WEBSOCKET_API_* variables, and PMA_* wins over them", () => {
    const dir = tempDir();
    const { config } = loadConfig({
      env: {
        WEBSOCKET_API_ENABLED: "true",
        WEBSOCKET_API_PORT: "8800",
        WEBSOCKET_API_HOST: "127.0.0.2",
        WEBSOCKET_API_MAX_CONNECTIONS: "500",
        PMA_SERVER_MAX_CONNECTIONS: "700",
      },
      overrides: { data_dir: dir },
    });
    expect(config.server.occupancy_listener).toEqual({ enabled: true, port: 8800 });
    expect(config.server.host).toBe("127.0.0.2");
    expect(config.server.max_connections).toBe(700);
  });

  it("reads lists and JSON values from the environment", () => {
    const dir = tempDir();
    const { config } = loadConfig({
      env: {
        PMA_ACKS_MESSAGE_TYPES: "alert_notification, drift_notification,prediction_update",
        PMA_ROOMS_ROOM_MAP: '{"living_kitchen":"living_room"}',
        PMA_AUTH_ALLOW_ANONYMOUS: "yes",
      },
      overrides: { data_dir: dir },
    });
    expect(config.acks.message_types).toEqual([
      "alert_notification",
      "drift_notification",
      "prediction_update",
    ]);
    expect(config.rooms.room_map).toEqual({ living_kitchen: "living_room" });
    expect(config.auth.allow_anonymous).toBe(true);
  });

  it("reports every problem at once, with its path", () => {
    const dir = tempDir();
    const file = writeFile(
      dir,
      "bad.yaml",
      [
        "server:",
        "  port: 70000",
        "  rate_limit:",
        "    messages_per_minute: lots",
        "homeassistant:",
        "  url: http://homeassistant.local:8123",
        "auth:",
        "  api_keys:",
        "    - {name: tablet, key: short}",
        "log_level: loud",
      ].join("\n"),
    );
    const issues = issuesOf(() =>
      loadConfig({
        configFile: file,
        env: { PMA_SERVER_MAX_CONNECTIONS: "many" },
        overrides: { data_dir: dir },
      }),
    );
    const paths = issues.map((i) => i.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        "server.port",
        "server.rate_limit.messages_per_minute",
        "homeassistant.token",
        "auth.api_keys.0.key",
        "log_level",
        "PMA_SERVER_MAX_CONNECTIONS (environment)",
      ]),
    );
    expect(issues.find((i) => i.path === "homeassistant.token")?.message).toMatch(/long-lived access token/);
  });

  it("reports YAML syntax errors and unreadable files as problems of the file", () => {
    const dir = tempDir();
    const broken = writeFile(dir, "broken.yaml", "server:\n  port: [3001\n");
    expect(issuesOf(() => loadConfig({ configFile: broken, env: {} }))[0]?.message).toMatch(/not valid YAML/);
    const missing = join(dir, "missing.yaml");
    expect(issuesOf(() => loadConfig({ configFile: missing, env: {} }))[0]).toMatchObject({
      path: missing,
      message: expect.stringMatching(/cannot be read/),
    });
    const list = writeFile(dir, "list.yaml", "- a\n- b\n");
    expect(issuesOf(() => loadConfig({ configFile: list, env: {} }))[0]?.message).toMatch(/mapping/);
  });

  it("refuses a data directory it cannot write", () => {
    const dir = tempDir();
    const file = writeFile(dir, "not-a-dir", "x");
    const issues = issuesOf(() => loadConfig({ env: {}, overrides: { data_dir: join(file, "sub") } }));
    expect(issues).toEqual([
      { path: "data_dir", message: expect.stringMatching(/not a writable directory/) },
    ]);
  });

  it.each(["/sys/pma-bridge-data", "/proc/pma-bridge-data/sub"])(
    "refuses a data directory on a pseudo file system (%s) with an error, not a hang",
    (dataDir) => {
      // These refuse new directories even to root, which ignores permission bits.
      const issues = issuesOf(() => loadConfig({ env: {}, overrides: { data_dir: dataDir } }));
      expect(issues).toEqual([
        { path: "data_dir", message: expect.stringMatching(/not a writable directory/) },
      ]);
    },
  );

  it("creates a missing data directory with its parents", () => {
    const dir = join(tempDir(), "a", "b", "c");
    expect(loadConfig({ env: {}, overrides: { data_dir: dir } }).config.data_dir).toBe(dir);
    expect(existsSync(dir)).toBe(true);
  });

  it("warns about unknown keys but still starts", () => {
    const dir = tempDir();
    const file = writeFile(
      dir,
      "extra.yaml",
      `data_dir: ${dir}\nserver:\n  prot: 1\nwebsocket:\n  debug: true\n`,
    );
    const { warnings } = loadConfig({ configFile: file, env: {} });
    expect(warnings).toEqual(["unknown option server.prot (ignored)", "unknown option websocket (ignored)"]);
  });

  it("rejects duplicate API key names and clashing ports", () => {
    const dir = tempDir();
    const key = "0123456789abcdef0123";
    const issues = issuesOf(() =>
      loadConfig({
        env: {},
        overrides: {
          data_dir: dir,
          auth: {
            api_keys: [
              { name: "a", key },
              { name: "a", key },
            ],
          },
          server: { port: 4000, occupancy_listener: { enabled: true, port: 4000 } },
        },
      }),
    );
    expect(issues.map((i) => i.path)).toEqual(["auth.api_keys.1.name", "server.occupancy_listener.port"]);
  });
});

describe("loadConfig limits", () => {
  const durations = durationPaths(configSchema);

  it("finds the duration options to check", () => {
    expect(durations.map((path) => path.join("."))).toEqual(
      expect.arrayContaining([
        "server.heartbeat_interval_seconds",
        "server.queue.stuck_timeout_seconds",
        "homeassistant.auth_retry_seconds",
        "homeassistant.registry_debounce_ms",
        "mqtt.stale_after_seconds",
        "acks.timeout_seconds",
      ]),
    );
  });

  it("refuses every duration longer than Node's timers can hold (2^31-1 ms), all in one report", () => {
    const dir = tempDir();
    const overrides: Record<string, unknown> = { data_dir: dir };
    for (const path of durations) {
      const inMs = path.at(-1)?.endsWith("_ms") === true;
      setPath(overrides, path, inMs ? MAX_TIMER_MS + 1 : MAX_TIMER_SECONDS + 1);
    }
    const issues = issuesOf(() => loadConfig({ env: {}, overrides }));
    expect(issues).toEqual(
      durations.map((path) => ({
        path: path.join("."),
        message: expect.stringMatching(
          path.at(-1)?.endsWith("_ms") === true
            ? /^must be at most 2147483647 ms \(about 24\.8 days\)/
            : /^must be at most 2147483 seconds \(about 24\.8 days\)/,
        ),
      })),
    );
  });

  it("accepts every duration at the longest a timer can hold", () => {
    const dir = tempDir();
    const overrides: Record<string, unknown> = { data_dir: dir };
    for (const path of durations) {
      setPath(overrides, path, path.at(-1)?.endsWith("_ms") === true ? MAX_TIMER_MS : MAX_TIMER_SECONDS);
    }
    const { config } = loadConfig({ env: {}, overrides });
    expect(config.server.heartbeat_interval_seconds).toBe(2_147_483);
    expect(config.homeassistant.registry_debounce_ms).toBe(2_147_483_647);
  });

  it("refuses an mqtt.url the MQTT client cannot parse, beside the other problems and without repeating it", () => {
    const dir = tempDir();
    const issues = issuesOf(() =>
      loadConfig({
        env: { PMA_MQTT_URL: "mqtt://bridge:50%off@127.0.0.1:1883" },
        overrides: { data_dir: dir, server: { port: 70000 } },
      }),
    );
    expect(issues).toEqual([
      expect.objectContaining({ path: "server.port" }),
      {
        path: "mqtt.url",
        message: "is not a URL the MQTT client can use: malformed percent-encoding; write a literal % as %25",
      },
    ]);
    expect(new ConfigError(issues).message).not.toContain("50%off");
  });

  it.each(["mqtt://127.0.0.1\u0000x:1883", "mqtt://[fe80::1%25eth0]:1883"])(
    "refuses the mqtt.url %j",
    (url) => {
      const issues = issuesOf(() =>
        loadConfig({ env: {}, overrides: { data_dir: tempDir(), mqtt: { url } } }),
      );
      expect(issues.map((issue) => issue.path)).toEqual(["mqtt.url"]);
    },
  );

  it("accepts credentials in mqtt.url when a literal % is written %25", () => {
    const url = "mqtt://bridge:50%25off@127.0.0.1:1883";
    const { config } = loadConfig({ env: {}, overrides: { data_dir: tempDir(), mqtt: { url } } });
    expect(config.mqtt.url).toBe(url);
  });
});

describe("maskSecrets", () => {
  it("replaces every secret and leaves the rest", () => {
    const dir = tempDir();
    const { config } = loadConfig({
      env: {},
      overrides: {
        data_dir: dir,
        homeassistant: { url: "http://ha:8123", token: "ha-token-value" },
        mqtt: { password: "mqtt-secret" },
        auth: { jwt_secret: "x".repeat(40), api_keys: [{ name: "tablet", key: "k".repeat(20) }] },
      },
    });
    const text = JSON.stringify(maskSecrets(config));
    for (const secret of ["ha-token-value", "mqtt-secret", "x".repeat(40), "k".repeat(20)]) {
      expect(text).not.toContain(secret);
    }
    expect(text).toContain("http://ha:8123");
    expect(text).toContain('"name":"tablet"');
  });
});

describe("environmentVariables", () => {
  it("derives one PMA_* name per option from the schema", () => {
    const names = environmentVariables().map((v) => v.name);
    expect(names).toEqual(
      expect.arrayContaining([
        "PMA_SERVER_PORT",
        "PMA_SERVER_RATE_LIMIT_MESSAGES_PER_MINUTE",
        "PMA_HOMEASSISTANT_URL",
        "PMA_HOMEASSISTANT_TOKEN",
        "PMA_MQTT_URL",
        "PMA_AUTH_JWT_SECRET",
        "PMA_DATA_DIR",
        "PMA_LOG_LEVEL",
      ]),
    );
    expect(new Set(names).size).toBe(names.length);
  });
});
