/**
 * Scenario 3, ingest: how many Home Assistant changes per second one core turns into routed, encoded
 * messages, with no network. Runs in its own process (scenarios/ingest-worker.mjs) so the numbers are that
 * process's CPU time alone.
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { numberFromEnv } from "../lib/env.mjs";
import { printTable } from "../lib/report.mjs";
import { Child } from "../lib/rpc.mjs";

export const TARGET_EVENTS_PER_SECOND = 200_000;
const worker = join(dirname(fileURLToPath(import.meta.url)), "ingest-worker.mjs");

export async function ingest() {
  const settings = {
    frames: numberFromEnv("BENCH_INGEST_FRAMES", 20_000),
    seconds: numberFromEnv("BENCH_INGEST_SECONDS", 2),
    clients: numberFromEnv("BENCH_CLIENTS", 1000),
    entities: numberFromEnv("BENCH_HOME_ENTITIES", 2000),
  };
  // BENCH_CPU_PROF=<dir>: a CPU profile of the whole worker (all stages) when it exits.
  const profileDir = process.env.BENCH_CPU_PROF;
  const child = new Child(worker, {
    execArgv: profileDir ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}`] : [],
  });
  let result;
  try {
    result = await child.call("run", settings);
  } finally {
    await child.close();
  }
  printTable(
    `Ingest: recorded subscribe_entities frames → parse → home model → hub (${settings.clients} subscribers) → encode, one core (target ≥ ${TARGET_EVENTS_PER_SECOND.toLocaleString("en-US")} events/s through "normalise + route")`,
    [
      ["stage (cumulative)", (r) => r.stage],
      ["events/s per core", (r) => r.events_per_cpu_second],
      ["µs/event", (r) => r.cpu_us_per_event],
      ["deliveries/event", (r) => r.deliveries_per_event],
    ],
    result.stages,
  );
  return { settings, ...result, target_events_per_second: TARGET_EVENTS_PER_SECOND };
}
