/**
 * Scenario 1, fan-out: the bridge and the two baselines, one after the other, serve the same client plan
 * from the same simulated Home Assistant at each HA event rate. Prints the measurements and the bridge's
 * server CPU per delivery as a ratio to each baseline.
 */
import { listFromEnv, namesFromEnv, numberFromEnv } from "../lib/env.mjs";
import { planClients } from "../lib/mix.mjs";
import { measureStep, SCRIPTS, SERVERS, settle, startHa, startServer } from "../lib/processes.mjs";
import { median, printTable, ratio } from "../lib/report.mjs";
import { Child } from "../lib/rpc.mjs";

export const TARGETS = { vs_ceiling_max: 1.25, vs_naive_min: 2, p99_ms_max: 25, p99_rate: 500 };

export async function fanout() {
  const settings = {
    clients: numberFromEnv("BENCH_CLIENTS", 1000),
    rates: listFromEnv("BENCH_RATES", [50, 500, 2000]),
    seconds: numberFromEnv("BENCH_STEP_SECONDS", 2),
    repeats: numberFromEnv("BENCH_REPEATS", 3),
    entities: numberFromEnv("BENCH_HOME_ENTITIES", 2000),
    servers: namesFromEnv("BENCH_SERVERS", SERVERS, SERVERS),
  };
  // Every server gets its own simulated HA (same home, same seeded activity) and its own client process,
  // all started up front. Steps then alternate between the servers, so that each one is measured under
  // the same background load; each number is the median of `repeats` steps.
  const setups = [];
  const samples = [];
  try {
    for (const kind of settings.servers) {
      const ha = await startHa({ entities: settings.entities });
      const setup = { kind, ha };
      setups.push(setup);
      setup.server = await startServer(kind, ha);
      setup.clients = new Child(SCRIPTS.clients);
      const plan = planClients(settings.clients, ha.home);
      await setup.clients.call("connect", { baseUrl: setup.server.baseUrl, plan, token: setup.server.token });
      // A short warm-up so JIT compilation is not billed to the first measured step.
      await measureStep({ ...setup, rate: settings.rates[0], seconds: 1 });
      await settle(setup.server);
    }
    for (const rate of settings.rates) {
      for (let repeat = 0; repeat < settings.repeats; repeat++) {
        // Rotate the order too, so no server is always measured right after the same one.
        for (let i = 0; i < setups.length; i++) {
          const setup = setups[(i + repeat) % setups.length];
          samples.push(await measureStep({ ...setup, rate, seconds: settings.seconds }));
        }
      }
    }
  } finally {
    for (const setup of setups) {
      await setup.clients?.close();
      await setup.server?.child.close();
      await setup.ha.child.close();
    }
  }
  const rows = settings.servers.flatMap((kind) =>
    settings.rates.map((rate) => summarise(samples.filter((s) => s.server === kind && s.rate === rate))),
  );

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

/** One row per server and rate: medians over the repeated steps; losses and maxima over all of them. */
function summarise(steps) {
  const mid = (get) => median(steps.map(get).filter((v) => v !== null && v !== undefined));
  const sum = (get) => steps.reduce((total, s) => total + (get(s) ?? 0), 0);
  return {
    server: steps[0].server,
    rate: steps[0].rate,
    steps: steps.length,
    delivered_per_s: mid((s) => s.delivered_per_s),
    latency_ms: {
      p50: mid((s) => s.latency_ms.p50),
      p99: mid((s) => s.latency_ms.p99),
      max: Math.max(...steps.map((s) => s.latency_ms.max ?? 0)),
    },
    cpu_us_per_delivery: mid((s) => s.cpu_us_per_delivery),
    cpu_us_per_delivery_samples: steps.map((s) => s.cpu_us_per_delivery),
    server_cpu_share: mid((s) => s.server_cpu_share),
    clients_cpu_share: mid((s) => s.clients_cpu_share),
    rss_mib: Math.max(...steps.map((s) => s.rss_mib)),
    bytes_per_delivery: mid((s) => s.bytes_per_delivery),
    expected: sum((s) => s.expected),
    missing: sum((s) => s.missing),
    queue: steps.at(-1).queue,
  };
}

export function printFanout(settings, rows, ratios) {
  printTable(
    `Fan-out: ${settings.clients} clients, ${settings.entities}-entity home; median of ${settings.repeats} interleaved ${settings.seconds}-s steps per cell`,
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
