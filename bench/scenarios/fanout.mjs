/**
 * Scenario 1, fan-out: the bridge and the two baselines, one after the other, serve the same client plan
 * from the same simulated Home Assistant at each HA event rate. Prints the measurements and the bridge's
 * server CPU per delivery as a ratio to each baseline.
 */
import { listFromEnv, namesFromEnv, numberFromEnv } from "../lib/env.mjs";
import { planClients } from "../lib/mix.mjs";
import { measureStep, SCRIPTS, SERVERS, startHa, startServer } from "../lib/processes.mjs";
import { printTable, ratio } from "../lib/report.mjs";
import { Child } from "../lib/rpc.mjs";

export const TARGETS = { vs_ceiling_max: 1.25, vs_naive_min: 2, p99_ms_max: 25, p99_rate: 500 };

export async function fanout() {
  const settings = {
    clients: numberFromEnv("BENCH_CLIENTS", 1000),
    rates: listFromEnv("BENCH_RATES", [50, 500, 2000]),
    seconds: numberFromEnv("BENCH_STEP_SECONDS", 4),
    entities: numberFromEnv("BENCH_HOME_ENTITIES", 2000),
    servers: namesFromEnv("BENCH_SERVERS", SERVERS, SERVERS),
  };
  const ha = await startHa({ entities: settings.entities });
  const plan = planClients(settings.clients, ha.home);
  const rows = [];
  try {
    for (const kind of settings.servers) {
      const server = await startServer(kind, ha);
      const clients = new Child(SCRIPTS.clients);
      try {
        await clients.call("connect", { baseUrl: server.baseUrl, plan, token: server.token });
        // A short warm-up so JIT compilation is not billed to the first measured rate.
        await measureStep({ server, clients, ha, rate: settings.rates[0], seconds: 1 });
        for (const rate of settings.rates) {
          rows.push(await measureStep({ server, clients, ha, rate, seconds: settings.seconds }));
        }
      } finally {
        await clients.close();
        await server.child.close();
      }
    }
  } finally {
    await ha.child.close();
  }

  const ratios = settings.rates.map((rate) => {
    const at = (kind) => rows.find((r) => r.server === kind && r.rate === rate);
    const bridge = at("bridge");
    return {
      rate,
      bridge_vs_ceiling: ratio(bridge?.cpu_us_per_delivery, at("ceiling")?.cpu_us_per_delivery),
      naive_vs_bridge: ratio(at("naive")?.cpu_us_per_delivery, bridge?.cpu_us_per_delivery),
      bridge_p99_ms: bridge?.latency_ms.p99 ?? null,
      bridge_missing: bridge?.missing ?? null,
    };
  });
  printFanout(settings, rows, ratios);
  return { settings, rows, ratios, targets: TARGETS };
}

export function printFanout(settings, rows, ratios) {
  printTable(
    `Fan-out: ${settings.clients} clients, ${settings.entities}-entity home, ${settings.seconds} s per rate`,
    [
      ["server", (r) => r.server],
      ["HA ev/s", (r) => r.rate],
      ["delivered/s", (r) => r.delivered_per_s],
      ["p50 ms", (r) => r.latency_ms.p50],
      ["p99 ms", (r) => r.latency_ms.p99],
      ["max ms", (r) => r.latency_ms.max],
      ["CPU µs/msg", (r) => r.cpu_us_per_delivery],
      ["server CPU", (r) => r.server_cpu_share],
      ["clients CPU", (r) => r.clients_cpu_share],
      ["RSS MiB", (r) => r.rss_mib],
      ["B/msg", (r) => r.bytes_per_delivery],
      ["missing", (r) => r.missing],
      ["drops", (r) => r.queue?.dropped ?? null],
      ["conflated", (r) => r.queue?.conflated ?? null],
    ],
    rows,
  );
  printTable(
    `Bridge cost per delivery vs the baselines (target: ≤ ${TARGETS.vs_ceiling_max}× ceiling, ≥ ${TARGETS.vs_naive_min}× better than naive)`,
    [
      ["HA ev/s", (r) => r.rate],
      ["bridge ÷ ceiling", (r) => r.bridge_vs_ceiling],
      ["naive ÷ bridge", (r) => r.naive_vs_bridge],
      ["bridge p99 ms", (r) => r.bridge_p99_ms],
      ["bridge missing", (r) => r.bridge_missing],
    ],
    ratios,
  );
}
