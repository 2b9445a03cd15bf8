/** Reads the add-on's files from the repository root (which is the add-on folder and the Docker build context). */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join, posix } from "node:path";
import { fileURLToPath } from "node:url";
import { parse as parseYaml } from "yaml";

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));

export function repoPath(...parts: string[]): string {
  return join(ROOT, ...parts);
}

export function readText(path: string): string {
  return readFileSync(repoPath(path), "utf8");
}

export function readYaml(path: string): unknown {
  return parseYaml(readText(path));
}

export function readJson(path: string): unknown {
  return JSON.parse(readText(path));
}

/** Every file a clone of the repository holds (tracked, plus new files not ignored by `.gitignore`). */
export function repositoryFiles(): string[] {
  const out = execFileSync("git", ["ls-files", "--cached", "--others", "--exclude-standard", "-z"], {
    cwd: ROOT,
    encoding: "utf8",
  });
  return out.split("\0").filter((path) => path !== "" && existsSync(repoPath(path)));
}

/** The mode git records for a path (`100755` for an executable), or undefined when git does not track it. */
export function gitMode(path: string): string | undefined {
  const out = execFileSync("git", ["ls-files", "--stage", "--", path], { cwd: ROOT, encoding: "utf8" });
  return out.split(" ")[0] || undefined;
}

/** One Dockerfile instruction, continuation lines joined, with the build stage it belongs to. */
export interface Instruction {
  readonly keyword: string;
  readonly args: string;
  /** Index of the `FROM` that opened the stage; -1 before the first `FROM` (global `ARG`s). */
  readonly stage: number;
}

export interface DockerStage {
  readonly index: number;
  readonly name: string | undefined;
  readonly from: string;
  readonly instructions: readonly Instruction[];
}

export function parseDockerfile(text: string): { instructions: Instruction[]; stages: DockerStage[] } {
  const instructions: Instruction[] = [];
  let stage = -1;
  let pending = "";
  for (const line of text.split("\n")) {
    const trimmed = line.trim();
    if (pending === "" && (trimmed === "" || trimmed.startsWith("#"))) continue;
    if (pending !== "" && trimmed.startsWith("#")) continue;
    if (trimmed.endsWith("\\")) {
      pending += `${trimmed.slice(0, -1).trimEnd()} `;
      continue;
    }
    const full = (pending + trimmed).trim();
    pending = "";
    const space = full.search(/\s/);
    const keyword = (space === -1 ? full : full.slice(0, space)).toUpperCase();
    const args = space === -1 ? "" : full.slice(space + 1).trim();
    if (keyword === "FROM") stage += 1;
    instructions.push({ keyword, args, stage });
  }
  const stages: DockerStage[] = [];
  for (const instruction of instructions) {
    if (instruction.keyword !== "FROM") continue;
    const [from = "", as, name] = instruction.args.split(/\s+/);
    stages.push({
      index: instruction.stage,
      name: as?.toUpperCase() === "AS" ? name : undefined,
      from,
      instructions: instructions.filter((i) => i.stage === instruction.stage && i.keyword !== "FROM"),
    });
  }
  return { instructions, stages };
}

export interface CopyInstruction {
  readonly from: string | undefined;
  readonly sources: readonly string[];
  readonly destination: string;
}

/** `COPY [--from=x] [--chown=..] src... dest` in a stage; the JSON form is not used in this project. */
export function copies(stage: DockerStage): CopyInstruction[] {
  return stage.instructions
    .filter((i) => i.keyword === "COPY" || i.keyword === "ADD")
    .map((i) => {
      const words = i.args.split(/\s+/);
      const flags = words.filter((w) => w.startsWith("--"));
      const paths = words.filter((w) => !w.startsWith("--"));
      const from = flags.find((f) => f.startsWith("--from="))?.slice("--from=".length);
      return { from, sources: paths.slice(0, -1), destination: paths.at(-1) ?? "" };
    });
}

/** Resolves a path against a stage's `WORKDIR` at the point of the given instruction list's end. */
export function workdir(stage: DockerStage): string {
  return stage.instructions
    .filter((i) => i.keyword === "WORKDIR")
    .reduce((dir, i) => posix.resolve(dir, i.args), "/");
}

/**
 * Whether `.dockerignore` leaves a path in the build context. Supports the forms this project uses: plain
 * paths, `*` within one component, `**` across components, and `!` re-inclusion (last match wins).
 */
export function inBuildContext(path: string, dockerignore: string): boolean {
  let included = true;
  for (const raw of dockerignore.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const negate = line.startsWith("!");
    const pattern = posix.normalize((negate ? line.slice(1) : line).replace(/^\//, ""));
    if (patternMatches(pattern, path)) included = negate;
  }
  return included;
}

function patternMatches(pattern: string, path: string): boolean {
  const source = pattern
    .split("/")
    .map((part) =>
      part === "**" ? "(?:.*)" : part.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, "[^/]*"),
    )
    .join("/")
    .replace(/\(\?:\.\*\)\//g, "(?:.*/)?");
  // A pattern that names a directory excludes everything below it too.
  return new RegExp(`^${source}(?:/.*)?$`).test(path);
}

/** Width and height from a PNG's IHDR chunk; throws when the bytes are not a PNG. */
export function pngSize(path: string): { width: number; height: number } {
  const bytes = readFileSync(repoPath(path));
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  if (!bytes.subarray(0, 8).equals(signature) || bytes.toString("latin1", 12, 16) !== "IHDR") {
    throw new Error(`${path} is not a PNG file`);
  }
  return { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) };
}

/**
 * The packages a module loads when it starts: bare specifiers of every static `import`/`export … from`
 * reachable through relative imports, with one importer each. `import type` and dynamic `import()` load
 * nothing at start, so they are not followed.
 */
export function startupPackages(entry: string): Map<string, string> {
  const packages = new Map<string, string>();
  const seen = new Set<string>();
  const pending = [entry];
  const statement = /^(?:import|export)\s+(?!type\s)(?:[^;]*?\s+from\s+)?["']([^"']+)["']/gm;
  for (let file = pending.pop(); file !== undefined; file = pending.pop()) {
    if (seen.has(file)) continue;
    seen.add(file);
    for (const match of readText(file).matchAll(statement)) {
      const specifier = match[1] as string;
      if (specifier.startsWith(".")) {
        pending.push(posix.normalize(posix.join(posix.dirname(file), specifier)).replace(/\.js$/, ".ts"));
      } else if (!specifier.startsWith("node:")) {
        const name = specifier.startsWith("@")
          ? specifier.split("/").slice(0, 2).join("/")
          : (specifier.split("/")[0] as string);
        if (!packages.has(name)) packages.set(name, file);
      }
    }
  }
  return packages;
}
