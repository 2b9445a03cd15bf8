/**
 * Pure normalisation of the prediction system's MQTT payloads into the bridge's event data. Every function
 * takes untrusted input and returns either a value or a machine-readable reason; nothing here throws,
 * logs or reads a clock (the caller passes `now`).
 */
import { createHash } from "node:crypto";
import type {
  AlertData,
  AlertSeverity,
  DriftData,
  JsonValue,
  PredictionAlternative,
  PredictionData,
  SystemHealth,
  TargetState,
} from "../../core/events.js";
import type { ResolvedRoom } from "./rooms.js";

export type RejectReason =
  | "payload_too_large"
  | "payload_too_deep"
  | "invalid_json"
  | "invalid_payload"
  | "invalid_timestamp"
  | "invalid_room"
  | "reserved_room"
  | "unknown_room"
  | "unknown_topic";

export type Parsed<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly reason: RejectReason; readonly detail: string };

type JsonObject = { readonly [key: string]: JsonValue };

const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const fail = <T>(reason: RejectReason, detail: string): Parsed<T> => ({ ok: false, reason, detail });

/**
 * The deepest nesting of arrays and objects a payload may have. Nothing the predictor or Home Assistant sends
 * comes near it, while a few thousand levels (12 KB of `[`) make `JSON.stringify` overflow the stack when the
 * value is later sent to clients.
 */
export const MAX_JSON_DEPTH = 64;

/** Decodes a payload as JSON, refusing oversized and too deeply nested ones before parsing them. */
export function decodeJson(payload: Uint8Array, maxBytes: number): Parsed<JsonValue> {
  if (payload.byteLength > maxBytes) {
    return fail("payload_too_large", `${payload.byteLength} bytes exceeds the ${maxBytes}-byte limit`);
  }
  if (nestingExceeds(payload, MAX_JSON_DEPTH)) {
    return fail("payload_too_deep", `nested deeper than ${MAX_JSON_DEPTH} levels`);
  }
  try {
    return ok(JSON.parse(Buffer.from(payload).toString("utf8")) as JsonValue);
  } catch (error) {
    return fail("invalid_json", error instanceof Error ? error.message : "not JSON");
  }
}

const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * Whether the JSON text opens more than `limit` arrays or objects inside each other. One pass over the bytes,
 * skipping strings, with a counter instead of recursion (so no payload can overflow the stack here either).
 * UTF-8 never uses bytes below 0x80 inside a multi-byte character, so reading bytes is exact.
 */
function nestingExceeds(payload: Uint8Array, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < payload.length; i++) {
    const byte = payload[i];
    if (inString) {
      if (byte === BACKSLASH) i++;
      else if (byte === QUOTE) inString = false;
    } else if (byte === QUOTE) {
      inString = true;
    } else if (byte === OPEN_BRACKET || byte === OPEN_BRACE) {
      depth++;
      if (depth > limit) return true;
    } else if (byte === CLOSE_BRACKET || byte === CLOSE_BRACE) {
      depth--;
    }
  }
  return false;
}

/** Timestamps outside these years are treated as garbage rather than as predictions. */
const MIN_YEAR = 2000;
const MAX_YEAR = 2200;
const TIMESTAMP =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?$/;

/**
 * Parses the ISO-8601 forms Python and JavaScript emit (`Z` or `±hh:mm`, a `T` or a space, micro- or
 * nanoseconds) into UTC `Z` with milliseconds. A timestamp without an offset is read as UTC, which is
 * what the predictor means. Returns undefined for anything else, including impossible dates.
 */
export function normalizeTimestamp(value: unknown): string | undefined {
  if (typeof value !== "string") return undefined;
  const m = TIMESTAMP.exec(value.trim());
  if (m === null) return undefined;
  const [, y, mo, d, h, mi, s = "0", frac = "", zone = "Z"] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(s);
  if (year < MIN_YEAR || year > MAX_YEAR || hour > 23 || minute > 59 || second > 59) return undefined;
  const millis = Number(frac.padEnd(3, "0").slice(0, 3));
  const local = Date.UTC(year, month - 1, day, hour, minute, second, millis);
  const check = new Date(local);
  if (check.getUTCMonth() !== month - 1 || check.getUTCDate() !== day) return undefined;
  return new Date(local - offsetMinutes(zone) * 60_000).toISOString();
}

function offsetMinutes(zone: string): number {
  if (zone === "Z" || zone === "z") return 0;
  const sign = zone.startsWith("-") ? -1 : 1;
  const digits = zone.slice(1).replace(":", "");
  return sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4) || "0"));
}

// Maps rather than object literals: keys come off the wire, and `constructor` must not find Object's.
const TRANSITIONS: ReadonlyMap<string, { readonly target: TargetState; readonly from: TargetState | null }> =
  new Map([
    ["vacant_to_occupied", { target: "occupied", from: "vacant" }],
    ["occupied_to_vacant", { target: "vacant", from: "occupied" }],
    ["occupied", { target: "occupied", from: null }],
    ["vacant", { target: "vacant", from: null }],
  ]);

/** Fields of the predictor's payload that `PredictionData` carries under its own names. */
const PREDICTION_FIELDS = new Set([
  "room_id",
  "room_name",
  "predicted_time",
  "transition_type",
  "current_state",
  "confidence_score",
  "time_until_seconds",
  "time_until_human",
  "model_type",
  "model_version",
  "alternatives",
  "features_count",
  "features_used",
  "prediction_made_at",
  "prediction_reliability",
  "prediction_metadata",
]);

export interface PredictionContext {
  /** The room segment of the topic: the topic, not the payload, says which room a prediction is for. */
  readonly predictorRoomId: string;
  readonly room: ResolvedRoom;
}

/**
 * `<prefix>/<room>/prediction` → `PredictionData`. The transition becomes the target state and the raw one is
 * kept; `time_until_*` are dropped (the dialect recomputes them at send time); the reliability becomes
 * `prediction_metadata.certainty_level`, and the predictor's extra fields (base predictions, model
 * weights, versions) are kept in `prediction_metadata`.
 */
export function parsePrediction(payload: JsonValue, context: PredictionContext): Parsed<PredictionData> {
  if (!isObject(payload)) return fail("invalid_payload", "prediction is not a JSON object");
  const predictedTime = normalizeTimestamp(payload.predicted_time);
  if (predictedTime === undefined) {
    return fail(
      "invalid_timestamp",
      `predicted_time ${describe(payload.predicted_time)} is not a plausible timestamp`,
    );
  }
  const rawTransition = payload.transition_type;
  const transition = typeof rawTransition === "string" ? TRANSITIONS.get(rawTransition) : undefined;
  if (typeof rawTransition !== "string" || transition === undefined) {
    return fail("invalid_payload", `transition_type ${describe(rawTransition)} is not a known transition`);
  }
  const confidence = payload.confidence_score;
  if (!isFraction(confidence)) {
    return fail("invalid_payload", `confidence_score ${describe(confidence)} is not a number from 0 to 1`);
  }
  const madeAtRaw = payload.prediction_made_at;
  const madeAt = madeAtRaw === undefined || madeAtRaw === null ? null : normalizeTimestamp(madeAtRaw);
  if (madeAt === undefined) {
    return fail(
      "invalid_timestamp",
      `prediction_made_at ${describe(madeAtRaw)} is not a plausible timestamp`,
    );
  }
  const currentState = payload.current_state;
  const metadataIn = isObject(payload.prediction_metadata) ? payload.prediction_metadata : {};
  const reliability = payload.prediction_reliability ?? metadataIn.certainty_level;
  const extras = mapEntries(payload, (key, value) =>
    PREDICTION_FIELDS.has(key) ? undefined : normalizeTimestampField(key, value),
  );
  const roomName =
    context.room.name ?? (typeof payload.room_name === "string" ? payload.room_name : undefined);
  return ok({
    room_id: context.room.roomId,
    room_name: roomName ?? titleCase(context.predictorRoomId),
    predictor_room_id: context.predictorRoomId,
    predicted_time: predictedTime,
    transition_type: transition.target,
    raw_transition_type: rawTransition,
    confidence_score: confidence,
    current_state: currentState === "occupied" || currentState === "vacant" ? currentState : transition.from,
    model_type: nonEmptyString(payload.model_type) ?? "unknown",
    model_version: nonEmptyString(payload.model_version) ?? "unknown",
    alternatives: parseAlternatives(payload.alternatives),
    features_used: nonNegativeInt(payload.features_count) ?? nonNegativeInt(payload.features_used) ?? null,
    prediction_made_at: madeAt,
    prediction_metadata: {
      ...metadataIn,
      ...extras,
      certainty_level: typeof reliability === "string" ? reliability : null,
    },
  });
}

function parseAlternatives(value: JsonValue | undefined): PredictionAlternative[] {
  if (!Array.isArray(value)) return [];
  const alternatives: PredictionAlternative[] = [];
  for (const item of value as readonly JsonValue[]) {
    if (!isObject(item)) continue;
    const time = normalizeTimestamp(item.predicted_time);
    const confidence = item.confidence ?? item.confidence_score;
    if (time !== undefined && isFraction(confidence)) alternatives.push({ predicted_time: time, confidence });
  }
  return alternatives;
}

/** The predictor's own words for its health, and what the bridge calls them. */
const PREDICTOR_HEALTH: ReadonlyMap<string, SystemHealth> = new Map([
  ["online", "healthy"],
  ["healthy", "healthy"],
  ["degraded", "degraded"],
  ["offline", "offline"],
]);

export interface PredictorStatus {
  readonly status: SystemHealth;
  readonly payload: JsonObject;
}

/** `<prefix>/system/status` → the predictor's health (`system_status` online|degraded|offline) and payload. */
export function parseSystemStatus(payload: JsonValue): Parsed<PredictorStatus> {
  if (!isObject(payload)) return fail("invalid_payload", "system status is not a JSON object");
  const raw = payload.system_status ?? payload.status;
  const status = typeof raw === "string" ? PREDICTOR_HEALTH.get(raw) : undefined;
  if (status === undefined)
    return fail("invalid_payload", `system_status ${describe(raw)} is not online, degraded or offline`);
  return ok({ status, payload: mapEntries(payload, normalizeTimestampField) });
}

export interface DeviceAvailability {
  readonly online: boolean;
  readonly payload: JsonObject;
}

/**
 * `<prefix>/device/availability`: JSON `{status: "online"|"offline", …}`. A bare `online`/`offline` string (the
 * usual Home Assistant availability payload) is accepted too.
 */
export function parseAvailability(payload: Uint8Array, maxBytes: number): Parsed<DeviceAvailability> {
  const text = Buffer.from(payload).toString("utf8").trim();
  if (text === "online" || text === "offline")
    return ok({ online: text === "online", payload: { status: text } });
  const decoded = decodeJson(payload, maxBytes);
  if (!decoded.ok) return decoded;
  const value = decoded.value;
  if (!isObject(value) || (value.status !== "online" && value.status !== "offline")) {
    return fail(
      "invalid_payload",
      'availability is neither {"status": "online"|"offline"} nor a bare online/offline',
    );
  }
  return ok({ online: value.status === "online", payload: value });
}

const SEVERITIES: ReadonlySet<string> = new Set<AlertSeverity>(["info", "warning", "error", "critical"]);

function isSeverity(value: unknown): value is AlertSeverity {
  return typeof value === "string" && SEVERITIES.has(value);
}

export interface AlertContext {
  /** The severity segment of `occupancy/alerts/<severity>`; it wins over the payload's. */
  readonly severity: string;
  /** Maps a predictor room id from the payload; undefined when it does not map. */
  readonly resolveRoom: (predictorRoomId: string) => ResolvedRoom | undefined;
  /** Used when the payload has no timestamp of its own. */
  readonly now: Date;
}

/**
 * `occupancy/alerts/<severity>` → `AlertData`. The payload the predictor planned (`{alert_id, severity, timestamp,
 * title, message, component, room_id, resolved}`) plus the seed's alert fields; other fields are kept.
 * Without an `alert_id` the id is a digest of the alert's content, so a repeated alert keeps its id.
 */
export function parseAlert(payload: JsonValue, context: AlertContext): Parsed<AlertData> {
  if (!isSeverity(context.severity)) {
    return fail(
      "invalid_payload",
      `alert severity ${describe(context.severity)} is not info, warning, error or critical`,
    );
  }
  if (!isObject(payload)) return fail("invalid_payload", "alert is not a JSON object");
  const message = nonEmptyString(payload.message) ?? nonEmptyString(payload.title);
  if (message === undefined) return fail("invalid_payload", "alert has neither a message nor a title");
  const created = timestampOrNow(payload.created_at ?? payload.timestamp, context.now);
  if (created === undefined) return fail("invalid_timestamp", "alert timestamp is not a plausible timestamp");
  const room = roomFields(payload.room_id, context.resolveRoom);
  const extras = omit(payload, [
    "alert_id",
    "alert_type",
    "severity",
    "title",
    "message",
    "room_id",
    "component",
    "resolved",
    "created_at",
    "timestamp",
    "recommended_action",
  ]);
  const alertType = nonEmptyString(payload.alert_type) ?? "predictor_alert";
  return ok({
    ...extras,
    ...room,
    alert_id:
      nonEmptyString(payload.alert_id) ??
      contentId("alert", [alertType, context.severity, message, room.room_id ?? ""]),
    alert_type: alertType,
    severity: context.severity,
    title: nonEmptyString(payload.title) ?? message,
    message,
    component: nonEmptyString(payload.component) ?? "predictor",
    resolved: payload.resolved === true,
    created_at: created,
    recommended_action: nonEmptyString(payload.recommended_action) ?? null,
  });
}

export interface DriftContext {
  /** The room segment of the drift topic, when the topic filter has one. */
  readonly topicRoom: string | null;
  readonly resolveRoom: (predictorRoomId: string) => ResolvedRoom | undefined;
  readonly now: Date;
}

/** A drift topic → `DriftData`: `{drift_id?, room_id?, severity?, message?, created_at|timestamp?, …metrics}`. */
export function parseDrift(payload: JsonValue, context: DriftContext): Parsed<DriftData> {
  if (!isObject(payload)) return fail("invalid_payload", "drift notification is not a JSON object");
  const severity = payload.severity ?? "warning";
  if (!isSeverity(severity))
    return fail("invalid_payload", `drift severity ${describe(severity)} is not a known severity`);
  const created = timestampOrNow(payload.created_at ?? payload.timestamp ?? payload.detected_at, context.now);
  if (created === undefined) return fail("invalid_timestamp", "drift timestamp is not a plausible timestamp");
  const room = roomFields(context.topicRoom ?? payload.room_id, context.resolveRoom);
  const message =
    nonEmptyString(payload.message) ??
    `Concept drift detected${room.room_id === null ? "" : ` in ${room.room_id}`}`;
  const extras = omit(payload, ["drift_id", "room_id", "severity", "message", "created_at", "timestamp"]);
  return ok({
    ...extras,
    ...room,
    drift_id:
      nonEmptyString(payload.drift_id) ??
      contentId("drift", [severity, message, room.room_id ?? "", created]),
    severity,
    message,
    created_at: created,
  });
}

/** The mapped room, keeping the predictor's own id; an unmappable room leaves the event room-less. */
function roomFields(
  raw: JsonValue | undefined,
  resolveRoom: (predictorRoomId: string) => ResolvedRoom | undefined,
): { room_id: string | null; predictor_room_id: string | null } {
  if (typeof raw !== "string" || raw === "") return { room_id: null, predictor_room_id: null };
  return { room_id: resolveRoom(raw)?.roomId ?? null, predictor_room_id: raw };
}

function timestampOrNow(value: JsonValue | undefined, now: Date): string | undefined {
  return value === undefined || value === null ? now.toISOString() : normalizeTimestamp(value);
}

/** Top-level fields named like timestamps are normalised when they parse, and kept as they are otherwise. */
function normalizeTimestampField(key: string, value: JsonValue): JsonValue {
  if (typeof value !== "string" || !(key.endsWith("_time") || key.endsWith("_at") || key === "last_updated"))
    return value;
  return normalizeTimestamp(value) ?? value;
}

function contentId(kind: string, parts: readonly string[]): string {
  return `${kind}_${createHash("sha256").update(parts.join("\u0000")).digest("hex").slice(0, 16)}`;
}

function omit(object: JsonObject, keys: readonly string[]): Record<string, JsonValue> {
  return mapEntries(object, (key, value) => (keys.includes(key) ? undefined : value));
}

/**
 * A copy with each value mapped, dropping those mapped to undefined. Built with `Object.fromEntries`, which
 * defines properties: assigning `out[key]` would turn a wire key `__proto__` into the copy's prototype.
 */
function mapEntries(
  object: JsonObject,
  map: (key: string, value: JsonValue) => JsonValue | undefined,
): Record<string, JsonValue> {
  const entries: [string, JsonValue][] = [];
  for (const [key, value] of Object.entries(object)) {
    const mapped = map(key, value);
    if (mapped !== undefined) entries.push([key, mapped]);
  }
  return Object.fromEntries(entries);
}

export function isObject(value: JsonValue | undefined): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isFraction(value: JsonValue | undefined): value is number {
  return typeof value === "number" && Number.isFinite(value) && value >= 0 && value <= 1;
}

function nonNegativeInt(value: JsonValue | undefined): number | undefined {
  return typeof value === "number" && Number.isInteger(value) && value >= 0 ? value : undefined;
}

function nonEmptyString(value: JsonValue | undefined): string | undefined {
  return typeof value === "string" && value.trim() !== "" ? value : undefined;
}

function titleCase(id: string): string {
  return id
    .split(/[_-]+/)
    .filter((word) => word !== "")
    .map((word) => word[0]?.toUpperCase() + word.slice(1))
    .join(" ");
}

function describe(value: unknown): string {
  if (value === undefined) return "(missing)";
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
