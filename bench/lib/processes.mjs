/**
 * Starting the processes a scenario needs (simulated HA, a server under test, the client load) and one
 * measured fan-out step, shared by the fan-out and slow-client scenarios.
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { HaConnection, readHome } from "./ha-client.mjs";
import { Child, sleep } from "./rpc.mjs";

const bench = join(dirname(fileURLToPath(import.meta.url)), "..");
export const SCRIPTS = {
  ha: join(bench, "ha.mjs"),
  clients: join(bench, "clients.mjs"),
  baseline: join(bench, "servers", "baseline.mjs"),
  bridge: join(bench, "servers", "bridge.mjs"),
};

/** The servers a fan-out run compares, in the order they run. */
export const SERVERS = ["ceiling", "naive", "bridge"];

/**
 * Starts the simulated Home Assistant with a generated home of about `entities` entities and reads the
 * home back through the WebSocket API, as a server would.
 */
export async function startHa({ entities, seed = 1 }) {
  const child = new Child(SCRIPTS.ha);
  const { url, token } = await child.call("start", { entities, seed });
  const reader = await HaConnection.open(url, token);
  const home = await readHome(reader);
  reader.close();
  const roomOf = Object.fromEntries(home.entities.map((e) => [e.entity_id, e.room_id]));
  return { child, url, token, home, roomOf };
}

/**
 * Starts one server under test in its own process, connected to the simulated HA.
 * @param {"ceiling" | "naive" | "bridge"} kind
 */
export async function startServer(kind, ha, options = {}) {
  // --expose-gc: `settle()` collects the garbage of connecting and warming up before anything is measured.
  const execArgv = [...new Set(["--expose-gc", ...(options.execArgv ?? [])])];
  const child =
    kind === "bridge"
      ? new Child(SCRIPTS.bridge, { execArgv })
      : new Child(SCRIPTS.baseline, { args: [kind], execArgv });
  const started = await child.call("start", { haUrl: ha.url, haToken: ha.token, ...options.params });
  return { kind, child, baseUrl: `ws://127.0.0.1:${started.port}`, token: started.clientToken ?? "bench" };
}

/**
 * A full GC in the server: what connecting a thousand clients and the warm-up left behind is collected now,
 * not by a major GC in the middle of the first measured steps (which would bill it to the lowest rate).
 */
export async function settle(server) {
  await server.child.call("usage", { collect: true });
}

/**
 * One measured step: the simulated HA emits `rate` state changes per second for `seconds`; the window
 * closes when every healthy client has what it should (or deliveries stop for a second). Server CPU is
 * the server process's own CPU time over the window, divided by the deliveries the clients counted.
 */
export async function measureStep({ server, clients, ha, rate, seconds }) {
  await clients.call("begin");
  // BENCH_CPU_PROF=<dir>: a CPU profile of the server over each measured window; BENCH_HEAP_PROF=<dir>: an
  // allocation profile instead.
  const heap = !process.env.BENCH_CPU_PROF && Boolean(process.env.BENCH_HEAP_PROF);
  const profileDir = process.env.BENCH_CPU_PROF || process.env.BENCH_HEAP_PROF;
  if (profileDir) await server.child.call("profileStart", { heap });
  const before = await server.child.call("usage");
  const clientsBefore = await clients.call("usage");
  const drive = await ha.child.call("drive", { rate, seconds });
  const { expected } = await clients.call("check", { emitted: drive.emitted, roomOf: ha.roomOf });
  await drained(clients, expected);
  const after = await server.child.call("usage");
  const clientsAfter = await clients.call("usage");
  if (profileDir) {
    const file = join(
      profileDir,
      `${server.kind}-${rate}-${Date.now()}.${heap ? "heapprofile" : "cpuprofile"}`,
    );
    await server.child.call("profileStop", { file, heap });
  }
  const window = await clients.call("end");
  const check = await clients.call("check", { emitted: drive.emitted, roomOf: ha.roomOf });
  // A server still behind sends the rest now: let it finish, so it does not spill into the next step.
  await quiet(clients);
  const queue = server.kind === "bridge" ? await server.child.call("queueCounters") : null;
  const delivered = window.deliveries + window.slowDeliveries;
  const spanSeconds = window.first === null ? null : Math.max(seconds, (window.last - window.first) / 1000);
  return {
    server: server.kind,
    rate,
    emitted: drive.count,
    achieved_rate: drive.count / drive.seconds,
    delivered,
    delivered_per_s: spanSeconds === null ? 0 : window.deliveries / spanSeconds,
    latency_ms: window.latency,
    cpu_us_per_delivery: delivered === 0 ? null : (after.cpuMicros - before.cpuMicros) / delivered,
    server_cpu_share: (after.cpuMicros - before.cpuMicros) / 1000 / (after.at - before.at),
    clients_cpu_share:
      (clientsAfter.cpuMicros - clientsBefore.cpuMicros) / 1000 / (clientsAfter.at - clientsBefore.at),
    rss_mib: after.rss / 2 ** 20,
    bytes_per_delivery: window.deliveries === 0 ? null : window.bytes / window.deliveries,
    expected: check.expected,
    missing: check.missing,
    clients_short: check.short,
    clients_closed: window.closed,
    queue,
  };
}

/** Waits until no delivery has arrived for half a second (or `capMs`). */
export async function quiet(clients, capMs = 30_000) {
  const deadline = Date.now() + capMs;
  let last = -1;
  while (Date.now() < deadline) {
    const count = await clients.call("count");
    if (count === last) return;
    last = count;
    await sleep(500);
  }
}

async function drained(clients, expected, capMs = 10_000) {
  const deadline = Date.now() + capMs;
  let last = -1;
  let stableSince = Date.now();
  while (Date.now() < deadline) {
    const count = await clients.call("count");
    if (count >= expected) return;
    if (count !== last) {
      last = count;
      stableSince = Date.now();
    } else if (Date.now() - stableSince > 1000) return;
    await sleep(50);
  }
}
