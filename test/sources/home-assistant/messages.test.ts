import { describe, expect, it } from "vitest";
import {
  parseEntitiesEvent,
  parseEntitiesSnapshot,
  parseHaEvent,
  stateDiffSchema,
} from "../../../src/sources/home-assistant/messages.js";

/** What the zod schema alone makes of one `c` entry: the diff it returns, or undefined when it rejects it. */
function bySchema(diff: unknown): unknown {
  const parsed = stateDiffSchema.safeParse(diff);
  return parsed.success ? parsed.data : undefined;
}

function byParser(diff: unknown): unknown {
  const parsed = parseEntitiesEvent({ c: { "light.desk": diff } });
  if (!parsed.ok) throw new Error(parsed.error);
  if (parsed.value.malformed.includes("light.desk")) return undefined;
  return parsed.value.changed.get("light.desk");
}

/** Lists nested `levels` deep, built without recursion (JSON.parse reads any depth). */
function nestedLists(levels: number): unknown {
  let value: unknown[] = [];
  for (let level = 1; level < levels; level++) value = [value];
  return value;
}

const nullPrototype = (fields: Record<string, unknown>): Record<string, unknown> =>
  Object.assign(Object.create(null) as Record<string, unknown>, fields);

// The hot shapes HA sends, and unusual or malformed ones that must be decided exactly as the schema does.
const diffs: Record<string, unknown> = {
  "state and times": { "+": { s: "on", lc: 1760000000.5, lu: 1760000000.5 } },
  "attributes and a context id": { "+": { a: { brightness: 12 }, c: "01K0CTX", lu: 1760000001 } },
  "a context object": { "+": { c: { id: "01K0CTX", parent_id: null, user_id: "u1" }, lu: 1 } },
  "removed attributes": { "+": { lu: 2 }, "-": { a: ["effect", "color_mode"] } },
  "an empty diff": {},
  "a null-prototype diff": nullPrototype({ "+": nullPrototype({ s: "off" }) }),
  "an unknown key in +": { "+": { s: "on", extra: 1 } },
  "an unknown top-level key": { "+": { s: "on" }, "~": 1 },
  "an unknown key in the context": { "+": { c: { id: "x", origin: "LOCAL" } } },
  "an unknown key in -": { "-": { a: ["x"], b: 1 } },
  "a numeric state": { "+": { s: 1 } },
  "a string time": { "+": { lc: "1760000000" } },
  "an infinite time": { "+": { lu: Number.POSITIVE_INFINITY } },
  "NaN as a time": { "+": { lc: Number.NaN } },
  "a time beyond Date's range": { "+": { lu: 1e300 } },
  "a time at the end of Date's range": { "+": { lc: 8.64e12 } },
  "a time before Date's range": { "+": { lc: -8.64e12 - 1 } },
  "attributes nested 64 levels deep": { "+": { a: { x: nestedLists(64) } } },
  "attributes nested 65 levels deep": { "+": { a: { x: nestedLists(65) } } },
  "attributes holding 6,000 nested lists": { "+": { a: { x: { y: nestedLists(6000) } } } },
  "attributes as a list": { "+": { a: [1, 2] } },
  "attributes as null": { "+": { a: null } },
  "a context number": { "+": { c: 7 } },
  "a context id number": { "+": { c: { id: 7 } } },
  "a null context id": { "+": { c: { id: null } } },
  "a context user of the wrong type": { "+": { c: { user_id: 1 } } },
  "+ as a list": { "+": [] },
  "- without a list": { "-": {} },
  "- with a non-string key": { "-": { a: ["x", 1] } },
  "an explicit undefined": { "+": { s: undefined } },
  "a list as the diff": [],
  "a string as the diff": "on",
  "a Date as the diff": new Date(0),
};

describe("parseEntitiesEvent", () => {
  for (const [name, diff] of Object.entries(diffs)) {
    it(`decides a diff with ${name} exactly as the state-diff schema does`, () => {
      expect(byParser(diff)).toEqual(bySchema(diff));
    });
  }

  it("rejects a frame whose changes are not an object, or whose removals are not strings", () => {
    expect(parseEntitiesEvent({ c: [] }).ok).toBe(false);
    expect(parseEntitiesEvent({ c: "light.desk" }).ok).toBe(false);
    expect(parseEntitiesEvent({ a: null }).ok).toBe(false);
    expect(parseEntitiesEvent({ r: ["light.desk", 2] }).ok).toBe(false);
    expect(parseEntitiesEvent(null).ok).toBe(false);
  });

  it("rejects attributes and event data nested more than 64 levels deep, as malformed entries or events", () => {
    const state = (levels: number) => ({ s: "1", a: { x: nestedLists(levels) }, lc: 1 });
    const diff = (levels: number) => ({ "+": { a: { x: nestedLists(levels) } } });
    const parsed = parseEntitiesEvent({
      a: { "sensor.ok": state(64), "sensor.deep": state(65), "sensor.deeper": state(6000) },
      c: { "light.ok": diff(64), "light.deep": diff(65) },
    });
    if (!parsed.ok) throw new Error(parsed.error);
    expect([...parsed.value.added.keys()]).toEqual(["sensor.ok"]);
    expect([...parsed.value.changed.keys()]).toEqual(["light.ok"]);
    expect(parsed.value.malformed).toEqual(["sensor.deep", "sensor.deeper", "light.deep"]);
    const event = (levels: number) =>
      parseHaEvent({ event_type: "call_service", data: { x: nestedLists(levels) } });
    expect(event(64).ok).toBe(true);
    expect(event(65).ok).toBe(false);
    expect(event(6000).ok).toBe(false);
  });

  it("reads changes, additions and removals of one frame, naming malformed entries", () => {
    const parsed = parseEntitiesEvent({
      a: { "light.new": { s: "on", a: {}, lc: 1 } },
      c: { "light.desk": { "+": { s: "off", lc: 2 } }, "light.bad": { "+": { s: 3 } } },
      r: ["light.old"],
      extra: true,
    });
    if (!parsed.ok) throw new Error(parsed.error);
    expect([...parsed.value.added.keys()]).toEqual(["light.new"]);
    expect(parsed.value.changed.get("light.desk")).toEqual({ "+": { s: "off", lc: 2 } });
    expect(parsed.value.removed).toEqual(["light.old"]);
    expect(parsed.value.malformed).toEqual(["light.bad"]);
  });
});

describe("parseEntitiesSnapshot", () => {
  it("takes `a` alone, also empty, and names malformed entries as a diff would", () => {
    expect(parseEntitiesSnapshot({ a: {} }).ok).toBe(true);
    const parsed = parseEntitiesSnapshot({ a: { "light.desk": { s: "on", a: {}, lc: 1 }, "light.bad": {} } });
    if (!parsed.ok) throw new Error(parsed.error);
    expect([...parsed.value.added.keys()]).toEqual(["light.desk"]);
    expect(parsed.value.malformed).toEqual(["light.bad"]);
  });

  it("rejects what would read as a home that lost its states: no `a`, or changes or removals", () => {
    for (const snapshot of [{ a: [] }, { a: {}, r: [1] }, { a: {}, r: ["light.desk"] }, { c: {} }, {}, []])
      expect(parseEntitiesSnapshot(snapshot).ok, JSON.stringify(snapshot)).toBe(false);
  });
});
