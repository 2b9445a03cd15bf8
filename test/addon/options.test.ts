import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { loadConfig } from "../../src/config/load.js";
import { configSchema, crossFieldIssues, fromAddonOptions, isRecord } from "../../src/config/schema.js";
import { readYaml } from "../helpers/addon-files.js";
import {
  isOptionalRule,
  type OptionElement,
  optionProblems,
  parseElement,
  type SchemaNode,
  schemaLeaves,
} from "../helpers/addon-supervisor.js";

// The add-on's options are a layer of the same configuration the YAML file and the environment feed: the
// Supervisor validates them with config.yaml's `schema`, the bridge with the zod schema. Whatever the first
// accepts, the second must accept too, or a user passes the form and the add-on then refuses to start.

const manifest = readYaml("config.yaml") as {
  options: Record<string, unknown>;
  schema: Record<string, SchemaNode>;
};
const { schema, options } = manifest;

/** The config path an add-on option lands on (see `fromAddonOptions`). */
function configPath(addonPath: string): string {
  if (addonPath.startsWith("api_keys")) return `auth.${addonPath}`;
  if (addonPath.startsWith("room_map")) return "rooms.room_map";
  return addonPath;
}

function unwrap(schema: z.ZodType): z.ZodType {
  let current = schema;
  for (;;) {
    const def = current._zod.def as { innerType?: z.ZodType };
    if (def.innerType === undefined) return current;
    current = def.innerType;
  }
}

/** The zod node at a path such as `auth.api_keys[].capabilities[]`, or undefined when the path does not exist. */
function zodAt(path: string): z.ZodType | undefined {
  let node: z.ZodType | undefined = configSchema;
  for (const token of path.split(/\.|(?=\[\])/)) {
    const inner: z.ZodType | undefined = node === undefined ? undefined : unwrap(node);
    if (token === "[]") node = inner instanceof z.ZodArray ? (inner.element as z.ZodType) : undefined;
    else node = inner instanceof z.ZodObject ? (inner.shape as Record<string, z.ZodType>)[token] : undefined;
  }
  return node;
}

/** Values the Supervisor accepts for a rule, chosen at its edges (or past where zod might set one). */
function probes(element: OptionElement): readonly unknown[] {
  switch (element.kind) {
    case "str":
    case "password":
      return [element.min ?? 0, element.max ?? 200].map((length) => "k".repeat(length));
    case "int":
      return [element.min ?? -1, element.max ?? 2 ** 31];
    case "float":
      return [element.min ?? -1.5, element.max ?? 1e9];
    case "port":
      return [1, 65535];
    case "bool":
      return [true, false];
    case "url":
      return ["mqtt://broker.example:1883", "mqtts://broker.example:8883"];
    case "email":
      return ["someone@example.com"];
    case "list":
      return element.choices;
    case "match":
    case "device":
      throw new Error(`no probe values for ${element.kind} rules yet; add some before using one`);
  }
}

/** A value the Supervisor accepts for a schema node, with only the required parts filled in. */
function sample(node: SchemaNode): unknown {
  if (typeof node === "string") {
    const element = parseElement(node);
    if (element === undefined) throw new Error(`bad rule ${node}`);
    return probes(element).at(-1);
  }
  if (Array.isArray(node)) return [];
  return Object.fromEntries(
    Object.entries(node)
      .filter(([, child]) => !isOptionalRule(child))
      .map(([key, child]) => [key, sample(child)]),
  );
}

/** `base` with the option at `path` (tokens from a leaf path) set to `value`, building list items as needed. */
function withValue(node: SchemaNode, base: unknown, tokens: readonly string[], value: unknown): unknown {
  const [head, ...rest] = tokens;
  if (head === undefined) return value;
  if (Array.isArray(node)) {
    const item = node[0] as SchemaNode;
    return [withValue(item, sample(item), rest, value)];
  }
  if (typeof node === "string") throw new Error(`path continues past the rule ${node}`);
  const mapping = node as Record<string, SchemaNode>;
  const child = mapping[head];
  if (child === undefined) throw new Error(`no option ${head}`);
  const current = isRecord(base) ? base : (sample(mapping) as Record<string, unknown>);
  return { ...current, [head]: withValue(child, current[head], rest, value) };
}

function bridgeProblems(addonOptions: Record<string, unknown>): string[] {
  const raw = fromAddonOptions(addonOptions);
  const parsed = configSchema.safeParse(raw);
  const issues = parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
  return [...issues, ...crossFieldIssues(raw).map((i) => `${i.path}: ${i.message}`)];
}

describe("config.yaml options and the bridge's config schema", () => {
  it("name only options that exist in the config schema", () => {
    for (const { path } of schemaLeaves(schema)) {
      expect(zodAt(configPath(path)), `${path} → ${configPath(path)}`).toBeDefined();
    }
  });

  it("accept, as defaults, a configuration the bridge starts with", () => {
    expect(bridgeProblems(options)).toEqual([]);
  });

  it("carry defaults equal to the bridge's own, so the add-on behaves like the daemon", () => {
    const defaults = configSchema.parse({});
    const translated = fromAddonOptions(options);
    const effective = configSchema.parse(translated);
    for (const [section, value] of Object.entries(translated)) {
      expect(effective[section as keyof typeof effective], section).toEqual(
        isRecord(value) ? expect.objectContaining(value) : value,
      );
      if (isRecord(value)) {
        for (const key of Object.keys(value)) {
          const ours = (defaults[section as keyof typeof defaults] as Record<string, unknown>)[key];
          expect(value[key], `${section}.${key}`).toEqual(ours);
        }
      } else {
        expect(value, section).toEqual(defaults[section as keyof typeof defaults]);
      }
    }
  });

  it("accept in the bridge every value the Supervisor accepts, at the edges of each rule", () => {
    const rejected: string[] = [];
    for (const { path, rule } of schemaLeaves(schema)) {
      const element = parseElement(rule);
      if (element === undefined) throw new Error(`${path}: bad rule ${rule}`);
      for (const value of probes(element)) {
        const document = withValue(schema, options, path.split(/\.|(?=\[\])/), value) as Record<
          string,
          unknown
        >;
        expect(optionProblems(schema, document), `Supervisor, ${path} = ${JSON.stringify(value)}`).toEqual(
          [],
        );
        const problems = bridgeProblems(document);
        if (problems.length > 0) rejected.push(`${path} = ${JSON.stringify(value)}: ${problems.join("; ")}`);
      }
    }
    expect(rejected).toEqual([]);
  });
});

describe("fromAddonOptions", () => {
  it("moves api_keys under auth next to the other auth options", () => {
    const key = { name: "tablet", key: "k".repeat(16) };
    expect(
      fromAddonOptions({ auth: { allow_anonymous: true }, api_keys: [key], log_level: "debug" }),
    ).toEqual({
      auth: { allow_anonymous: true, api_keys: [key] },
      log_level: "debug",
    });
  });

  it("turns room_map pairs into the predictor-room → area mapping", () => {
    const raw = fromAddonOptions({
      room_map: [
        { predictor_room: "bedroom_1", area_id: "master_bedroom" },
        { predictor_room: "lounge", area_id: "living_room" },
      ],
    });
    expect(configSchema.parse(raw).rooms.room_map).toEqual({
      bedroom_1: "master_bedroom",
      lounge: "living_room",
    });
  });

  it("leaves a malformed room_map for the schema to reject with its path", () => {
    expect(bridgeProblems({ room_map: [{ area_id: "x" }] })).toEqual([
      expect.stringMatching(/^rooms\.room_map: /),
    ]);
  });

  it("changes nothing when neither list is present", () => {
    expect(fromAddonOptions({ mqtt: { discovery: false } })).toEqual({ mqtt: { discovery: false } });
  });
});

describe("the add-on's options file, as the bridge loads it", () => {
  it("yields the shipped defaults plus the user's keys and room map, with nothing ignored", () => {
    const dir = mkdtempSync(join(tmpdir(), "pma-addon-options-"));
    try {
      const file = join(dir, "options.json");
      // What the Supervisor writes: config.yaml's defaults merged with what the user entered.
      const written = {
        ...options,
        api_keys: [{ name: "tablet", key: "t".repeat(24), capabilities: ["entities"] }],
        room_map: [{ predictor_room: "bedroom_1", area_id: "master_bedroom" }],
      };
      writeFileSync(file, JSON.stringify(written));
      const loaded = loadConfig({
        env: { SUPERVISOR_TOKEN: "supervisor-token", PMA_ADDON_OPTIONS_FILE: file },
        probeDataDir: false,
      });
      expect(loaded.addon).toBe(true);
      expect(loaded.warnings).toEqual([]);
      expect(loaded.config.data_dir).toBe("/data");
      expect(loaded.config.auth.api_keys).toEqual([
        { name: "tablet", key: "t".repeat(24), capabilities: ["entities"], rooms: [] },
      ]);
      expect(loaded.config.rooms.room_map).toEqual({ bedroom_1: "master_bedroom" });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
