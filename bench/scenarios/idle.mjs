/**
 * Scenario 2, idle connections: memory per idle, authenticated, subscribed connection at growing
 * connection counts, for the bridge and for the bare `ws` server (the floor for this stack). Both run with
 * `--expose-gc` so each reading is taken after a full collection.
 */
import { listFromEnv, numberFromEnv } from "../lib/env.mjs";
import { planClients } from "../lib/mix.mjs";
import { SCRIPTS, startHa, startServer } from "../lib/processes.mjs";
import { KiB, printTable, ratio } from "../lib/report.mjs";
import { Child, sleep } from "../lib/rpc.mjs";

export const TARGET_KIB_PER_CONNECTION = 15;

export async function idle() {
  const settings = {
    levels: listFromEnv("BENCH_IDLE_LEVELS", [1000, 5000, 10000]),
    entities: numberFromEnv("BENCH_HOME_ENTITIES", 2000),
  };
  const ha = await startHa({ entities: settings.entities });
  const top = Math.max(...settings.levels);
  const plan = planClients(top, ha.home, 11);
  const rows = [];
  try {
    for (const kind of ["ceiling", "bridge"]) {
      const server = await startServer(kind, ha, { execArgv: ["--expose-gc"] });
      const clients = new Child(SCRIPTS.clients);
      try {
        const empty = await server.child.call("usage", { collect: true });
        let open = 0;
        for (const level of [...settings.levels].sort((a, b) => a - b)) {
          const connected = await clients.call("connect", {
            baseUrl: server.baseUrl,
            plan: plan.slice(open, level),
            token: server.token,
          });
          const first = rows.find((r) => r.server === kind) ?? null;
          await sleep(500);
          const now = await server.child.call("usage", { collect: true });
          rows.push({
            server: kind,
            connections: level,
            connect_seconds: connected.ms / 1000,
            rss_kib_per_connection: (now.rss - empty.rss) / level / KiB,
            heap_kib_per_connection: (now.heapUsed - empty.heapUsed) / level / KiB,
            external_kib_per_connection: (now.external - empty.external) / level / KiB,
            rss_mib: now.rss / 2 ** 20,
            rss: now.rss,
            heap: now.heapUsed,
            // What one more connection costs, from the first level to this one (fixed costs excluded).
            marginal_rss_kib:
              first === null ? null : (now.rss - first.rss) / (level - first.connections) / KiB,
            marginal_heap_kib:
              first === null ? null : (now.heapUsed - first.heap) / (level - first.connections) / KiB,
          });
          open = level;
        }
      } finally {
        await clients.close();
        await server.child.close();
      }
    }
  } finally {
    await ha.child.close();
  }
  for (const row of rows) {
    const floor = rows.find((r) => r.server === "ceiling" && r.connections === row.connections);
    row.rss_vs_ws = ratio(row.rss_kib_per_connection, floor?.rss_kib_per_connection);
    row.heap_vs_ws = ratio(row.heap_kib_per_connection, floor?.heap_kib_per_connection);
  }
  printTable(
    `Idle connections: memory per authenticated, subscribed connection (target ≤ ${TARGET_KIB_PER_CONNECTION} KB; "ws" = bare ws server)`,
    [
      ["server", (r) => (r.server === "ceiling" ? "ws" : r.server)],
      ["connections", (r) => r.connections],
      ["RSS KiB/conn", (r) => r.rss_kib_per_connection],
      ["heap KiB/conn", (r) => r.heap_kib_per_connection],
      ["marginal RSS KiB", (r) => r.marginal_rss_kib],
      ["marginal heap KiB", (r) => r.marginal_heap_kib],
      ["external KiB/conn", (r) => r.external_kib_per_connection],
      ["RSS MiB", (r) => r.rss_mib],
      ["RSS ÷ ws", (r) => r.rss_vs_ws],
      ["heap ÷ ws", (r) => r.heap_vs_ws],
      ["connect s", (r) => r.connect_seconds],
    ],
    rows,
  );
  return { settings, rows, target_kib_per_connection: TARGET_KIB_PER_CONNECTION };
}
