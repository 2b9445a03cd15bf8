import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** The built CLI; `npm test` builds it first (`pretest`). */
export const CLI = fileURLToPath(new URL("../../dist/cli.js", import.meta.url));

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function assertBuilt(): void {
  if (!existsSync(CLI))
    throw new Error(`${CLI} is missing: run \`npm run build\` (npm test does it for you)`);
}

/** Runs the CLI to completion with a clean environment (no PMA_* leaking in from the developer's shell). */
export function runCli(
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
  timeoutMs = 15_000,
): Promise<CliResult> {
  assertBuilt();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { PATH: process.env.PATH, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`pma-bridge ${args.join(" ")} did not finish in ${timeoutMs} ms\n${stderr}`));
    }, timeoutMs);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

export interface RunningCli {
  readonly child: ChildProcess;
  /** Everything the process wrote to standard error so far. */
  stderr(): string;
  /** Resolves with the port from the bridge's "listening" log line. */
  readonly port: Promise<number>;
  /** Resolves with the exit code once the process ends. */
  readonly exited: Promise<number | null>;
}

/** Starts a long-running CLI command (`run`, `demo`) and exposes its port and exit. */
export function startCli(args: readonly string[], env: NodeJS.ProcessEnv = {}): RunningCli {
  assertBuilt();
  const child = spawn(process.execPath, [CLI, ...args], {
    env: { PATH: process.env.PATH, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  const port = new Promise<number>((resolve, reject) => {
    child.stderr?.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
      const match = /bridge started port=(\d+)/.exec(stderr);
      if (match?.[1] !== undefined) resolve(Number(match[1]));
    });
    child.once("exit", () => reject(new Error(`exited before listening:\n${stderr}`)));
  });
  port.catch(() => undefined);
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return { child, stderr: () => stderr, port, exited };
}

/** Polls the bridge's `/healthz` until it answers 200: every source is connected and subscribed. */
export async function waitHealthy(port: number, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/healthz`);
      last = await res.text();
      if (res.status === 200) return;
    } catch (error) {
      last = String(error);
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`the bridge on port ${port} was not healthy within ${timeoutMs} ms: ${last}`);
}
