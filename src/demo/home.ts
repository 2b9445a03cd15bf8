import { createHash } from "node:crypto";
import type { Attributes } from "../core/events.js";
import type { HomeSpec, SimDevice, SimEntityEntry, SimStateSpec } from "../simulator/index.js";

/**
 * The demo's home: two floors, six rooms with presence sensors, ceiling lights and climate sensors, a
 * coffee machine, a front door lock (a sensitive domain anonymous clients never see), scenes and
 * automations. Built from one table so that every room has the same, consistent set of entities.
 */

export type PresenceKind = "motion" | "occupancy";

export interface DemoRoom {
  readonly id: string;
  readonly name: string;
  readonly floor: "ground_floor" | "upstairs";
  readonly icon: string;
  readonly presence: PresenceKind;
  readonly climate: boolean;
  /** Usual temperature in °C. */
  readonly baseTemperature: number;
}

export const DEMO_ROOMS: readonly DemoRoom[] = [
  {
    id: "living_room",
    name: "Living Room",
    floor: "ground_floor",
    icon: "mdi:sofa",
    presence: "occupancy",
    climate: true,
    baseTemperature: 21.5,
  },
  {
    id: "kitchen",
    name: "Kitchen",
    floor: "ground_floor",
    icon: "mdi:stove",
    presence: "motion",
    climate: true,
    baseTemperature: 20.8,
  },
  {
    id: "hallway",
    name: "Hallway",
    floor: "ground_floor",
    icon: "mdi:door",
    presence: "motion",
    climate: false,
    baseTemperature: 19,
  },
  {
    id: "bedroom",
    name: "Bedroom",
    floor: "upstairs",
    icon: "mdi:bed",
    presence: "motion",
    climate: true,
    baseTemperature: 19.6,
  },
  {
    id: "office",
    name: "Office",
    floor: "upstairs",
    icon: "mdi:desk",
    presence: "occupancy",
    climate: true,
    baseTemperature: 21,
  },
  {
    id: "bathroom",
    name: "Bathroom",
    floor: "upstairs",
    icon: "mdi:shower",
    presence: "motion",
    climate: true,
    baseTemperature: 22,
  },
];

/** The predictor names the living room differently, so the demo also shows the bridge's `rooms.room_map`. */
export const PREDICTOR_ROOM_IDS: Readonly<Record<string, string>> = { living_room: "living_kitchen" };

export const presenceEntity = (room: DemoRoom): string => `binary_sensor.${room.id}_${room.presence}`;
export const lightEntity = (room: DemoRoom): string => `light.${room.id}_ceiling`;
export const temperatureEntity = (room: DemoRoom): string => `sensor.${room.id}_temperature`;
export const humidityEntity = (room: DemoRoom): string => `sensor.${room.id}_humidity`;

export const DEMO_ENTITIES = {
  coffeeSwitch: "switch.coffee_machine",
  coffeePower: "sensor.coffee_machine_power",
  outdoorTemperature: "sensor.outdoor_temperature",
  frontDoor: "lock.front_door",
  movieScene: "scene.movie_night",
  goodNightScene: "scene.good_night",
  motionLights: "automation.motion_lights",
  coffeeAutomation: "automation.morning_coffee",
} as const;

/** Stable 32-hex ids, as HA generates for registry entries and devices, derived from a name. */
function hexId(name: string): string {
  return createHash("md5").update(`pma-bridge-demo:${name}`).digest("hex");
}

function device(name: string, areaId: string, manufacturer: string, model: string): SimDevice {
  return { id: hexId(`device:${name}`), name, name_by_user: null, area_id: areaId, manufacturer, model };
}

function entry(entityId: string, platform: string, extra: Partial<SimEntityEntry> = {}): SimEntityEntry {
  return {
    id: hexId(`entity:${entityId}`),
    entity_id: entityId,
    device_id: null,
    area_id: null,
    name: null,
    original_name: null,
    platform,
    disabled_by: null,
    entity_category: null,
    ...extra,
  };
}

const state = (entity_id: string, value: string, attributes: Attributes): SimStateSpec => ({
  entity_id,
  state: value,
  attributes,
});

export function demoHome(): HomeSpec {
  const devices: SimDevice[] = [];
  const entities: SimEntityEntry[] = [];
  const states: SimStateSpec[] = [];

  for (const room of DEMO_ROOMS) {
    const sensor = device(
      `${room.name} ${room.presence === "motion" ? "Motion" : "Presence"}`,
      room.id,
      "Aqara",
      room.presence === "motion" ? "RTCGQ11LM" : "FP2",
    );
    const light = device(`${room.name} Ceiling`, room.id, "Signify Netherlands B.V.", "Hue White Ambiance");
    devices.push(sensor, light);
    entities.push(
      entry(presenceEntity(room), "zha", { device_id: sensor.id }),
      entry(lightEntity(room), "hue", { device_id: light.id }),
    );
    states.push(
      state(presenceEntity(room), "off", {
        device_class: room.presence,
        friendly_name: `${sensor.name} ${room.presence === "motion" ? "" : "Occupancy"}`.trim(),
      }),
      state(lightEntity(room), "off", {
        supported_color_modes: ["color_temp"],
        color_mode: null,
        brightness: null,
        color_temp_kelvin: null,
        min_color_temp_kelvin: 2202,
        max_color_temp_kelvin: 6535,
        friendly_name: light.name,
        supported_features: 40,
      }),
    );
    if (room.climate) {
      const climate = device(`${room.name} Climate`, room.id, "Aqara", "WSDCGQ11LM");
      devices.push(climate);
      entities.push(
        entry(temperatureEntity(room), "zha", { device_id: climate.id }),
        entry(humidityEntity(room), "zha", { device_id: climate.id }),
      );
      states.push(
        state(temperatureEntity(room), room.baseTemperature.toFixed(1), {
          state_class: "measurement",
          unit_of_measurement: "°C",
          device_class: "temperature",
          friendly_name: `${climate.name} Temperature`,
        }),
        state(humidityEntity(room), room.id === "bathroom" ? "58" : "46", {
          state_class: "measurement",
          unit_of_measurement: "%",
          device_class: "humidity",
          friendly_name: `${climate.name} Humidity`,
        }),
      );
    }
  }

  const plug = device("Coffee Machine Plug", "kitchen", "Shelly", "Plug S");
  const lock = device("Front Door Lock", "hallway", "Nuki", "Smart Lock 4.0");
  devices.push(plug, lock);
  const e = DEMO_ENTITIES;
  entities.push(
    entry(e.coffeeSwitch, "shelly", { device_id: plug.id }),
    entry(e.coffeePower, "shelly", { device_id: plug.id }),
    entry(e.frontDoor, "nuki", { device_id: lock.id }),
    entry(e.outdoorTemperature, "met"),
    entry(e.movieScene, "homeassistant", { area_id: "living_room" }),
    entry(e.goodNightScene, "homeassistant", { area_id: "bedroom" }),
    entry(e.motionLights, "automation"),
    entry(e.coffeeAutomation, "automation", { area_id: "kitchen" }),
  );
  states.push(
    state(e.coffeeSwitch, "off", { friendly_name: "Coffee Machine" }),
    state(e.coffeePower, "0.0", {
      state_class: "measurement",
      unit_of_measurement: "W",
      device_class: "power",
      friendly_name: "Coffee Machine Power",
    }),
    state(e.frontDoor, "locked", { friendly_name: "Front Door", supported_features: 1 }),
    state(e.outdoorTemperature, "12.4", {
      state_class: "measurement",
      unit_of_measurement: "°C",
      device_class: "temperature",
      friendly_name: "Outdoor Temperature",
    }),
    state(e.movieScene, "unknown", {
      entity_id: ["light.living_room_ceiling"],
      friendly_name: "Movie Night",
    }),
    state(e.goodNightScene, "unknown", { entity_id: [], friendly_name: "Good Night" }),
    state(e.motionLights, "on", {
      id: "1700000000001",
      last_triggered: null,
      mode: "single",
      current: 0,
      friendly_name: "Motion lights",
    }),
    state(e.coffeeAutomation, "on", {
      id: "1700000000002",
      last_triggered: null,
      mode: "single",
      current: 0,
      friendly_name: "Morning coffee",
    }),
  );

  return {
    floors: [
      { floor_id: "ground_floor", name: "Ground Floor", level: 0, icon: "mdi:home-floor-0", aliases: [] },
      {
        floor_id: "upstairs",
        name: "Upstairs",
        level: 1,
        icon: "mdi:home-floor-1",
        aliases: ["first floor"],
      },
    ],
    areas: DEMO_ROOMS.map((room) => ({
      area_id: room.id,
      name: room.name,
      floor_id: room.floor,
      icon: room.icon,
    })),
    devices,
    entities,
    states,
  };
}
