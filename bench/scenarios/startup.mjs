/**
 * Scenario 4, start-up: time from spawning `pma-bridge run` (the real CLI, a fresh Node process) to the
 * first 200 from `/healthz`, against simulated homes of different sizes. The floor is the time a bare
 * Node process takes to answer its first HTTP request, measured the same way in the same run.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { listFromEnv, numberFromEnv } from "../lib/env.mjs";
import { startHa } from "../lib/processes.mjs";
import { median, printTable, ratio } from "../lib/report.mjs";
import { nowMs, sleep } from "../lib/rpc.mjs";

export const TARGET_READY_MS = 1500;
const cli = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "dist", "cli.js");
const NODE_FLOOR = `require("node:http").createServer((q, s) => s.end("ok")).listen(Number(process.argv[1]), "127.0.0.1")`;

export async function startup() {
  const settings = {
    sizes: listFromEnv("BENCH_STARTUP_SIZES", [200, 2000]),
    repeats: numberFromEnv("BENCH_STARTUP_REPEATS", 3),
  };
  const rows = [];
  const floor = [];
  for (let i = 0; i < settings.repeats; i++) {
    const port = await freePort();
    floor.push((await timeToReady(["-e", NODE_FLOOR, String(port)], port)).ready_ms);
  }
  const floorMs = median(floor);
  for (const size of settings.sizes) {
    const ha = await startHa({ entities: size });
    const dir = mkdtempSync(join(tmpdir(), "pma-bench-startup-"));
    try {
      const samples = [];
      for (let i = 0; i < settings.repeats; i++) {
        const port = await freePort();
        const config = join(dir, "config.json");
        writeFileSync(
          config,
          JSON.stringify({
            server: { host: "127.0.0.1", port },
            homeassistant: { url: ha.url, token: ha.token },
            auth: {
              jwt_secret: "bench-startup-secret-0123456789abcdef",
              api_keys: [{ name: "bench", key: "bench-startup-key-0123456789" }],
            },
            data_dir: join(dir, `data-${i}`),
            log_level: "warn",
            log_format: "json",
          }),
        );
        samples.push(await timeToReady([cli, "run", "--config", config], port));
      }
      rows.push({
        entities: ha.home.entities.length,
        rooms: ha.home.rooms.length,
        listening_ms: median(samples.map((s) => s.listening_ms)),
        ready_ms: median(samples.map((s) => s.ready_ms)),
        samples_ms: samples.map((s) => s.ready_ms),
        node_floor_ms: floorMs,
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await ha.child.close();
    }
  }
  for (const row of rows) row.vs_node_floor = ratio(row.ready_ms, floorMs);
  printTable(
    `Start-up: process start to /healthz ready (median of ${settings.repeats}; target ≤ ${TARGET_READY_MS} ms at 2,000 entities)`,
    [
      ["entities", (r) => r.entities],
      ["rooms", (r) => r.rooms],
      ["first HTTP answer ms", (r) => r.listening_ms],
      ["ready ms", (r) => r.ready_ms],
      ["bare Node ms", (r) => r.node_floor_ms],
      ["ready ÷ bare Node", (r) => r.vs_node_floor],
    ],
    rows,
  );
  return { settings, rows, node_floor_ms: floorMs, target_ready_ms: TARGET_READY_MS };
}

/** Spawns a process and polls its `/healthz` until it answers 200; then stops it. */
async function timeToReady(args, port, capMs = 30_000) {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !/^(PMA_|WEBSOCKET_API_|SUPERVISOR_TOKEN)/.test(key)),
  );
  const started = nowMs();
  const child = spawn(process.execPath, args, { env, stdio: ["ignore", "ignore", "inherit"] });
  const exited = new Promise((resolve) => child.once("exit", resolve));
  let listening = null;
  try {
    while (nowMs() - started < capMs) {
      const status = await probe(port);
      if (status !== null) listening ??= nowMs() - started;
      if (status === 200) return { listening_ms: listening, ready_ms: nowMs() - started };
      if (child.exitCode !== null) throw new Error(`${args.join(" ")} exited with ${child.exitCode}`);
      await sleep(5);
    }
    throw new Error(`not ready within ${capMs} ms: ${args.join(" ")}`);
  } finally {
    child.kill("SIGTERM");
    await exited;
  }
}

/** The `/healthz` status code, or null when nothing answers yet. */
function probe(port) {
  return new Promise((resolve) => {
    const req = request({ host: "127.0.0.1", port, path: "/healthz", timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? null);
    });
    req.on("error", () => resolve(null));
    req.on("timeout", () => req.destroy());
    req.end();
  });
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}
