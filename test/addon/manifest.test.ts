import { existsSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { isRecord } from "../../src/config/schema.js";
import { pngSize, readJson, readText, readYaml, repoPath, repositoryFiles } from "../helpers/addon-files.js";
import {
  isManifestPath,
  isOptionalRule,
  manifestProblems,
  optionProblems,
  type SchemaNode,
  schemaLeaves,
  schemaShapeProblems,
} from "../helpers/addon-supervisor.js";

const manifest = readYaml("config.yaml") as Record<string, unknown>;
const schema = manifest.schema as Record<string, SchemaNode>;
const options = manifest.options as Record<string, unknown>;

describe("config.yaml (the add-on manifest)", () => {
  it("passes the Supervisor's and the linter's rules", () => {
    expect(manifestProblems(manifest)).toEqual([]);
  });

  it("targets aarch64 and amd64 only and lets s6-overlay be PID 1", () => {
    expect(manifest.arch).toEqual(["aarch64", "amd64"]);
    expect(manifest.init).toBe(false);
  });

  it("has the Home Assistant API and wants the MQTT service", () => {
    expect(manifest.homeassistant_api).toBe(true);
    expect(manifest.services).toEqual(["mqtt:want"]);
  });

  it("publishes 3001 and 8766 with descriptions, and ingress on a port of its own", () => {
    expect(manifest.ports).toEqual({ "3001/tcp": 3001, "8766/tcp": 8766 });
    expect(Object.keys(manifest.ports_description as object).sort()).toEqual(["3001/tcp", "8766/tcp"]);
    expect(manifest.ingress).toBe(true);
    expect(manifest.panel_icon).toMatch(/^mdi:/);
    const ingressPort = (manifest.ingress_port as number | undefined) ?? 8099;
    expect(ingressPort).not.toBe(3001);
    expect(ingressPort).not.toBe(8766);
  });

  it("carries the package's version", () => {
    expect(manifest.version).toBe((readJson("package.json") as { version: string }).version);
  });

  it("has a schema the Supervisor can read, and defaults it accepts", () => {
    expect(schemaShapeProblems(schema)).toEqual([]);
    expect(optionProblems(schema, options)).toEqual([]);
  });

  it("gives no default to an optional option and a default to every required one", () => {
    const defaulted = (path: string): boolean => {
      let node: unknown = options;
      for (const key of path.split(".")) node = isRecord(node) ? node[key] : undefined;
      return node !== undefined;
    };
    for (const { path, rule } of schemaLeaves(schema).filter((leaf) => !leaf.path.includes("[]"))) {
      expect(defaulted(path), `${path} (${rule})`).toBe(!isOptionalRule(rule));
    }
    // Lists of mappings are required too; an empty default keeps the add-on startable.
    for (const [key, node] of Object.entries(schema)) {
      if (Array.isArray(node) && !isOptionalRule(node)) expect(options[key], key).toEqual([]);
    }
  });

  it("keeps secrets in password fields", () => {
    for (const { path, rule } of schemaLeaves(schema)) {
      if (/(secret|password|key|token)$/.test(path)) expect(rule, path).toMatch(/^password/);
    }
  });
});

describe("translations/en.yaml", () => {
  const translations = readYaml("translations/en.yaml") as {
    configuration: Record<
      string,
      { name?: string; description?: string; fields?: Record<string, { name?: string }> }
    >;
    network: Record<string, string>;
  };

  it("names and describes every option, nested fields included, and nothing else", () => {
    const translated: string[] = [];
    for (const [key, entry] of Object.entries(translations.configuration)) {
      expect(entry.name, key).toBeTruthy();
      expect(entry.description, key).toBeTruthy();
      translated.push(key);
      for (const [field, sub] of Object.entries(entry.fields ?? {})) {
        expect(sub.name, `${key}.${field}`).toBeTruthy();
        translated.push(`${key}.${field}`);
      }
    }
    const expected = Object.entries(schema).flatMap(([key, node]) => {
      const inner = Array.isArray(node) ? node[0] : node;
      return isRecord(inner) ? [key, ...Object.keys(inner).map((field) => `${key}.${field}`)] : [key];
    });
    expect(translated.sort()).toEqual(expected.sort());
  });

  it("describes every published port", () => {
    expect(Object.keys(translations.network).sort()).toEqual(Object.keys(manifest.ports as object).sort());
  });
});

describe("the add-on folder", () => {
  it("holds no other config.* the Supervisor would read as a second add-on", () => {
    expect(repositoryFiles().filter(isManifestPath)).toEqual(["config.yaml"]);
  });

  it("has the store files next to config.yaml", () => {
    for (const file of [
      "DOCS.md",
      "README.md",
      "CHANGELOG.md",
      "Dockerfile",
      "repository.yaml",
      ".dockerignore",
    ]) {
      expect(existsSync(repoPath(file)), file).toBe(true);
    }
    expect((readYaml("repository.yaml") as { name?: unknown }).name).toEqual(expect.any(String));
  });

  it("mentions the current version in CHANGELOG.md", () => {
    expect(readText("CHANGELOG.md")).toContain(`## [${String(manifest.version)}]`);
  });

  it("has a square icon of about 128 px and a logo of about 250x100", () => {
    const icon = pngSize("icon.png");
    expect(icon.width).toBe(icon.height);
    expect(icon.width).toBeGreaterThanOrEqual(96);
    expect(icon.width).toBeLessThanOrEqual(256);
    const logo = pngSize("logo.png");
    expect(logo.width / logo.height).toBeCloseTo(2.5, 1);
    expect(logo.width).toBeGreaterThanOrEqual(200);
  });

  it("lists in build.yaml the same architectures and the Dockerfile's default base image", () => {
    const build = readYaml("build.yaml") as { build_from: Record<string, string> };
    expect(Object.keys(build.build_from).sort()).toEqual([...(manifest.arch as string[])].sort());
    const dockerDefault = /^ARG BUILD_FROM=(\S+)$/m.exec(readText("Dockerfile"))?.[1];
    for (const image of Object.values(build.build_from)) expect(image).toBe(dockerDefault);
  });
});
