import { readFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import type { NewBridgeEvent } from "../../../src/core/events.js";
import { HomeModel } from "../../../src/core/home-model.js";
import {
  parseAreaList,
  parseDeviceList,
  parseEntitiesEvent,
  parseEntityList,
  parseFloorList,
  parseHaEvent,
  renameOf,
} from "../../../src/sources/home-assistant/messages.js";
import {
  applyStateDiff,
  automationTriggeredEvent,
  expandState,
  sceneActivatedEvents,
  sourceEvent,
} from "../../../src/sources/home-assistant/normalize.js";
import { type Harness, startHarness, waitFor } from "../../helpers/ha-harness.js";
import { mutate, prototypePolluted } from "../../helpers/mutate.js";
import { pick, rng } from "../../helpers/rng.js";

/**
 * Home Assistant, or a proxy or a custom integration in front of it, can send anything. Starting from real
 * frames (the fixtures), values are replaced, keys dropped and odd keys added, and the result goes through
 * the source's whole path. Nothing may throw, pollute a prototype or stop the source.
 */

const fixture = (name: string): Record<string, unknown> =>
  JSON.parse(readFileSync(new URL(`../../fixtures/ha/${name}`, import.meta.url), "utf8")) as Record<
    string,
    unknown
  >;
const REGISTRIES = fixture("registries.json");
const ENTITIES = fixture("subscribe-entities.json");
const EVENTS = fixture("events.json");

/** The Home Assistant source's path from raw messages to bridge events, as `source.ts` runs it. */
function ingest(r: () => number): NewBridgeEvent[] {
  const model = new HomeModel();
  const registries = mutate(REGISTRIES, r) as Record<string, unknown>;
  const list = <T>(parsed: { ok: true; value: { items: readonly T[] } } | { ok: false }) =>
    parsed.ok ? parsed.value.items : [];
  const snapshot = parseEntitiesEvent(mutate(ENTITIES.snapshot, r));
  const out: NewBridgeEvent[] = model.resync({
    registries: {
      floors: list(parseFloorList(registries?.floors)),
      areas: list(parseAreaList(registries?.areas)),
      devices: list(parseDeviceList(registries?.devices)),
      entities: list(parseEntityList(registries?.entities)),
    },
    states: snapshot.ok
      ? [...snapshot.value.added].map(([id, compressed]) => expandState(id, compressed))
      : [],
  });
  const now = new Date().toISOString();
  for (let i = 0; i < 8; i++) {
    const diff = parseEntitiesEvent(mutate(pick(r, Object.values(ENTITIES)), r));
    if (diff.ok) {
      for (const [id, compressed] of diff.value.added)
        out.push(...model.applyStateChange(id, expandState(id, compressed), "homeassistant"));
      for (const [id, change] of diff.value.changed) {
        const current = model.state(id);
        if (current !== undefined)
          out.push(...model.applyStateChange(id, applyStateDiff(current, change), "homeassistant"));
      }
      for (const id of diff.value.removed)
        if (model.state(id) !== undefined) out.push(...model.applyStateChange(id, null, "homeassistant"));
    }
    const event = parseHaEvent(mutate(pick(r, Object.values(EVENTS)), r));
    if (event.ok) {
      const rename = renameOf(event.value);
      if (rename !== undefined) out.push(...model.renameEntity(rename.from, rename.to));
      const triggered = automationTriggeredEvent(event.value, model, now);
      if (triggered !== undefined) out.push(triggered);
      out.push(...sceneActivatedEvents(event.value, model, now), sourceEvent(event.value, now));
    }
  }
  // What clients will be sent must be serialisable, and the model must still answer.
  JSON.stringify(out);
  JSON.stringify([model.rooms(), model.floors(), model.entities()]);
  return out;
}

describe("the Home Assistant source under mutated input", () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.stop();
    h = undefined;
  });

  it("turns 2,000 mutated homes, diffs and events into events or rejections, never an exception", () => {
    const r = rng(20261122);
    let produced = 0;
    for (let i = 0; i < 2000; i++) produced += ingest(r).length;
    expect(produced).toBeGreaterThan(0);
    expect(prototypePolluted()).toBe(false);
  });

  it("keeps its connection and model after 1,500 mutated frames over the wire, and a real change still arrives", async () => {
    h = await startHarness();
    const r = rng(7);
    const eventTypes = [
      "automation_triggered",
      "call_service",
      "entity_registry_updated",
      "area_registry_updated",
    ];
    for (let i = 0; i < 1500; i++) {
      if (r() < 0.6) h.ha.injectEntitiesEvent(mutate(pick(r, Object.values(ENTITIES)), r) as never);
      else {
        const template = pick(r, Object.values(EVENTS)) as { data?: unknown };
        h.ha.fireEvent(pick(r, eventTypes), mutate(template.data ?? {}, r) as never);
      }
    }
    await waitFor(() => (h?.source.stats.malformedMessages ?? 0) > 0, "the rejections");
    const entityId = "switch.coffee_machine";
    const next = h.model.state(entityId)?.state === "on" ? "off" : "on";
    h.ha.setState(entityId, next);
    await waitFor(() => h?.model.state(entityId)?.state === next, "a real change after the noise");
    expect(h.source.ready).toBe(true);
    expect(h.health.get("homeassistant")?.ready).toBe(true);
    expect(prototypePolluted()).toBe(false);
  });
});
