import { describe, expect, it } from "vitest";
import { environmentVariables } from "../../src/config/load.js";
import { readText, readYaml } from "../helpers/addon-files.js";
import { type SchemaNode, schemaLeaves } from "../helpers/addon-supervisor.js";

// The user-facing documents name options, variables and commands; these checks keep them in step with the code.

const readme = readText("README.md");
const docs = readText("DOCS.md");

describe("README.md", () => {
  it("documents every option with its environment variable, and no variable that does not exist", () => {
    const variables = environmentVariables();
    const rows = new Set(
      [...readme.matchAll(/^\|\s*`([\w.]+)`\s*\|\s*`(PMA_\w+)`\s*\|/gm)].map((m) => `${m[1]} ${m[2]}`),
    );
    const missing = variables.filter((v) => !rows.has(`${v.path.join(".")} ${v.name}`));
    expect(missing.map((v) => v.name)).toEqual([]);
    const known = new Set(variables.map((v) => v.name));
    const mentioned = new Set(readme.match(/\bPMA_[A-Z0-9_]+\b/g) ?? []);
    expect([...mentioned].filter((name) => !known.has(name))).toEqual([]);
  });

  it("starts with a two-command quick start whose test command is the one CI runs", () => {
    const quickStart = /## Quick start[\s\S]*?```sh\n([\s\S]*?)```/.exec(readme)?.[1] ?? "";
    const commands = quickStart
      .split("\n")
      .map((line) => line.replace(/#.*$/, "").trim())
      .filter(Boolean);
    expect(commands).toEqual(["npm ci && npm start", "npm test"]);
    expect(readText(".ci/run")).toMatch(/^npm test\b/m);
  });
});

describe("README.md command line reference", () => {
  const cli = readText("src/cli.ts");

  it("lists every command the CLI defines", () => {
    const commands = [...cli.matchAll(/\.command\("([\w-]+)"/g)].map((m) => m[1] as string);
    expect(commands).toContain("run");
    expect(commands.filter((command) => !readme.includes(`pma-bridge ${command}`))).toEqual([]);
  });

  it("lists every flag the CLI defines", () => {
    const flags = [...cli.matchAll(/(?:option|Option)\(\s*"[^"]*?(--[a-z][\w-]*)/g)].map(
      (m) => m[1] as string,
    );
    expect(flags).toContain("--config");
    expect(flags.filter((flag) => !readme.includes(flag))).toEqual([]);
  });
});

describe("DOCS.md", () => {
  it("explains every add-on option and every published port", () => {
    const manifest = readYaml("config.yaml") as { schema: SchemaNode; ports: Record<string, number> };
    for (const { path } of schemaLeaves(manifest.schema)) {
      const name = path.replace(/\[\]/g, "").split(".").at(-1) as string;
      expect(docs, path).toContain(`\`${name}\``);
    }
    for (const port of Object.keys(manifest.ports)) expect(docs, port).toContain(`\`${port}\``);
  });
});
