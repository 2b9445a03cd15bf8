import { accessSync, constants, existsSync, mkdirSync, readFileSync } from "node:fs";
import { dirname, extname, resolve } from "node:path";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { BridgeError, errorMessage } from "../core/errors.js";
import {
  type Config,
  type ConfigIssue,
  configSchema,
  crossFieldIssues,
  fromAddonOptions,
  isRecord,
  SECRET_PATHS,
} from "./schema.js";

export class ConfigError extends BridgeError {
  readonly issues: readonly ConfigIssue[];

  constructor(issues: readonly ConfigIssue[]) {
    super(
      "CONFIG_INVALID",
      `invalid configuration:\n${issues.map((i) => `  - ${i.path}: ${i.message}`).join("\n")}`,
    );
    this.issues = issues;
  }
}

export interface LoadOptions {
  /** `--config FILE` (YAML or JSON). */
  readonly configFile?: string | undefined;
  /** Values from CLI flags, as a partial config tree. They win over everything else. */
  readonly overrides?: Record<string, unknown>;
  readonly env?: NodeJS.ProcessEnv;
  /** Skips creating and probing the data directory (for `check-config` of a file meant for another host). */
  readonly probeDataDir?: boolean;
}

export interface LoadedConfig {
  readonly config: Config;
  /** Unknown keys and other things worth telling the user that do not stop the bridge. */
  readonly warnings: readonly string[];
  /** Where each layer came from, for `check-config`. */
  readonly sources: readonly string[];
  /** True when running as a Home Assistant add-on (the Supervisor set `SUPERVISOR_TOKEN`). */
  readonly addon: boolean;
}

const ADDON_OPTIONS_FILE = "/data/options.json";

/**
 * Builds the effective configuration: defaults < add-on options (when `SUPERVISOR_TOKEN` is set) or
 * `--config FILE` < environment < CLI flags. Every problem is collected and thrown at once.
 */
export function loadConfig(options: LoadOptions = {}): LoadedConfig {
  const env = options.env ?? process.env;
  const issues: ConfigIssue[] = [];
  const warnings: string[] = [];
  const sources: string[] = ["defaults"];
  const addon = Boolean(env.SUPERVISOR_TOKEN) && options.configFile === undefined;
  const layers: Record<string, unknown>[] = [];

  if (addon) {
    layers.push({ data_dir: "/data" });
    const file = env.PMA_ADDON_OPTIONS_FILE ?? ADDON_OPTIONS_FILE;
    const fromFile = readConfigFile(file, issues);
    if (fromFile !== undefined) {
      layers.push(fromAddonOptions(fromFile));
      sources.push(`add-on options ${file}`);
    }
  } else if (options.configFile !== undefined) {
    const fromFile = readConfigFile(options.configFile, issues);
    if (fromFile !== undefined) {
      layers.push(fromFile);
      sources.push(`file ${options.configFile}`);
    }
  }

  const fromEnv = configFromEnv(env, issues);
  if (Object.keys(fromEnv).length > 0) {
    layers.push(fromEnv);
    sources.push("environment");
  }
  if (options.overrides !== undefined && Object.keys(options.overrides).length > 0) {
    layers.push(options.overrides);
    sources.push("command line");
  }

  const raw = layers.reduce<Record<string, unknown>>((acc, layer) => deepMerge(acc, layer), {});
  warnings.push(...unknownKeys(configSchema, raw, "").map((path) => `unknown option ${path} (ignored)`));

  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      issues.push({ path: issue.path.map(String).join(".") || "(root)", message: issue.message });
    }
  }
  issues.push(...crossFieldIssues(raw));

  if (parsed.success && options.probeDataDir !== false) {
    const problem = probeDataDir(parsed.data.data_dir);
    if (problem !== undefined) issues.push({ path: "data_dir", message: problem });
  }
  if (issues.length > 0 || !parsed.success) throw new ConfigError(dedupe(issues));
  return { config: parsed.data, warnings, sources, addon };
}

function readConfigFile(file: string, issues: ConfigIssue[]): Record<string, unknown> | undefined {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    issues.push({ path: file, message: `cannot be read: ${errorMessage(error)}` });
    return undefined;
  }
  let value: unknown;
  try {
    value = extname(file).toLowerCase() === ".json" ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    issues.push({
      path: file,
      message: `is not valid ${extname(file) === ".json" ? "JSON" : "YAML"}: ${errorMessage(error)}`,
    });
    return undefined;
  }
  if (value === null || value === undefined) return {};
  if (!isRecord(value)) {
    issues.push({ path: file, message: "must contain a mapping of options" });
    return undefined;
  }
  return dropNulls(value);
}

/** The Supervisor writes absent optional options as nothing, but hand-written files sometimes say `null`. */
function dropNulls(value: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value)) {
    if (child === null && key !== "ingress_port") continue;
    out[key] = isRecord(child) ? dropNulls(child) : child;
  }
  return out;
}

function probeDataDir(dir: string): string | undefined {
  try {
    makeDirectories(resolve(dir));
    accessSync(dir, constants.R_OK | constants.W_OK);
    return undefined;
  } catch (error) {
    return `${dir} is not a writable directory: ${errorMessage(error)}`;
  }
}

/**
 * `mkdir -p` one level at a time: Node's own recursive mkdir never returns on some pseudo file systems (it
 * loops on a path under /proc), and a bad data_dir must give an error, not a hang.
 */
function makeDirectories(dir: string): void {
  if (existsSync(dir)) return;
  const parent = dirname(dir);
  if (parent !== dir) makeDirectories(parent);
  mkdirSync(dir);
}

function dedupe(issues: ConfigIssue[]): ConfigIssue[] {
  const seen = new Set<string>();
  return issues.filter((issue) => {
    const key = `${issue.path}\0${issue.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

export function deepMerge(
  base: Record<string, unknown>,
  layer: Record<string, unknown>,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(layer)) {
    const current = out[key];
    out[key] = isRecord(current) && isRecord(value) ? deepMerge(current, value) : value;
  }
  return out;
}

/** Strips optional/default/nullable wrappers to reach the type that says what a value is. */
function unwrap(schema: z.ZodType): z.ZodType {
  let current = schema;
  for (;;) {
    const def = current._zod.def as { type: string; innerType?: z.ZodType; in?: z.ZodType };
    if (def.innerType !== undefined) current = def.innerType;
    else if (def.type === "pipe" && def.in !== undefined) current = def.in;
    else return current;
  }
}

function unknownKeys(schema: z.ZodType, value: unknown, prefix: string): string[] {
  const inner = unwrap(schema);
  if (inner instanceof z.ZodObject && isRecord(value)) {
    const shape = inner.shape as Record<string, z.ZodType>;
    return Object.entries(value).flatMap(([key, child]) => {
      const path = prefix === "" ? key : `${prefix}.${key}`;
      const childSchema = shape[key];
      return childSchema === undefined ? [path] : unknownKeys(childSchema, child, path);
    });
  }
  if (inner instanceof z.ZodArray && Array.isArray(value)) {
    return value.flatMap((item, index) =>
      unknownKeys(inner.element as z.ZodType, item, `${prefix}.${index}`),
    );
  }
  return [];
}

export interface EnvVariable {
  readonly name: string;
  readonly path: readonly string[];
  readonly kind: "string" | "number" | "boolean" | "list" | "json";
}

/** Every `PMA_*` variable, derived from the schema: `server.rate_limit.messages_per_minute` → `PMA_SERVER_RATE_LIMIT_MESSAGES_PER_MINUTE`. */
export function environmentVariables(): EnvVariable[] {
  const out: EnvVariable[] = [];
  const walk = (schema: z.ZodType, path: string[]): void => {
    const inner = unwrap(schema);
    if (inner instanceof z.ZodObject) {
      for (const [key, child] of Object.entries(inner.shape as Record<string, z.ZodType>))
        walk(child, [...path, key]);
      return;
    }
    const name = `PMA_${path.join("_").toUpperCase()}`;
    const type = (inner._zod.def as { type: string }).type;
    if (type === "number" || type === "int") out.push({ name, path, kind: "number" });
    else if (type === "boolean") out.push({ name, path, kind: "boolean" });
    else if (type === "string" || type === "enum") out.push({ name, path, kind: "string" });
    else if (inner instanceof z.ZodArray && unwrap(inner.element as z.ZodType) instanceof z.ZodString) {
      out.push({ name, path, kind: "list" });
    } else out.push({ name, path, kind: "json" });
  };
  walk(configSchema, []);
  return out;
}

/** The seed 002 system's variables, kept so its deployments can point their environment at the bridge. */
const SEED_VARIABLES: Readonly<Record<string, { path: readonly string[]; kind: EnvVariable["kind"] }>> = {
  WEBSOCKET_API_ENABLED: { path: ["server", "occupancy_listener", "enabled"], kind: "boolean" },
  WEBSOCKET_API_HOST: { path: ["server", "host"], kind: "string" },
  WEBSOCKET_API_PORT: { path: ["server", "occupancy_listener", "port"], kind: "number" },
  WEBSOCKET_API_MAX_CONNECTIONS: { path: ["server", "max_connections"], kind: "number" },
};

function configFromEnv(env: NodeJS.ProcessEnv, issues: ConfigIssue[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const apply = (name: string, path: readonly string[], kind: EnvVariable["kind"]): void => {
    const text = env[name];
    if (text === undefined || text === "") return;
    const value = coerce(text, kind);
    if (value === undefined) {
      issues.push({
        path: `${name} (environment)`,
        message: `cannot be read as ${kind}: ${JSON.stringify(text)}`,
      });
      return;
    }
    setPath(out, path, value);
  };
  // Seed names first so that the bridge's own PMA_* names win when both are set.
  for (const [name, spec] of Object.entries(SEED_VARIABLES)) apply(name, spec.path, spec.kind);
  for (const variable of environmentVariables()) apply(variable.name, variable.path, variable.kind);
  return out;
}

function coerce(text: string, kind: EnvVariable["kind"]): unknown {
  switch (kind) {
    case "string":
      return text;
    case "number": {
      const n = Number(text);
      return Number.isFinite(n) && text.trim() !== "" ? n : undefined;
    }
    case "boolean": {
      const lower = text.trim().toLowerCase();
      if (["1", "true", "yes", "on"].includes(lower)) return true;
      if (["0", "false", "no", "off"].includes(lower)) return false;
      return undefined;
    }
    case "list":
      return text.trim().startsWith("[")
        ? tryJson(text)
        : text
            .split(",")
            .map((s) => s.trim())
            .filter(Boolean);
    case "json":
      return tryJson(text);
  }
}

function tryJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export function setPath(target: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let node = target;
  path.forEach((key, index) => {
    if (index === path.length - 1) {
      node[key] = value;
      return;
    }
    const next = node[key];
    if (isRecord(next)) node = next;
    else {
      const created: Record<string, unknown> = {};
      node[key] = created;
      node = created;
    }
  });
}

/** A copy of the config with every secret replaced, for printing. */
export function maskSecrets(config: Config): unknown {
  const masked = structuredClone(config) as unknown as Record<string, unknown>;
  for (const pattern of SECRET_PATHS) maskPath(masked, pattern.split("."));
  return masked;
}

function maskPath(node: unknown, path: string[]): void {
  const [head, ...rest] = path;
  if (head === undefined) return;
  if (head === "*" && Array.isArray(node)) {
    for (const item of node) maskPath(item, rest);
    return;
  }
  if (!isRecord(node) || !(head in node)) return;
  if (rest.length === 0) {
    if (node[head] !== undefined) node[head] = "********";
    return;
  }
  maskPath(node[head], rest);
}
