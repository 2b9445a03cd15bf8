/**
 * `npm run bench [-- scenario...]`: runs the benchmark scenarios (all by default), prints one table per
 * scenario and writes every number to bench/results/latest.json. Durations and sizes come from BENCH_*
 * environment variables (see docs/performance.md); the defaults fit the whole run in under five minutes
 * on two cores. Benchmarks are not tests: nothing here asserts a time.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
/** Scenario name → [module, exported function]; modules load only when their scenario runs. */
const SCENARIOS = {
  fanout: ["./scenarios/fanout.mjs", "fanout"],
  idle: ["./scenarios/idle.mjs", "idle"],
  ingest: ["./scenarios/ingest.mjs", "ingest"],
  startup: ["./scenarios/startup.mjs", "startup"],
  slow: ["./scenarios/slow.mjs", "slowClients"],
};

function machine() {
  let model = cpus()[0]?.model ?? "unknown";
  try {
    const line = execFileSync("lscpu", { encoding: "utf8" })
      .split("\n")
      .find((l) => l.startsWith("Model name:"));
    if (line !== undefined) model = line.slice("Model name:".length).trim();
  } catch {
    // lscpu is missing on some systems; os.cpus() already gave a model name.
  }
  let nproc = cpus().length;
  try {
    nproc = Number(execFileSync("nproc", { encoding: "utf8" }).trim());
  } catch {
    // as above
  }
  return { nproc, cpu_model: model, node: process.version, memory_gib: Math.round(totalmem() / 2 ** 30) };
}

async function main() {
  const requested = process.argv.slice(2);
  const unknown = requested.filter((name) => !(name in SCENARIOS));
  if (unknown.length > 0) {
    process.stderr.write(
      `unknown scenario ${unknown.join(", ")}; choose from ${Object.keys(SCENARIOS).join(", ")}\n`,
    );
    process.exit(2);
  }
  if (!existsSync(join(here, "..", "dist", "main.js"))) {
    process.stderr.write("dist/ is missing: run `npm run build` first (npm run bench does).\n");
    process.exit(2);
  }
  const names = requested.length > 0 ? requested : Object.keys(SCENARIOS);
  const info = machine();
  process.stdout.write(
    `PMA Bridge benchmarks on ${info.nproc} CPU(s), ${info.cpu_model}, Node ${info.node}, ${info.memory_gib} GiB\n`,
  );
  const started = Date.now();
  const results = { started_at: new Date(started).toISOString(), machine: info, scenarios: {} };
  for (const name of names) {
    const t0 = Date.now();
    const [module, exported] = SCENARIOS[name];
    results.scenarios[name] = await (await import(module))[exported]();
    process.stdout.write(`(${name}: ${((Date.now() - t0) / 1000).toFixed(1)} s)\n`);
  }
  results.total_seconds = (Date.now() - started) / 1000;
  const out = join(here, "results");
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, "latest.json"), `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write(
    `\nall done in ${results.total_seconds.toFixed(1)} s; results in bench/results/latest.json\n`,
  );
}

await main();
