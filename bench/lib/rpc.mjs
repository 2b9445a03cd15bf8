/**
 * Parent/child plumbing for the benchmark processes. Each server under test and the client load run in
 * their own child process so that CPU and memory numbers are attributable; the orchestrator drives them
 * with small request/response messages over the IPC channel.
 */
import { fork } from "node:child_process";
import { writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";

/** A running child process that answers `call(cmd, params)`. */
export class Child {
  #process;
  #pending = new Map();
  #nextId = 1;
  #exited;

  /**
   * @param {string} script path of the child's module
   * @param {{ args?: string[], env?: Record<string, string>, execArgv?: string[] }} [options]
   */
  constructor(script, options = {}) {
    this.#process = fork(script, options.args ?? [], {
      env: { ...process.env, ...options.env },
      execArgv: options.execArgv ?? [],
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    this.#process.on("message", (message) => {
      const waiter = this.#pending.get(message.id);
      if (waiter === undefined) return;
      this.#pending.delete(message.id);
      if (message.error !== undefined) waiter.reject(new Error(`${script}: ${message.error}`));
      else waiter.resolve(message.result);
    });
    this.#exited = new Promise((resolve) => {
      this.#process.once("exit", (code, signal) => {
        for (const waiter of this.#pending.values()) {
          waiter.reject(new Error(`${script} exited (code ${code}, signal ${signal})`));
        }
        this.#pending.clear();
        resolve();
      });
    });
  }

  get pid() {
    return this.#process.pid;
  }

  /** Sends a command and resolves with the child's answer. */
  call(cmd, params = {}) {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#process.send({ id, cmd, params }, (error) => {
        if (error === null) return;
        this.#pending.delete(id);
        reject(error);
      });
    });
  }

  /** Asks the child to stop, and kills it if it does not exit within `graceMs`. */
  async close(graceMs = 5000) {
    if (this.#process.exitCode !== null || this.#process.signalCode !== null) return;
    const timer = setTimeout(() => this.#process.kill("SIGKILL"), graceMs);
    this.call("exit").catch(() => {});
    await this.#exited;
    clearTimeout(timer);
  }
}

/**
 * The child side: answers the parent's commands with `handlers[cmd](params)`. Every child also answers
 * `usage` (its own CPU time and memory) and `exit`.
 * @param {Record<string, (params: any) => unknown>} handlers
 * @param {() => Promise<void> | void} [onExit] cleanup before the process exits
 */
export function serve(handlers, onExit) {
  const all = {
    usage: (params) => usage(params),
    profileStart,
    profileStop,
    exit: async () => {
      await onExit?.();
      setImmediate(() => process.exit(0));
      return null;
    },
    ...handlers,
  };
  process.on("message", async ({ id, cmd, params }) => {
    const handler = all[cmd];
    try {
      if (handler === undefined) throw new Error(`unknown command ${cmd}`);
      process.send({ id, result: (await handler(params)) ?? null });
    } catch (error) {
      process.send({ id, error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
    }
  });
  process.on("disconnect", () => process.exit(0));
}

let profiler;

/**
 * Starts profiling this process over a measured window: V8's CPU profiler, or with `heap` its sampling heap
 * profiler (where the garbage comes from: allocations sampled every 16 KiB, the collected ones included).
 */
async function profileStart({ heap = false } = {}) {
  profiler = new Session();
  profiler.connect();
  if (heap) {
    await profiler.post("HeapProfiler.enable");
    await profiler.post("HeapProfiler.startSampling", {
      samplingInterval: 16_384,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    });
  } else {
    await profiler.post("Profiler.enable");
    await profiler.post("Profiler.start");
  }
}

/** Stops the profile started by `profileStart` and writes it to `file` (open it in Chrome DevTools). */
async function profileStop({ file, heap = false }) {
  const { profile } = await profiler.post(heap ? "HeapProfiler.stopSampling" : "Profiler.stop");
  profiler.disconnect();
  profiler = undefined;
  writeFileSync(file, JSON.stringify(profile));
}

/** CPU time (µs, user + system) and memory of this process; the heap after a full GC when `gc` is exposed. */
export function usage({ collect = false } = {}) {
  if (collect && typeof globalThis.gc === "function") {
    globalThis.gc();
    globalThis.gc();
  }
  const cpu = process.cpuUsage();
  const memory = process.memoryUsage();
  return {
    cpuMicros: cpu.user + cpu.system,
    rss: memory.rss,
    heapUsed: memory.heapUsed,
    external: memory.external,
    at: performance.timeOrigin + performance.now(),
  };
}

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Wall-clock milliseconds with sub-millisecond precision, comparable across processes on one host. */
export function nowMs() {
  return performance.timeOrigin + performance.now();
}
