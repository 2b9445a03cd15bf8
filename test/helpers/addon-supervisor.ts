/**
 * The Home Assistant Supervisor's rules for an add-on's `config.yaml`, written down as code so that the tests
 * can check the manifest without Docker or a Supervisor. Facts from the Supervisor's `apps/validate.py` and
 * `apps/options.py` and the add-on linter's schema (see the packaging notes); the code is our own.
 */

/** One option rule such as `int(1,10)?`, parsed. */
export type OptionElement = { readonly optional: boolean } & (
  | { readonly kind: "str" | "password" | "int" | "float"; readonly min?: number; readonly max?: number }
  | { readonly kind: "bool" | "email" | "url" | "port" }
  | { readonly kind: "match"; readonly pattern: string }
  | { readonly kind: "list"; readonly choices: readonly string[] }
  | { readonly kind: "device"; readonly filter?: string }
);

/** A `schema` node: a rule, a list of one node, or a mapping. */
export type SchemaNode = string | readonly SchemaNode[] | { readonly [key: string]: SchemaNode };

const BOUNDED = /^(str|password|int|float)(?:\((\d+(?:\.\d+)?)?,(\d+(?:\.\d+)?)?\))?$/;

/**
 * Parses one rule the way the Supervisor's element grammar reads it: integer bounds for `str`, `password` and
 * `int` (no negative bounds), decimal bounds for `float`, `match(REGEX)`, `list(a|b)`, `device(subsystem=x)`,
 * and a trailing `?` for optional. Returns undefined for anything the Supervisor would refuse.
 */
export function parseElement(rule: string): OptionElement | undefined {
  const optional = rule.endsWith("?");
  const body = optional ? rule.slice(0, -1) : rule;
  if (body === "bool" || body === "email" || body === "url" || body === "port")
    return { kind: body, optional };
  const match = /^match\((.*)\)$/.exec(body);
  if (match?.[1] !== undefined) return { kind: "match", pattern: match[1], optional };
  const list = /^list\((.+)\)$/.exec(body);
  if (list?.[1] !== undefined) return { kind: "list", choices: list[1].split("|"), optional };
  const device = /^device(?:\((subsystem=[a-z]+)\))?$/.exec(body);
  if (device !== null)
    return device[1] === undefined
      ? { kind: "device", optional }
      : { kind: "device", filter: device[1], optional };
  const bounded = BOUNDED.exec(body);
  if (bounded === null) return undefined;
  const kind = bounded[1] as "str" | "password" | "int" | "float";
  const [min, max] = [bounded[2], bounded[3]];
  if (kind !== "float" && [min, max].some((bound) => bound?.includes("."))) return undefined;
  return {
    kind,
    optional,
    ...(min === undefined ? {} : { min: Number(min) }),
    ...(max === undefined ? {} : { max: Number(max) }),
  };
}

const TRUE_WORDS = ["1", "true", "yes", "on", "enable"];
const FALSE_WORDS = ["0", "false", "no", "off", "disable"];

/** Checks one value against a rule with the Supervisor's coercions; returns what is wrong, or undefined. */
export function validateValue(element: OptionElement, value: unknown): string | undefined {
  switch (element.kind) {
    case "str":
    case "password": {
      if (typeof value !== "string" && typeof value !== "number" && typeof value !== "boolean")
        return "expected a string";
      return outOfRange(String(value).length, element.min, element.max, "length");
    }
    case "int": {
      const n = typeof value === "string" && /^-?\d+$/.test(value.trim()) ? Number(value) : value;
      if (typeof n !== "number" || !Number.isInteger(n)) return "expected an integer";
      return outOfRange(n, element.min, element.max, "value");
    }
    case "float": {
      const n = typeof value === "string" && value.trim() !== "" ? Number(value) : value;
      if (typeof n !== "number" || !Number.isFinite(n)) return "expected a number";
      return outOfRange(n, element.min, element.max, "value");
    }
    case "port":
      return validateValue({ kind: "int", min: 1, max: 65535, optional: false }, value);
    case "bool":
      if (typeof value === "boolean") return undefined;
      return typeof value === "string" && [...TRUE_WORDS, ...FALSE_WORDS].includes(value.toLowerCase())
        ? undefined
        : "expected a boolean";
    case "email":
      return typeof value === "string" && /^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(value)
        ? undefined
        : "expected an email address";
    case "url":
      return typeof value === "string" && hasSchemeAndHost(value)
        ? undefined
        : "expected a URL with a scheme and a host";
    case "match":
      // Python's re.match anchors at the start only.
      return typeof value === "string" && new RegExp(`^(?:${element.pattern})`).test(value)
        ? undefined
        : `does not match ${element.pattern}`;
    case "list":
      return typeof value === "string" && element.choices.includes(value)
        ? undefined
        : `must be one of ${element.choices.join(", ")}`;
    case "device":
      return typeof value === "string" && value.startsWith("/dev/") ? undefined : "expected a device path";
  }
}

function outOfRange(
  n: number,
  min: number | undefined,
  max: number | undefined,
  what: string,
): string | undefined {
  if (min !== undefined && n < min) return `${what} ${n} is below ${min}`;
  if (max !== undefined && n > max) return `${what} ${n} is above ${max}`;
  return undefined;
}

function hasSchemeAndHost(text: string): boolean {
  try {
    const url = new URL(text);
    return url.protocol.length > 1 && url.host !== "";
  } catch {
    return false;
  }
}

function isMapping(node: unknown): node is Record<string, unknown> {
  return typeof node === "object" && node !== null && !Array.isArray(node);
}

/**
 * The shapes `validate.py` accepts for `schema`: at the top level a rule, a list of one rule or of one flat
 * mapping, or a flat mapping; a flat mapping holds rules and lists of one rule. Nothing deeper.
 */
export function schemaShapeProblems(schema: unknown): string[] {
  if (!isMapping(schema)) return ["schema: must be a mapping"];
  const problems: string[] = [];
  const rule = (path: string, node: unknown): void => {
    if (typeof node !== "string")
      problems.push(`${path}: nested too deep for the Supervisor (only rules here)`);
    else if (parseElement(node) === undefined)
      problems.push(`${path}: "${node}" is not a Supervisor option rule`);
  };
  const flat = (path: string, node: Record<string, unknown>): void => {
    for (const [key, child] of Object.entries(node)) {
      if (Array.isArray(child)) oneItem(`${path}.${key}`, child, (p, item) => rule(p, item));
      else rule(`${path}.${key}`, child);
    }
  };
  const oneItem = (path: string, list: unknown[], each: (path: string, item: unknown) => void): void => {
    if (list.length !== 1) problems.push(`${path}: a list rule holds exactly one element`);
    else each(`${path}[]`, list[0]);
  };
  for (const [key, node] of Object.entries(schema)) {
    if (Array.isArray(node)) {
      oneItem(key, node, (path, item) => (isMapping(item) ? flat(path, item) : rule(path, item)));
    } else if (isMapping(node)) flat(key, node);
    else rule(key, node);
  }
  return problems;
}

/**
 * What the Supervisor would say about `options` under `schema` when it writes `/data/options.json`: values
 * that fail their rule, keys the schema does not know, and required keys that are missing. Assumes a schema
 * that passed {@link schemaShapeProblems}.
 */
export function optionProblems(
  schema: Record<string, SchemaNode>,
  options: Record<string, unknown>,
): string[] {
  const problems: string[] = [];
  const check = (path: string, node: SchemaNode, value: unknown): void => {
    if (typeof node === "string") {
      const element = parseElement(node);
      const problem = element === undefined ? "has no valid rule" : validateValue(element, value);
      if (problem !== undefined) problems.push(`${path}: ${problem}`);
    } else if (Array.isArray(node)) {
      if (!Array.isArray(value)) problems.push(`${path}: expected a list`);
      else {
        for (const [index, item] of value.entries()) check(`${path}.${index}`, node[0] as SchemaNode, item);
      }
    } else if (!isMapping(value)) {
      problems.push(`${path}: expected a mapping`);
    } else {
      mapping(path, node as Record<string, SchemaNode>, value);
    }
  };
  const mapping = (path: string, node: Record<string, SchemaNode>, value: Record<string, unknown>): void => {
    const at = (key: string): string => (path === "" ? key : `${path}.${key}`);
    for (const [key, child] of Object.entries(value)) {
      const rule = node[key];
      if (rule === undefined) problems.push(`${at(key)}: does not exist in the schema`);
      else check(at(key), rule, child);
    }
    for (const [key, rule] of Object.entries(node)) {
      if (!(key in value) && !isOptionalRule(rule)) problems.push(`${at(key)}: missing required option`);
    }
  };
  mapping("", schema, options);
  return problems;
}

/** Optional means a rule ending in `?`; for a list, its element decides. A mapping is never optional. */
export function isOptionalRule(node: SchemaNode): boolean {
  const rule = Array.isArray(node) ? node[0] : node;
  return typeof rule === "string" && rule.endsWith("?");
}

/** Every rule in a schema with its dotted path (`[]` marks a list element). */
export function schemaLeaves(schema: SchemaNode, prefix = ""): { path: string; rule: string }[] {
  if (typeof schema === "string") return [{ path: prefix, rule: schema }];
  if (Array.isArray(schema)) return schemaLeaves(schema[0] as SchemaNode, `${prefix}[]`);
  return Object.entries(schema).flatMap(([key, child]) =>
    schemaLeaves(child, prefix === "" ? key : `${prefix}.${key}`),
  );
}

/**
 * Defaults of the manifest keys the add-on linter knows; a key set to its default is a lint error. (`options`
 * and `schema` default to `{}`.)
 */
const MANIFEST_DEFAULTS: Readonly<Record<string, unknown>> = {
  advanced: false,
  apparmor: true,
  audio: false,
  auth_api: false,
  auto_uart: false,
  backup: "hot",
  boot: "auto",
  devicetree: false,
  docker_api: false,
  full_access: false,
  gpio: false,
  hassio_api: false,
  hassio_role: "default",
  homeassistant_api: false,
  host_dbus: false,
  host_ipc: false,
  host_network: false,
  host_pid: false,
  host_uts: false,
  ingress: false,
  ingress_port: 8099,
  ingress_stream: false,
  init: true,
  journald: false,
  kernel_modules: false,
  legacy: false,
  panel_admin: true,
  panel_icon: "mdi:puzzle",
  realtime: false,
  stage: "stable",
  startup: "application",
  stdin: false,
  timeout: 10,
  tmpfs: false,
  uart: false,
  udev: false,
  usb: false,
  video: false,
};

const REQUIRED_KEYS = ["name", "version", "slug", "description", "arch"] as const;
/** Obsolete or refused keys: the linter errors on them, the Supervisor ignores them. */
const OBSOLETE_KEYS = ["watchdog", "codenotary", "advanced"];
const SUPPORTED_ARCHES = ["aarch64", "amd64"];
const ENUMS: Readonly<Record<string, readonly string[]>> = {
  startup: ["initialize", "system", "services", "application", "once"],
  boot: ["auto", "manual", "manual_only"],
  stage: ["stable", "experimental", "deprecated"],
  backup: ["hot", "cold"],
  hassio_role: ["default", "homeassistant", "backup", "manager", "admin"],
};

/** Problems the Supervisor or the add-on linter would report for a parsed `config.yaml`. */
export function manifestProblems(manifest: Record<string, unknown>): string[] {
  const problems: string[] = [];
  for (const key of REQUIRED_KEYS) if (manifest[key] === undefined) problems.push(`${key}: required`);
  for (const key of ["name", "version", "slug", "description"]) {
    if (manifest[key] !== undefined && typeof manifest[key] !== "string")
      problems.push(`${key}: must be a string`);
  }
  if (typeof manifest.slug === "string" && !/^[-_.A-Za-z0-9]+$/.test(manifest.slug)) {
    problems.push("slug: only letters, digits, '-', '_' and '.'");
  }
  const arch = manifest.arch;
  if (!Array.isArray(arch) || arch.length === 0) problems.push("arch: must be a non-empty list");
  else {
    for (const a of arch)
      if (!SUPPORTED_ARCHES.includes(String(a))) problems.push(`arch: ${String(a)} is not supported`);
  }
  for (const [key, value] of Object.entries(manifest)) {
    if (key in MANIFEST_DEFAULTS && MANIFEST_DEFAULTS[key] === value) {
      problems.push(`${key}: equals its default (${JSON.stringify(value)}); leave it out`);
    }
    const choices = ENUMS[key];
    if (choices !== undefined && !choices.includes(String(value)))
      problems.push(`${key}: must be one of ${choices.join(", ")}`);
  }
  for (const key of ["options", "schema"]) {
    if (isMapping(manifest[key]) && Object.keys(manifest[key]).length === 0)
      problems.push(`${key}: equals its default ({}); leave it out`);
  }
  for (const key of OBSOLETE_KEYS) if (key in manifest) problems.push(`${key}: obsolete, remove it`);
  const timeout = manifest.timeout;
  if (
    timeout !== undefined &&
    (typeof timeout !== "number" || !Number.isInteger(timeout) || timeout < 10 || timeout > 300)
  ) {
    problems.push("timeout: must be an integer from 10 to 300");
  }
  problems.push(...portProblems(manifest));
  const services = manifest.services;
  if (services !== undefined) {
    if (!Array.isArray(services)) problems.push("services: must be a list");
    else {
      for (const s of services) {
        if (!/^(mqtt|mysql):(provide|want|need)$/.test(String(s)))
          problems.push(`services: ${String(s)} is not service:right`);
      }
    }
  }
  if (manifest.ingress === true && manifest.webui !== undefined)
    problems.push("webui: not together with ingress");
  if (manifest.ingress_port === 0 && manifest.host_network !== true)
    problems.push("ingress_port: 0 needs host_network");
  if (manifest.panel_icon !== undefined && !/^mdi:[a-z0-9-]+$/.test(String(manifest.panel_icon))) {
    problems.push("panel_icon: must be an mdi: icon name");
  }
  if (typeof manifest.image === "string" && /:[^/]+$/.test(manifest.image))
    problems.push("image: must not carry a tag");
  return problems;
}

function portProblems(manifest: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const key = /^\d+(\/tcp|\/udp)?$/;
  const ports = manifest.ports;
  if (ports !== undefined) {
    if (!isMapping(ports)) return ["ports: must be a mapping"];
    for (const [name, host] of Object.entries(ports)) {
      if (!key.test(name)) problems.push(`ports: "${name}" is not PORT/tcp or PORT/udp`);
      if (
        host !== null &&
        (typeof host !== "number" || !Number.isInteger(host) || host < 1 || host > 65535)
      ) {
        problems.push(`ports.${name}: host port must be 1-65535 or null`);
      }
    }
  }
  const described = manifest.ports_description;
  if (described !== undefined) {
    if (!isMapping(described)) return [...problems, "ports_description: must be a mapping"];
    for (const name of Object.keys(described)) {
      if (!isMapping(ports) || !(name in ports)) problems.push(`ports_description: ${name} is not in ports`);
    }
  }
  return problems;
}

/**
 * True for a file the Supervisor would read as an add-on manifest: `config.yaml|yml|json` in a path with no
 * component starting with `.` and none named `rootfs`.
 */
export function isManifestPath(path: string): boolean {
  const parts = path.split("/");
  const name = parts.at(-1) ?? "";
  return (
    /^config\.(ya?ml|json)$/.test(name) &&
    !parts.slice(0, -1).some((p) => p.startsWith(".") || p === "rootfs")
  );
}
