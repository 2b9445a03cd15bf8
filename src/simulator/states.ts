import { randomBytes } from "node:crypto";
import type { Attributes, JsonValue } from "../core/events.js";

/** A state as Home Assistant's state machine holds it; times are float epoch seconds, as HA keeps them. */
export interface SimContext {
  readonly id: string;
  readonly parent_id: string | null;
  readonly user_id: string | null;
}

export interface SimState {
  readonly entity_id: string;
  readonly state: string;
  readonly attributes: Attributes;
  readonly last_changed: number;
  readonly last_updated: number;
  readonly last_reported: number;
  readonly context: SimContext;
}

type JsonObject = { [key: string]: JsonValue };

const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/** A 26-character ULID, the form HA's context ids take. */
export function ulid(now = Date.now()): string {
  let time = "";
  let t = now;
  for (let i = 0; i < 10; i++) {
    time = CROCKFORD.charAt(t % 32) + time;
    t = Math.floor(t / 32);
  }
  let random = "";
  for (const byte of randomBytes(16)) random += CROCKFORD.charAt(byte % 32);
  return time + random;
}

/** HA's ISO form: microseconds and `+00:00`. */
export function isoMicro(epochSeconds: number): string {
  const micros = Math.round(epochSeconds * 1_000_000);
  const seconds = Math.floor(micros / 1_000_000);
  const fraction = String(micros - seconds * 1_000_000).padStart(6, "0");
  return `${new Date(seconds * 1000).toISOString().slice(0, 19)}.${fraction}+00:00`;
}

function contextJson(context: SimContext): JsonObject {
  return { id: context.id, parent_id: context.parent_id, user_id: context.user_id };
}

/** The full state object of `get_states` and `state_changed` events. */
export function fullState(state: SimState): JsonObject {
  return {
    entity_id: state.entity_id,
    state: state.state,
    attributes: state.attributes,
    last_changed: isoMicro(state.last_changed),
    last_reported: isoMicro(state.last_reported),
    last_updated: isoMicro(state.last_updated),
    context: contextJson(state.context),
  };
}

/** The compressed form under `a[entity_id]` of `subscribe_entities` events. */
export function compressedState(state: SimState): JsonObject {
  const { context } = state;
  const compressed: JsonObject = {
    s: state.state,
    a: state.attributes,
    c: context.parent_id === null && context.user_id === null ? context.id : contextJson(context),
    lc: state.last_changed,
  };
  if (state.last_updated !== state.last_changed) compressed.lu = state.last_updated;
  return compressed;
}

function sameJson(a: JsonValue | undefined, b: JsonValue | undefined): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** The `{"+":…, "-":…}` diff HA sends for a changed entity (reference §8, `_state_diff_event`). */
export function stateDiff(before: SimState, after: SimState): JsonObject {
  const plus: JsonObject = {};
  if (before.state !== after.state) plus.s = after.state;
  if (before.last_changed !== after.last_changed) plus.lc = after.last_changed;
  else if (before.last_updated !== after.last_updated) plus.lu = after.last_updated;
  const ctx: JsonObject = {};
  if (before.context.parent_id !== after.context.parent_id) ctx.parent_id = after.context.parent_id;
  if (before.context.user_id !== after.context.user_id) ctx.user_id = after.context.user_id;
  if (before.context.id !== after.context.id) {
    if (Object.keys(ctx).length === 0) plus.c = after.context.id;
    else ctx.id = after.context.id;
  }
  if (Object.keys(ctx).length > 0) plus.c = ctx;
  const changed: JsonObject = {};
  for (const [key, value] of Object.entries(after.attributes)) {
    if (!sameJson(before.attributes[key], value)) changed[key] = value;
  }
  if (Object.keys(changed).length > 0) plus.a = changed;
  const removed = Object.keys(before.attributes).filter((key) => !(key in after.attributes));
  const diff: JsonObject = { "+": plus };
  if (removed.length > 0) diff["-"] = { a: removed };
  return diff;
}

/** True when a write changes neither the value nor the attributes (HA then fires `state_reported` only). */
export function isSameState(before: SimState, state: string, attributes: Attributes): boolean {
  return before.state === state && sameJson(before.attributes, attributes);
}
