/**
 * `node bench/markdown.mjs [results.json]`: prints the results of a benchmark run (default
 * bench/results/latest.json) as the Markdown tables docs/performance.md publishes.
 */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { fmt } from "./lib/report.mjs";

const file = process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), "results", "latest.json");
const results = JSON.parse(readFileSync(file, "utf8"));
const out = [];

function table(columns, rows) {
  const cell = (value) =>
    typeof value === "number" || value === null || value === undefined ? fmt(value) : value;
  out.push(`| ${columns.map(([header]) => header).join(" | ")} |`);
  out.push(`| ${columns.map(([, , align]) => (align === "left" ? "---" : "---:")).join(" | ")} |`);
  for (const row of rows) out.push(`| ${columns.map(([, get]) => cell(get(row))).join(" | ")} |`);
  out.push("");
}

const { machine, started_at: startedAt, total_seconds: total } = results;
out.push(
  `Run of ${startedAt}: ${machine.nproc} CPUs (\`nproc\`), ${machine.cpu_model} (\`lscpu\`), Node ${machine.node}, ` +
    `${machine.memory_gib} GiB; ${fmt(total, 0)} s in all.`,
  "",
);
const { fanout, idle, ingest, startup, slow } = results.scenarios;
if (fanout !== undefined) {
  const s = fanout.settings;
  out.push(
    `**Fan-out** (${s.clients} clients, ${s.entities}-entity home, median of ${s.repeats} × ${s.seconds} s steps):`,
    "",
  );
  table(
    [
      ["server", (r) => r.server, "left"],
      ["HA ev/s", (r) => r.rate],
      ["delivered/s", (r) => r.delivered_per_s],
      ["p50 ms", (r) => r.latency_ms.p50],
      ["p99 ms", (r) => r.latency_ms.p99],
      ["max ms", (r) => r.latency_ms.max],
      ["server CPU µs/delivery", (r) => r.cpu_us_per_delivery],
      ["RSS MiB", (r) => r.rss_mib],
      ["bytes/delivery", (r) => r.bytes_per_delivery],
      ["missing", (r) => r.missing],
      ["dropped", (r) => r.queue?.dropped ?? null],
      ["conflated", (r) => r.queue?.conflated ?? null],
    ],
    fanout.rows,
  );
  table(
    [
      ["HA ev/s", (r) => r.rate],
      ["bridge ÷ ceiling", (r) => r.bridge_vs_ceiling],
      ["naive ÷ bridge", (r) => r.naive_vs_bridge],
    ],
    fanout.ratios,
  );
}
if (idle !== undefined) {
  out.push("**Idle connections** (after a full GC; marginal = from the first level on):", "");
  table(
    [
      ["server", (r) => (r.server === "ceiling" ? "bare ws" : r.server), "left"],
      ["connections", (r) => r.connections],
      ["RSS KiB/conn", (r) => r.rss_kib_per_connection],
      ["heap KiB/conn", (r) => r.heap_kib_per_connection],
      ["marginal RSS KiB", (r) => r.marginal_rss_kib],
      ["marginal heap KiB", (r) => r.marginal_heap_kib],
    ],
    idle.rows,
  );
}
if (ingest !== undefined) {
  out.push(`**Ingest** (${ingest.settings.clients} subscribers, CPU time of one process):`, "");
  table(
    [
      ["stage (cumulative)", (r) => r.stage, "left"],
      ["events/s per core", (r) => r.events_per_cpu_second],
      ["µs/event", (r) => r.cpu_us_per_event],
      ["deliveries/event", (r) => r.deliveries_per_event],
    ],
    ingest.stages,
  );
}
if (startup !== undefined) {
  out.push(`**Start-up** (median of ${startup.settings.repeats}):`, "");
  table(
    [
      ["entities", (r) => r.entities],
      ["rooms", (r) => r.rooms],
      ["first HTTP answer ms", (r) => r.listening_ms],
      ["/healthz ready ms", (r) => r.ready_ms],
      ["bare Node ms", (r) => r.node_floor_ms],
    ],
    startup.rows,
  );
}
if (slow !== undefined) {
  out.push(
    `**Slow clients** (${slow.settings.rate} HA ev/s, median of ${slow.settings.repeats} steps per phase):`,
    "",
  );
  table(
    [
      ["phase", (r) => r.phase, "left"],
      ["delivered/s", (r) => r.delivered_per_s],
      ["p50 ms", (r) => r.latency_ms.p50],
      ["p99 ms", (r) => r.latency_ms.p99],
      ["missing (healthy)", (r) => r.missing],
      ["dropped", (r) => r.queue?.dropped ?? null],
      ["conflated", (r) => r.queue?.conflated ?? null],
    ],
    slow.rows,
  );
  out.push(`Healthy p99 with slow clients ÷ without: ${fmt(slow.p99_ratio)}.`, "");
}
process.stdout.write(`${out.join("\n")}\n`);
