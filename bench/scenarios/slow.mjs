/**
 * Scenario 5, slow clients: the bridge's fan-out latency for healthy clients, first with every client
 * reading, then while every tenth client has stopped reading (its socket paused, so the kernel buffers
 * fill and the bridge sees back-pressure). Same clients, same rate, same process. The two phases alternate
 * (the paused clients read again and catch up in between), and each row is the median of the repeats.
 */
import { numberFromEnv } from "../lib/env.mjs";
import { planClients } from "../lib/mix.mjs";
import { measureStep, quiet, SCRIPTS, settle, startHa, startServer } from "../lib/processes.mjs";
import { median, printTable, ratio } from "../lib/report.mjs";
import { Child } from "../lib/rpc.mjs";

export const TARGET_P99_RATIO = 1.2;

export async function slowClients() {
  const settings = {
    clients: numberFromEnv("BENCH_CLIENTS", 1000),
    rate: numberFromEnv("BENCH_SLOW_RATE", 500),
    seconds: numberFromEnv("BENCH_SLOW_SECONDS", 4),
    // p99 over a few seconds swings with the shared machine: more repeats than fan-out, compared by median.
    repeats: numberFromEnv("BENCH_SLOW_REPEATS", 5),
    stride: 10,
    entities: numberFromEnv("BENCH_HOME_ENTITIES", 2000),
  };
  const ha = await startHa({ entities: settings.entities });
  const plan = planClients(settings.clients, ha.home);
  const steps = [];
  try {
    const server = await startServer("bridge", ha);
    const clients = new Child(SCRIPTS.clients);
    try {
      await clients.call("connect", { baseUrl: server.baseUrl, plan, token: server.token });
      const step = { server, clients, ha, rate: settings.rate, seconds: settings.seconds };
      await measureStep({ ...step, seconds: 1 });
      await settle(server);
      for (let repeat = 0; repeat < settings.repeats; repeat++) {
        steps.push({ phase: "all reading", ...(await measureStep(step)) });
        const { paused } = await clients.call("pause", { stride: settings.stride });
        steps.push({ phase: `${paused} stopped reading`, ...(await measureStep(step)) });
        await clients.call("resume");
        await quiet(clients);
      }
    } finally {
      await clients.close();
      await server.child.close();
    }
  } finally {
    await ha.child.close();
  }
  const rows = [...new Set(steps.map((s) => s.phase))].map((phase) =>
    summarise(steps.filter((s) => s.phase === phase)),
  );
  const [healthy, slow] = rows;
  const p99Ratio = ratio(slow?.latency_ms.p99, healthy?.latency_ms.p99);
  printTable(
    `Slow clients: healthy clients' latency at ${settings.rate} HA ev/s while 10% stop reading (target p99 ratio ≤ ${TARGET_P99_RATIO})`,
    [
      ["phase", (r) => r.phase],
      ["delivered/s", (r) => r.delivered_per_s],
      ["p50 ms", (r) => r.latency_ms.p50],
      ["p99 ms", (r) => r.latency_ms.p99],
      ["max ms", (r) => r.latency_ms.max],
      ["missing (healthy)", (r) => r.missing],
      ["drops", (r) => r.queue?.dropped ?? null],
      ["conflated", (r) => r.queue?.conflated ?? null],
      ["closed", (r) => r.clients_closed],
      ["RSS MiB", (r) => r.rss_mib],
    ],
    rows,
  );
  process.stdout.write(
    `healthy p99 with slow clients ÷ without: ${p99Ratio === null ? "-" : p99Ratio.toFixed(2)}\n`,
  );
  return { settings, rows, steps, p99_ratio: p99Ratio, target_p99_ratio: TARGET_P99_RATIO };
}

/** Medians over the repeated steps of one phase; the bridge's counters as they stood after the last. */
function summarise(steps) {
  const mid = (get) => median(steps.map(get).filter((v) => v !== null && v !== undefined));
  return {
    phase: steps[0].phase,
    delivered_per_s: mid((s) => s.delivered_per_s),
    latency_ms: {
      p50: mid((s) => s.latency_ms.p50),
      p99: mid((s) => s.latency_ms.p99),
      max: mid((s) => s.latency_ms.max),
    },
    missing: steps.reduce((sum, s) => sum + s.missing, 0),
    clients_closed: Math.max(...steps.map((s) => s.clients_closed)),
    rss_mib: Math.max(...steps.map((s) => s.rss_mib)),
    queue: steps.at(-1).queue,
  };
}
