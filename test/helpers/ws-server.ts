import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { type Config, type ConfigInput, configSchema } from "../../src/config/schema.js";
import type { NewBridgeEvent } from "../../src/core/events.js";
import { HealthRegistry } from "../../src/core/health.js";
import type { HomeDirectory } from "../../src/core/home.js";
import { Hub } from "../../src/core/hub.js";
import { createLogger } from "../../src/core/logger.js";
import { mintToken } from "../../src/server/auth/jwt.js";
import { BridgeServer } from "../../src/server/bridge-server.js";
import { HttpListener } from "../../src/server/http.js";
import { TestClient } from "./ws-client.js";

export const ADMIN_KEY = "admin-key-0123456789abcdef";
export const JWT_SECRET = "test-secret-0123456789abcdef0123456789";

export interface TestServer {
  readonly hub: Hub;
  readonly server: BridgeServer;
  readonly listener: HttpListener;
  readonly config: Config;
  readonly dataDir: string;
  /** Error-level log lines the server wrote: a clean run has none. */
  readonly errors: string[];
  url(path: string): string;
  http(path: string, headers?: Record<string, string>): Promise<Response>;
  connect(path: string): Promise<TestClient>;
  publish(event: NewBridgeEvent): void;
  token(claims: {
    subject?: string;
    capabilities?: string[];
    rooms?: string[];
    expiresInSeconds?: number | null;
  }): Promise<string>;
  stop(): Promise<void>;
}

export interface TestServerOptions {
  readonly config?: ConfigInput;
  /** Applied after validation, to use sub-second timings the schema would refuse. */
  readonly tune?: (config: Config) => Config;
  readonly home?: HomeDirectory;
  /** A data directory to use and keep (e.g. to start a second server on the first one's state). */
  readonly dataDir?: string;
}

/** A real BridgeServer on 127.0.0.1:0 with an admin key, a JWT secret and an in-process event source (the hub). */
export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), "pma-bridge-server-"));
  const input = options.config ?? {};
  const parsed = configSchema.parse({
    ...input,
    data_dir: dataDir,
    server: { host: "127.0.0.1", port: 0, ...input.server },
    auth: {
      api_keys: [{ name: "admin", key: ADMIN_KEY }],
      jwt_secret: JWT_SECRET,
      ...input.auth,
    },
  });
  const config = options.tune ? options.tune(parsed) : parsed;
  const errors: string[] = [];
  const log = createLogger({
    level: "error",
    format: "json",
    destination: new Writable({
      write(chunk, _encoding, done) {
        errors.push(String(chunk));
        done();
      },
    }),
  });
  const hub = new Hub({ log });
  const health = new HealthRegistry();
  const server = new BridgeServer({ config, hub, health, home: options.home, log, version: "test" });
  const listener = new HttpListener({ name: "test", host: "127.0.0.1", port: 0 }, log);
  server.attach(listener);
  await hub.start();
  await server.start();
  await listener.start();
  const clients: TestClient[] = [];
  const base = `127.0.0.1:${listener.port()}`;
  return {
    hub,
    server,
    listener,
    config,
    dataDir,
    errors,
    url: (path) => `ws://${base}${path}`,
    http: (path, headers = {}) => fetch(`http://${base}${path}`, { headers }),
    connect: async (path) => {
      const client = await TestClient.connect(`ws://${base}${path}`);
      clients.push(client);
      return client;
    },
    publish: (event) => hub.publish(event),
    token: (claims) =>
      mintToken(JWT_SECRET, {
        subject: claims.subject ?? "tester",
        capabilities: claims.capabilities ?? [],
        rooms: claims.rooms ?? [],
        expiresInSeconds: claims.expiresInSeconds === undefined ? 3600 : claims.expiresInSeconds,
      }),
    stop: async () => {
      for (const client of clients) client.ws.terminate();
      await server.stop();
      await listener.stop();
      await hub.stop();
      if (options.dataDir === undefined) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
