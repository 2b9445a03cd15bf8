import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, posix } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { environmentVariables } from "../../src/config/load.js";
import { configSchema } from "../../src/config/schema.js";
import { SHUTDOWN_DEADLINE_MS } from "../../src/main.js";
import {
  copies,
  type DockerStage,
  gitMode,
  inBuildContext,
  parseDockerfile,
  readJson,
  readText,
  readYaml,
  repoPath,
  startupPackages,
  workdir,
} from "../helpers/addon-files.js";

// Docker cannot run here, so the image is checked by reading what the build would read.

const dockerfile = parseDockerfile(readText("Dockerfile"));
const dockerignore = readText(".dockerignore");
const manifest = readYaml("config.yaml") as {
  ports: Record<string, number>;
  timeout?: number;
  ingress_port?: number;
};
const pkg = readJson("package.json") as {
  scripts: Record<string, string>;
  bin: Record<string, string>;
  dependencies: Record<string, string>;
};
const buildStage = dockerfile.stages.find((s) => s.name === "build") as DockerStage;
const runtime = dockerfile.stages.at(-1) as DockerStage;

const SERVICE = "addon/rootfs/etc/s6-overlay/s6-rc.d/pma-bridge";
const runScript = readText(`${SERVICE}/run`);

function runs(stage: DockerStage): string {
  return stage.instructions
    .filter((i) => i.keyword === "RUN")
    .map((i) => i.args)
    .join("\n");
}

function env(stage: DockerStage, name: string): string | undefined {
  const text = stage.instructions
    .filter((i) => i.keyword === "ENV")
    .map((i) => i.args)
    .join(" ");
  return new RegExp(`(?:^|\\s)${name}=(\\S+)`).exec(text)?.[1];
}

/** Where a file in the runtime image came from: `[stage, path]` via the runtime stage's COPY instructions. */
function originOf(imagePath: string): { from: string | undefined; path: string } | undefined {
  for (const copy of copies(runtime)) {
    const destination = posix.resolve(workdir(runtime), copy.destination);
    for (const source of copy.sources) {
      if (imagePath === destination || imagePath.startsWith(`${destination}/`)) {
        return { from: copy.from, path: posix.join(source, posix.relative(destination, imagePath)) };
      }
    }
  }
  return undefined;
}

/** Files and folders named in the scripts `npm run build` runs, following `npm run x` chains. */
function buildInputs(): string[] {
  const seen = new Set<string>();
  const inputs = new Set<string>();
  const visit = (script: string): void => {
    if (seen.has(script)) return;
    seen.add(script);
    const command = pkg.scripts[script];
    if (command === undefined) throw new Error(`package.json has no script ${script}`);
    for (const match of command.matchAll(/npm run (?:--silent )?([\w:-]+)/g)) visit(match[1] as string);
    for (const word of command.split(/[\s=;&|]+/)) {
      const path = word.replace(/^\.\//, "");
      // Outputs (under dist/) and installed packages are not inputs.
      const isRepoPath =
        /^[\w-][\w.-]*(\/[\w.-]+)*\/?$/.test(path) && !/^(node_modules|dist)(\/|$)/.test(path);
      if (isRepoPath && existsSync(repoPath(path))) inputs.add(path.replace(/\/$/, ""));
    }
  };
  visit("build");
  const tsconfigs = [...inputs].filter((p) => /^tsconfig.*\.json$/.test(p));
  for (const file of tsconfigs) {
    const config = readJson(file) as { extends?: string; include?: string[] };
    if (config.extends !== undefined) inputs.add(config.extends.replace(/^\.\//, ""));
    for (const include of config.include ?? []) inputs.add(include.replace(/\/\*\*.*$/, ""));
  }
  return [...inputs].sort();
}

describe("Dockerfile", () => {
  it("builds with or without build.yaml: BUILD_FROM has the Home Assistant base as its default", () => {
    const first = dockerfile.instructions[0];
    expect(first?.keyword).toBe("ARG");
    expect(first?.args).toBe("BUILD_FROM=ghcr.io/home-assistant/base:3.23");
    for (const stage of dockerfile.stages) {
      expect(stage.from, `stage ${stage.index}`).toMatch(/^\$\{?BUILD_FROM\}?$/);
    }
  });

  it("compiles in a build stage: npm ci, npm run build, then drops dev dependencies", () => {
    expect(buildStage).toBeDefined();
    const commands = runs(buildStage);
    expect(commands).toMatch(/apk add --no-cache nodejs npm/);
    expect(commands).toMatch(/npm ci\b/);
    expect(commands.indexOf("npm run build")).toBeGreaterThan(commands.indexOf("npm ci"));
    expect(commands.indexOf("npm prune --omit=dev")).toBeGreaterThan(commands.indexOf("npm run build"));
  });

  it("runs on Alpine's Node without npm in the final image", () => {
    expect(runtime).not.toBe(buildStage);
    expect(runs(runtime)).toMatch(/apk add --no-cache nodejs(\s|$)/);
    expect(runs(runtime)).not.toMatch(/\bnpm\b/);
  });

  it("copies only files that exist and that .dockerignore leaves in the build context", () => {
    const local = dockerfile.stages.flatMap((stage) => copies(stage).filter((c) => c.from === undefined));
    expect(local.length).toBeGreaterThan(0);
    for (const source of local.flatMap((c) => c.sources)) {
      expect(existsSync(repoPath(source)), `${source} exists`).toBe(true);
      expect(
        inBuildContext(source.replace(/\/$/, ""), dockerignore),
        `${source} is in the build context`,
      ).toBe(true);
    }
    expect(inBuildContext("src/cli.ts", dockerignore)).toBe(true);
    expect(inBuildContext("node_modules/ws/package.json", dockerignore)).toBe(false);
  });

  it("gives the build stage everything `npm run build` reads", () => {
    const copied = copies(buildStage)
      .filter((c) => c.from === undefined)
      .flatMap((c) => c.sources.map((s) => s.replace(/\/$/, "")));
    const inputs = buildInputs();
    expect(inputs).toContain("tsconfig.build.json");
    for (const input of inputs) {
      expect(
        copied.some((source) => input === source || input.startsWith(`${source}/`)),
        `${input} is copied into the build stage`,
      ).toBe(true);
    }
  });

  it("starts the CLI that the build compiles, with package.json beside dist as the CLI expects", () => {
    const exec = /^exec node (\S+) run$/m.exec(runScript);
    expect(exec, "run script ends with `exec node <cli> run`").not.toBeNull();
    const entry = exec?.[1] as string;
    const origin = originOf(entry);
    expect(origin?.from).toBe("build");
    const built = posix.relative(
      workdir(buildStage),
      posix.resolve(workdir(buildStage), origin?.path as string),
    );
    expect(built).toBe(pkg.bin["pma-bridge"]);
    const tsconfig = readJson("tsconfig.build.json") as {
      compilerOptions: { rootDir: string; outDir: string };
    };
    const source = built
      .replace(new RegExp(`^${tsconfig.compilerOptions.outDir}/`), `${tsconfig.compilerOptions.rootDir}/`)
      .replace(/\.js$/, ".ts");
    expect(existsSync(repoPath(source)), `${source} compiles to ${built}`).toBe(true);
    expect(originOf(posix.join(posix.dirname(posix.dirname(entry)), "package.json"))?.path).toMatch(
      /package\.json$/,
    );
    expect(originOf(posix.join(posix.dirname(posix.dirname(entry)), "node_modules"))?.from).toBe("build");
  });

  it("needs only production dependencies to start, since the image prunes the rest", () => {
    const packages = startupPackages("src/cli.ts");
    expect(packages.has("commander")).toBe(true);
    const devOnly = [...packages]
      .filter(([name]) => !(name in pkg.dependencies))
      .map(([name, by]) => `${name} (${by})`);
    expect(devOnly, "load these lazily with import(), or make them dependencies").toEqual([]);
  });

  it("checks health on /healthz of the bridge's main port, which the add-on publishes", () => {
    const health = runtime.instructions.find((i) => i.keyword === "HEALTHCHECK");
    const port = configSchema.parse({}).server.port;
    expect(health?.args).toContain(`http://127.0.0.1:${port}/healthz`);
    expect(manifest.ports[`${port}/tcp`]).toBeDefined();
  });

  it("gives the bridge time to stop: its deadline < s6's grace time < the add-on's stop timeout", () => {
    const grace = Number(env(runtime, "S6_SERVICES_GRACETIME"));
    expect(grace).toBeGreaterThan(SHUTDOWN_DEADLINE_MS);
    expect((manifest.timeout ?? 10) * 1000).toBeGreaterThan(grace);
  });
});

describe("s6-overlay service", () => {
  const files = ["run", "finish", "type"].map((name) => `${SERVICE}/${name}`);

  it("is a longrun in the user bundle that waits for the base bundle", () => {
    expect(readText(`${SERVICE}/type`).trim()).toBe("longrun");
    expect(existsSync(repoPath(`${SERVICE}/dependencies.d/base`))).toBe(true);
    expect(existsSync(repoPath("addon/rootfs/etc/s6-overlay/s6-rc.d/user/contents.d/pma-bridge"))).toBe(true);
  });

  it("has scripts that are executable, on disk and in git, with LF line endings", () => {
    for (const file of files) {
      const bytes = readFileSync(repoPath(file));
      expect(bytes.includes(13), `${file} has no CR`).toBe(false);
      expect(bytes.subarray(0, 3).equals(Buffer.from([0xef, 0xbb, 0xbf])), `${file} has no BOM`).toBe(false);
    }
    for (const script of files.filter((f) => !f.endsWith("type"))) {
      expect(statSync(repoPath(script)).mode & 0o111, `${script} executable`).not.toBe(0);
      expect(gitMode(script), `${script} mode in git`).toBe("100755");
    }
  });

  it("runs the bridge with the container environment and exec, so node gets SIGTERM", () => {
    expect(runScript.split("\n")[0]).toBe("#!/command/with-contenv bashio");
    const commands = runScript
      .split("\n")
      .filter((line) => line.trim() !== "" && !line.trim().startsWith("#"));
    expect(commands.at(-1)).toMatch(/^exec node /);
  });

  it("fixes the ingress port to the manifest's and sets only variables the bridge knows", () => {
    const exported = [...runScript.matchAll(/^export (\w+)=(\S+)$/gm)].map((m) => [m[1], m[2]] as const);
    const known = new Set(environmentVariables().map((v) => v.name));
    for (const [name] of exported)
      expect(known.has(name as string), `${name} is a bridge variable`).toBe(true);
    expect(Object.fromEntries(exported).PMA_SERVER_INGRESS_PORT).toBe(String(manifest.ingress_port ?? 8099));
  });
});

describe("s6 finish script", () => {
  const dir = mkdtempSync(join(tmpdir(), "pma-finish-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** Runs the real script with its two container paths pointed into a temporary folder. */
  function finish(code: number, signal: number): { exitcode: string | undefined; halted: boolean } {
    const exitcodeFile = join(dir, `exitcode-${code}`);
    const haltMarker = join(dir, `halted-${code}`);
    const halt = join(dir, "halt");
    writeFileSync(halt, `#!/bin/sh\ntouch "$HALT_MARKER"\n`, { mode: 0o755 });
    const script = readText(`${SERVICE}/finish`)
      .replaceAll("/run/s6-linux-init-container-results/exitcode", exitcodeFile)
      .replaceAll("/run/s6/basedir/bin/halt", halt);
    expect(script).not.toBe(readText(`${SERVICE}/finish`));
    const result = spawnSync("/bin/sh", ["-c", script, "finish", String(code), String(signal)], {
      env: { PATH: process.env.PATH, HALT_MARKER: haltMarker },
      encoding: "utf8",
    });
    expect(result.status, result.stderr).toBe(0);
    return {
      exitcode: existsSync(exitcodeFile) ? readFileSync(exitcodeFile, "utf8").trim() : undefined,
      halted: existsSync(haltMarker),
    };
  }

  it("stops the container with the bridge's exit code when the bridge crashes", () => {
    expect(finish(1, 0)).toEqual({ exitcode: "1", halted: true });
    expect(finish(2, 0)).toEqual({ exitcode: "2", halted: true });
  });

  it("leaves a normal stop alone: exit 0, or 256 when s6 ended it with a signal", () => {
    expect(finish(0, 0)).toEqual({ exitcode: undefined, halted: false });
    expect(finish(256, 15)).toEqual({ exitcode: undefined, halted: false });
  });

  it("is plain POSIX sh", () => {
    expect(readText(`${SERVICE}/finish`).split("\n")[0]).toBe("#!/bin/sh");
    expect(execFileSync("/bin/sh", ["-n", repoPath(`${SERVICE}/finish`)], { encoding: "utf8" })).toBe("");
  });
});
