import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "esbuild";

/**
 * Bundles a TypeScript entry (with the project sources it imports) into one ES module and runs it with the
 * test's own Node, so a test can run part of the bridge as a separate process and kill it.
 */
export async function spawnTsChild(
  entry: string,
  env: Record<string, string>,
): Promise<{ child: ChildProcess; ready: Promise<void>; cleanup(): void }> {
  const dir = mkdtempSync(join(tmpdir(), "pma-child-"));
  const outfile = join(dir, "child.mjs");
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node22",
    logLevel: "silent",
    // CommonJS dependencies bundled into ESM need a `require`.
    banner: {
      js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
    },
  });
  const child = spawn(process.execPath, [outfile], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout?.on("data", (chunk: Buffer) => {
      if (chunk.toString().includes("ready")) resolve();
    });
    child.once("exit", (code, signal) =>
      reject(new Error(`child exited early (code ${code}, signal ${signal}): ${stderr}`)),
    );
  });
  return { child, ready, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
