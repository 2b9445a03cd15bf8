import { z } from "zod";
import { isRecord } from "../../config/schema.js";
import type { Attributes, JsonValue } from "../../core/events.js";
import type { AreaRecord, DeviceRecord, EntityRecord, FloorRecord } from "../../core/home-model.js";

/**
 * The one parser for what Home Assistant sends the bridge after auth: every payload arrives as `unknown`
 * and is validated here. Lists and snapshots are validated per item, so one malformed entry is skipped
 * (and counted) without losing the rest.
 */

/**
 * How many levels objects and lists may nest inside attributes and event data. JSON.parse takes any depth,
 * but JSON.stringify overflows the stack at a few thousand levels, and every such value is later sent to
 * clients as JSON (from a timer, where a throw ends the process). HA's own attributes nest a few levels.
 */
export const MAX_NESTING = 64;

/**
 * Whether objects and lists nest at most `levelsLeft` levels below `value` (its own values are level 1).
 * The recursion stops at the first level too deep, so it never goes deeper than the limit itself.
 */
function nestsWithin(value: object, levelsLeft = MAX_NESTING): boolean {
  const children: readonly unknown[] = Array.isArray(value) ? value : Object.values(value);
  for (const child of children) {
    if (typeof child !== "object" || child === null) continue;
    if (levelsLeft === 0 || !nestsWithin(child, levelsLeft - 1)) return false;
  }
  return true;
}

function isShallowRecord(value: unknown): value is Record<string, unknown> {
  return isRecord(value) && nestsWithin(value);
}

// Values inside attributes and event data come straight from JSON.parse, so any record of them is JSON.
const attributes = z.custom<Attributes>(
  isShallowRecord,
  `expected an attributes object nested at most ${MAX_NESTING} levels deep`,
);
const jsonRecord = z.custom<{ readonly [key: string]: JsonValue }>(
  isShallowRecord,
  `expected an object nested at most ${MAX_NESTING} levels deep`,
);

const contextObject = z.object({
  id: z.string().optional(),
  parent_id: z.string().nullable().optional(),
  user_id: z.string().nullable().optional(),
});
/** A bare string is a context id whose parent and user are null. */
const compressedContext = z.union([z.string(), contextObject]);

/** Date's range (±8.64e15 ms), in the float epoch seconds HA sends: anything beyond is no time at all. */
const MAX_EPOCH_SECONDS = 8.64e12;
const epochSeconds = z.number().min(-MAX_EPOCH_SECONDS).max(MAX_EPOCH_SECONDS);

function isEpochSeconds(value: unknown): boolean {
  return typeof value === "number" && value >= -MAX_EPOCH_SECONDS && value <= MAX_EPOCH_SECONDS;
}

export const compressedStateSchema = z.object({
  s: z.string(),
  a: attributes,
  c: compressedContext.optional(),
  lc: epochSeconds,
  lu: epochSeconds.optional(),
});
export type CompressedState = z.infer<typeof compressedStateSchema>;

export const stateDiffSchema = z.object({
  "+": z
    .object({
      s: z.string().optional(),
      a: attributes.optional(),
      c: compressedContext.optional(),
      lc: epochSeconds.optional(),
      lu: epochSeconds.optional(),
    })
    .optional(),
  "-": z.object({ a: z.array(z.string()) }).optional(),
});
export type StateDiff = z.infer<typeof stateDiffSchema>;

const entitiesEventSchema = z.object({
  a: z.record(z.string(), z.unknown()).optional(),
  c: z.record(z.string(), z.unknown()).optional(),
  r: z.array(z.string()).optional(),
});

export interface EntitiesEvent {
  readonly added: ReadonlyMap<string, CompressedState>;
  readonly changed: ReadonlyMap<string, StateDiff>;
  readonly removed: readonly string[];
  /** Entity ids whose entries did not validate. */
  readonly malformed: readonly string[];
}

export type Parsed<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: string };

function issueText(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ");
}

/*
 * Fast path for the hot shape (one `c` diff per live change). These guards accept only plain JSON objects whose
 * keys are all known and whose values have the schema's types, i.e. input the zod schemas would accept and
 * return unchanged (zod strips unknown keys, so an object with any other key is not "unchanged"); such input
 * is used as it is. Everything else (unusual or malformed) goes through the zod schemas, which decide exactly
 * as before.
 */

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function isOptionalStringOrNull(value: unknown): boolean {
  return value === null || typeof value === "string";
}

function isPlainContext(value: unknown): boolean {
  if (typeof value === "string") return true;
  if (!isPlainObject(value)) return false;
  for (const key in value) {
    const field = value[key];
    if (
      key === "id"
        ? typeof field !== "string"
        : key === "parent_id" || key === "user_id"
          ? !isOptionalStringOrNull(field)
          : true
    )
      return false;
  }
  return true;
}

function isPlainDiffPlus(value: unknown): boolean {
  if (!isPlainObject(value)) return false;
  for (const key in value) {
    const field = value[key];
    switch (key) {
      case "s":
        if (typeof field !== "string") return false;
        break;
      case "a":
        if (!isShallowRecord(field)) return false;
        break;
      case "c":
        if (!isPlainContext(field)) return false;
        break;
      case "lc":
      case "lu":
        if (!isEpochSeconds(field)) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

function isStringArray(value: unknown): value is string[] {
  if (!Array.isArray(value)) return false;
  for (const item of value) if (typeof item !== "string") return false;
  return true;
}

function isPlainDiff(value: unknown): value is StateDiff {
  if (!isPlainObject(value)) return false;
  for (const key in value) {
    const field = value[key];
    if (key === "+") {
      if (!isPlainDiffPlus(field)) return false;
    } else if (key === "-") {
      if (!isPlainObject(field)) return false;
      for (const minusKey in field) if (minusKey !== "a") return false;
      if (!isStringArray(field.a)) return false;
    } else return false;
  }
  return true;
}

function parseDiff(value: unknown): StateDiff | undefined {
  if (isPlainDiff(value)) return value;
  const diff = stateDiffSchema.safeParse(value);
  return diff.success ? diff.data : undefined;
}

/** The top level, or undefined when it needs the schema (not a plain object, or a wrongly typed field). */
function plainEvent(raw: unknown): z.infer<typeof entitiesEventSchema> | undefined {
  if (!isPlainObject(raw)) return undefined;
  const { a, c, r } = raw;
  if (a !== undefined && !isPlainObject(a)) return undefined;
  if (c !== undefined && !isPlainObject(c)) return undefined;
  if (r !== undefined && !isStringArray(r)) return undefined;
  return { a, c, r };
}

/** A `subscribe_entities` event: the snapshot (`a` only) or one diff (`a`, `c` or `r`). */
export function parseEntitiesEvent(raw: unknown): Parsed<EntitiesEvent> {
  let data = plainEvent(raw);
  if (data === undefined) {
    const parsed = entitiesEventSchema.safeParse(raw);
    if (!parsed.success) return { ok: false, error: issueText(parsed.error) };
    data = parsed.data;
  }
  const malformed: string[] = [];
  const added = new Map<string, CompressedState>();
  if (data.a !== undefined) {
    for (const [id, value] of Object.entries(data.a)) {
      const state = compressedStateSchema.safeParse(value);
      if (state.success) added.set(id, state.data);
      else malformed.push(id);
    }
  }
  const changed = new Map<string, StateDiff>();
  if (data.c !== undefined) {
    for (const id in data.c) {
      const diff = parseDiff(data.c[id]);
      if (diff !== undefined) changed.set(id, diff);
      else malformed.push(id);
    }
  }
  return { ok: true, value: { added, changed, removed: data.r ?? [], malformed } };
}

/**
 * The first event of a `subscribe_entities` subscription: the full snapshot, which HA sends as `a` alone
 * (`{"a": {}}` for a home without states). Anything else would be read as a home that lost its states.
 */
export function parseEntitiesSnapshot(raw: unknown): Parsed<EntitiesEvent> {
  const parsed = parseEntitiesEvent(raw);
  if (!parsed.ok) return parsed;
  if (!isRecord(raw) || raw.a === undefined) return { ok: false, error: "a: required in a snapshot" };
  if (raw.c !== undefined || raw.r !== undefined)
    return { ok: false, error: "the snapshot has changes (c) or removals (r)" };
  return parsed;
}

const haEventSchema = z.object({
  event_type: z.string(),
  data: jsonRecord.optional(),
  time_fired: z.string().optional(),
  context: contextObject.nullable().optional(),
});
export type HaEvent = z.infer<typeof haEventSchema>;

export function parseHaEvent(raw: unknown): Parsed<HaEvent> {
  const parsed = haEventSchema.safeParse(raw);
  return parsed.success ? { ok: true, value: parsed.data } : { ok: false, error: issueText(parsed.error) };
}

const coreConfigSchema = z.object({ state: z.string(), version: z.string().optional() });
export type CoreConfig = z.infer<typeof coreConfigSchema>;

export function parseCoreConfig(raw: unknown): Parsed<CoreConfig> {
  const parsed = coreConfigSchema.safeParse(raw);
  return parsed.success ? { ok: true, value: parsed.data } : { ok: false, error: issueText(parsed.error) };
}

const optionalString = z.string().nullable().optional();

const floorSchema = z.object({
  floor_id: z.string(),
  name: z.string(),
  level: z.number().nullable().optional(),
});
const areaSchema = z.object({ area_id: z.string(), name: z.string(), floor_id: optionalString });
const deviceSchema = z.object({
  id: z.string(),
  name: optionalString,
  name_by_user: optionalString,
  area_id: optionalString,
});
const entitySchema = z.object({
  id: z.string(),
  entity_id: z.string(),
  name: optionalString,
  original_name: optionalString,
  device_id: optionalString,
  area_id: optionalString,
  disabled_by: optionalString,
});

export type RegistryName = "floors" | "areas" | "devices" | "entities";

export interface RegistryList<T> {
  readonly items: readonly T[];
  readonly malformed: number;
}

function parseList<S extends z.ZodType, T>(
  raw: unknown,
  schema: S,
  map: (item: z.infer<S>) => T,
): Parsed<RegistryList<T>> {
  if (!Array.isArray(raw)) return { ok: false, error: "expected a list" };
  const items: T[] = [];
  let malformed = 0;
  for (const entry of raw) {
    const parsed = schema.safeParse(entry);
    if (parsed.success) items.push(map(parsed.data));
    else malformed++;
  }
  return { ok: true, value: { items, malformed } };
}

export function parseFloorList(raw: unknown): Parsed<RegistryList<FloorRecord>> {
  return parseList(raw, floorSchema, (f) => ({ floor_id: f.floor_id, name: f.name, level: f.level ?? null }));
}

export function parseAreaList(raw: unknown): Parsed<RegistryList<AreaRecord>> {
  return parseList(raw, areaSchema, (a) => ({
    area_id: a.area_id,
    name: a.name,
    floor_id: a.floor_id ?? null,
  }));
}

export function parseDeviceList(raw: unknown): Parsed<RegistryList<DeviceRecord>> {
  return parseList(raw, deviceSchema, (d) => ({
    id: d.id,
    name: d.name_by_user ?? d.name ?? null,
    area_id: d.area_id ?? null,
  }));
}

export function parseEntityList(raw: unknown): Parsed<RegistryList<EntityRecord>> {
  return parseList(raw, entitySchema, (e) => ({
    id: e.id,
    entity_id: e.entity_id,
    name: e.name ?? null,
    original_name: e.original_name ?? null,
    device_id: e.device_id ?? null,
    area_id: e.area_id ?? null,
    disabled_by: e.disabled_by ?? null,
  }));
}

/** Which registry a `*_registry_updated` event type is about. */
export function registryOfEvent(eventType: string): RegistryName | undefined {
  switch (eventType) {
    case "floor_registry_updated":
      return "floors";
    case "area_registry_updated":
      return "areas";
    case "device_registry_updated":
      return "devices";
    case "entity_registry_updated":
      return "entities";
    default:
      return undefined;
  }
}

/** An entity rename, which the event itself fully describes (`entity_id` new, `old_entity_id` old). */
export function renameOf(event: HaEvent): { readonly from: string; readonly to: string } | undefined {
  const data = event.data;
  if (event.event_type !== "entity_registry_updated" || data === undefined || data.action !== "update")
    return undefined;
  const { entity_id: to, old_entity_id: from } = data;
  return typeof from === "string" && typeof to === "string" && from !== to ? { from, to } : undefined;
}
