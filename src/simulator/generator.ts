import type { Attributes } from "../core/events.js";
import {
  type HomeSpec,
  registryEntry,
  type SimArea,
  type SimDevice,
  type SimEntityEntry,
  type SimFloor,
  type SimStateSpec,
} from "./home.js";

/** A small deterministic PRNG (mulberry32), so a seed always yields the same home and the same activity. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ROOM_NAMES = [
  "Living Room",
  "Kitchen",
  "Hallway",
  "Bedroom",
  "Bathroom",
  "Office",
  "Dining Room",
  "Guest Room",
  "Kids Room",
  "Laundry",
  "Garage",
  "Attic",
];
const FLOOR_NAMES = ["Ground Floor", "First Floor", "Second Floor", "Third Floor", "Basement"];
const AREAS_PER_FLOOR = 8;

const slug = (name: string): string =>
  name
    .toLowerCase()
    .replaceAll(/[^a-z0-9]+/g, "_")
    .replace(/^_|_$/g, "");

export interface GenerateHomeOptions {
  /** Approximate number of entities (rounded to whole devices). */
  readonly entities: number;
  readonly areas: number;
  readonly seed?: number;
}

interface Builder {
  readonly devices: SimDevice[];
  readonly entries: SimEntityEntry[];
  readonly states: SimStateSpec[];
  readonly hex: () => string;
}

function addEntity(
  b: Builder,
  entityId: string,
  state: string,
  attributes: Attributes,
  registry: Partial<SimEntityEntry> & { platform: string },
): void {
  const { platform, ...extra } = registry;
  b.entries.push(registryEntry(b.hex(), entityId, platform, extra));
  b.states.push({ entity_id: entityId, state, attributes });
}

type DeviceKind = "motion" | "light" | "climate" | "plug" | "presence";
const DEVICE_KINDS: readonly DeviceKind[] = ["light", "motion", "climate", "light", "plug", "presence"];

/** Adds one device of a kind to an area; returns how many entities it brought. */
function addDevice(b: Builder, kind: DeviceKind, area: SimArea, index: number, random: () => number): number {
  const id = b.hex();
  const base = `${area.area_id}_${kind}_${index}`;
  const deviceName = `${area.name} ${kind[0]?.toUpperCase()}${kind.slice(1)} ${index}`;
  b.devices.push({
    id,
    name: deviceName,
    name_by_user: null,
    area_id: area.area_id,
    manufacturer: "Simulated",
    model: kind,
  });
  const on = { device_id: id };
  switch (kind) {
    case "light":
      addEntity(
        b,
        `light.${base}`,
        random() < 0.3 ? "on" : "off",
        {
          supported_color_modes: ["brightness"],
          color_mode: null,
          brightness: null,
          friendly_name: deviceName,
        },
        { ...on, platform: "hue" },
      );
      return 1;
    case "motion":
      addEntity(
        b,
        `binary_sensor.${base}`,
        "off",
        { device_class: "motion", friendly_name: `${deviceName} Motion` },
        { ...on, platform: "zha" },
      );
      addEntity(
        b,
        `sensor.${base}_battery`,
        String(40 + Math.floor(random() * 60)),
        {
          state_class: "measurement",
          unit_of_measurement: "%",
          device_class: "battery",
          friendly_name: `${deviceName} Battery`,
        },
        { ...on, platform: "zha", entity_category: "diagnostic" },
      );
      return 2;
    case "climate":
      addEntity(
        b,
        `sensor.${base}_temperature`,
        (18 + random() * 6).toFixed(1),
        {
          state_class: "measurement",
          unit_of_measurement: "°C",
          device_class: "temperature",
          friendly_name: `${deviceName} Temperature`,
        },
        { ...on, platform: "zha" },
      );
      addEntity(
        b,
        `sensor.${base}_humidity`,
        String(35 + Math.floor(random() * 30)),
        {
          state_class: "measurement",
          unit_of_measurement: "%",
          device_class: "humidity",
          friendly_name: `${deviceName} Humidity`,
        },
        { ...on, platform: "zha" },
      );
      return 2;
    case "plug":
      addEntity(b, `switch.${base}`, "off", { friendly_name: deviceName }, { ...on, platform: "shelly" });
      addEntity(
        b,
        `sensor.${base}_power`,
        "0.0",
        {
          state_class: "measurement",
          unit_of_measurement: "W",
          device_class: "power",
          friendly_name: `${deviceName} Power`,
        },
        { ...on, platform: "shelly" },
      );
      return 2;
    case "presence":
      addEntity(
        b,
        `binary_sensor.${base}_occupancy`,
        "off",
        { device_class: "occupancy", friendly_name: `${deviceName} Occupancy` },
        { ...on, platform: "zha" },
      );
      return 1;
  }
}

/**
 * A large, plausible home for the demo and the benchmarks: floors of up to eight areas, and per area a
 * scene, an automation and a rotation of lights, motion, climate, plug and presence devices until the
 * entity count is reached. The same seed gives the same home.
 */
export function generateHome(options: GenerateHomeOptions): HomeSpec {
  const random = seededRandom(options.seed ?? 1);
  const hex = (): string => Array.from({ length: 32 }, () => Math.floor(random() * 16).toString(16)).join("");
  const floors: SimFloor[] = [];
  const areas: SimArea[] = [];
  const areaCount = Math.max(1, options.areas);
  for (let f = 0; f < Math.ceil(areaCount / AREAS_PER_FLOOR); f++) {
    const name = FLOOR_NAMES[f] ?? `Floor ${f}`;
    floors.push({ floor_id: slug(name), name, level: f, icon: null, aliases: [] });
  }
  for (let a = 0; a < areaCount; a++) {
    const base = ROOM_NAMES[a % ROOM_NAMES.length] ?? "Room";
    const round = Math.floor(a / ROOM_NAMES.length);
    const name = round === 0 ? base : `${base} ${round + 1}`;
    areas.push({
      area_id: slug(name),
      name,
      floor_id: floors[Math.floor(a / AREAS_PER_FLOOR)]?.floor_id ?? null,
      icon: null,
    });
  }
  const b: Builder = { devices: [], entries: [], states: [], hex };
  let count = 0;
  for (const area of areas) {
    addEntity(
      b,
      `scene.${area.area_id}_relax`,
      "2026-07-21T08:00:00.000000+00:00",
      { friendly_name: `${area.name} Relax` },
      {
        platform: "homeassistant",
        area_id: area.area_id,
      },
    );
    addEntity(
      b,
      `automation.${area.area_id}_motion_light`,
      "on",
      { friendly_name: `${area.name} motion light`, last_triggered: null, mode: "single", current: 0 },
      { platform: "automation", area_id: area.area_id },
    );
    count += 2;
  }
  for (let i = 0; count < options.entities; i++) {
    const area = areas[i % areas.length];
    const kind = DEVICE_KINDS[Math.floor(i / areas.length) % DEVICE_KINDS.length];
    if (area === undefined || kind === undefined) break;
    count += addDevice(b, kind, area, i, random);
  }
  return { floors, areas, devices: b.devices, entities: b.entries, states: b.states };
}
