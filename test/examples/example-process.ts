import { type ChildProcess, spawn, spawnSync } from "node:child_process";

/** The Debian interpreter, which has `python3-websockets` (the PATH one may be a pyenv without it). */
export const PYTHON = "/usr/bin/python3";

export function pythonWebsocketsMissing(): boolean {
  const probe = spawnSync(PYTHON, ["-c", "import websockets"], { stdio: "ignore" });
  if (probe.status === 0) return false;
  process.stdout.write(
    `[pma-bridge tests] ${PYTHON} with websockets not found: Python example tests are skipped\n`,
  );
  return true;
}

/**
 * An example client running as its own process, as a user would run it. Its output lines (standard output
 * and error together) are collected so a test can wait for what the example says it received.
 */
export class ExampleProcess {
  readonly lines: string[] = [];
  private readonly child: ChildProcess;
  private waiters: { test: (line: string) => boolean; resolve: (line: string) => void }[] = [];
  private exited: string | undefined;

  constructor(command: string, args: readonly string[]) {
    this.child = spawn(command, args, {
      cwd: process.cwd(),
      env: { PATH: process.env.PATH, PYTHONUNBUFFERED: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let partial = "";
    const onData = (chunk: Buffer): void => {
      partial += chunk.toString();
      const parts = partial.split("\n");
      partial = parts.pop() ?? "";
      for (const line of parts) this.add(line);
    };
    this.child.stdout?.on("data", onData);
    this.child.stderr?.on("data", onData);
    this.child.once("exit", (code, signal) => {
      this.exited = `exited with ${code ?? signal}`;
    });
  }

  /** Resolves with the first line (seen or still to come) that passes `test`. */
  waitFor(test: RegExp | ((line: string) => boolean), timeoutMs = 30_000): Promise<string> {
    const check = typeof test === "function" ? test : (line: string) => test.test(line);
    const seen = this.lines.find(check);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(
          new Error(
            `no line matching ${String(test)} (${this.exited ?? "still running"}); output:\n${this.lines.join("\n")}`,
          ),
        );
      }, timeoutMs);
      this.waiters.push({
        test: check,
        resolve: (line) => {
          clearTimeout(timer);
          resolve(line);
        },
      });
    });
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once("exit", () => resolve()));
    this.child.kill("SIGTERM");
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 3000);
    await exited;
    clearTimeout(timer);
  }

  private add(line: string): void {
    this.lines.push(line);
    this.waiters = this.waiters.filter((w) => {
      if (!w.test(line)) return true;
      w.resolve(line);
      return false;
    });
  }
}
