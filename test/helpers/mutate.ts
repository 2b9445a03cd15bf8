import { pick } from "./rng.js";

/**
 * Mutation fuzzing of JSON messages: starting from a real message, values are replaced by ones a schema might
 * not expect, keys dropped and odd keys added. Everything stays what JSON can carry, so a mutated message can
 * be sent over the wire as it is.
 */

/** Own `__proto__` keys come from JSON.parse, as they would off the wire. */
const NASTY: readonly unknown[] = [
  null,
  true,
  0,
  -1,
  0.5,
  1e300,
  -1e300,
  8.64e12,
  "",
  "on",
  "x".repeat(5000),
  "\u0000\uffff\ud800",
  "__proto__",
  "light.living_room",
  "no_dot",
  "2026-13-45T99:99:99Z",
  [],
  [null, 1, "a"],
  {},
  JSON.parse('{"__proto__": {"polluted": true}}'),
  { constructor: { prototype: { polluted: true } } },
];

/** Keys to add: prototype names, and the short and common keys of the messages the bridge reads. */
const KEYS = [
  "__proto__",
  "constructor",
  "toString",
  "",
  "s",
  "a",
  "c",
  "lc",
  "lu",
  "+",
  "-",
  "entity_id",
  "room_id",
  "id",
];

/** Sets a key as an own property even when it is `__proto__`, as JSON.parse does. */
function define(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

export function mutate(value: unknown, r: () => number, depth = 0): unknown {
  if (r() < 0.12) return pick(r, NASTY);
  if (depth > 6) return value;
  if (Array.isArray(value)) {
    const out = value.filter(() => r() > 0.1).map((item) => mutate(item, r, depth + 1));
    if (r() < 0.1) out.push(pick(r, NASTY));
    return out;
  }
  if (typeof value === "object" && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value))
      if (r() >= 0.1) define(out, key, mutate(item, r, depth + 1));
    if (r() < 0.15) define(out, pick(r, KEYS), pick(r, NASTY));
    return out;
  }
  return value;
}

/** Whether a mutated `__proto__` or `constructor` reached `Object.prototype`. */
export function prototypePolluted(): boolean {
  return "polluted" in ({} as Record<string, unknown>);
}
