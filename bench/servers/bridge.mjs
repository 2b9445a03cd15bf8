/**
 * The bridge under test: `startBridge()` from dist/, exactly as the CLI runs it, with a configuration
 * pointing at the simulated Home Assistant and limits raised for the load (connection caps, inbound
 * rate limit). Clients authenticate with a token minted for the run. Driven over IPC by bench/run.mjs.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../dist/config/load.js";
import { CAPABILITIES } from "../../dist/config/schema.js";
import { createLogger } from "../../dist/core/logger.js";
import { startBridge } from "../../dist/main.js";
import { mintToken } from "../../dist/server/auth/jwt.js";
import { serve, sleep } from "../lib/rpc.mjs";

let bridge;
let dataDir;
let adminToken;

/** The bridge's own counters of conflated and dropped messages, from its Prometheus endpoint. */
async function queueCounters() {
  const res = await fetch(`http://127.0.0.1:${bridge.port()}/metrics`, {
    headers: { authorization: `Bearer ${adminToken}` },
  });
  if (!res.ok) return { dropped: null, conflated: null, closed_slow: null };
  const lines = (await res.text()).split("\n").filter((line) => !line.startsWith("#"));
  const sum = (pattern) => {
    let total = null;
    for (const line of lines.filter((l) => pattern.test(l.slice(0, l.lastIndexOf(" "))))) {
      total = (total ?? 0) + Number(line.slice(line.lastIndexOf(" ") + 1));
    }
    return total;
  };
  return { dropped: sum(/drop/), conflated: sum(/conflat/), closed_slow: sum(/slow/) };
}

serve(
  {
    async start({ haUrl, haToken, server = {} }) {
      dataDir = mkdtempSync(join(tmpdir(), "pma-bench-bridge-"));
      const secret = randomBytes(32).toString("hex");
      const loaded = loadConfig({
        env: {},
        overrides: {
          server: {
            host: "127.0.0.1",
            port: 0,
            max_connections: 50_000,
            max_connections_per_ip: 50_000,
            connection_attempts_per_minute: 1_000_000,
            rate_limit: { messages_per_minute: 100_000 },
            ...server,
          },
          // A configured key, so the bridge does not generate (and announce) one in the data dir.
          auth: { jwt_secret: secret, api_keys: [{ name: "bench", key: randomBytes(24).toString("hex") }] },
          homeassistant: { url: haUrl, token: haToken },
          data_dir: dataDir,
          log_level: "warn",
          log_format: "json",
        },
      });
      const log = createLogger({ level: "warn", format: "json" });
      bridge = await startBridge(loaded, log);
      const deadline = Date.now() + 60_000;
      while (!bridge.health.report().ready) {
        if (Date.now() > deadline)
          throw new Error(`bridge not ready: ${bridge.health.report().reasons.join("; ")}`);
        await sleep(20);
      }
      const claims = { subject: "bench", capabilities: [...CAPABILITIES], rooms: [], expiresInSeconds: 3600 };
      adminToken = await mintToken(secret, claims);
      return { port: bridge.port(), clientToken: adminToken };
    },
    queueCounters,
  },
  async () => {
    await bridge?.stop();
    if (dataDir !== undefined) rmSync(dataDir, { recursive: true, force: true });
  },
);
