import type { Attributes } from "../core/events.js";

/**
 * What a simulated Home Assistant holds: the four registries as `config/*_registry/list` returns them and
 * the states. Field names follow Home Assistant's own, so registry entries can be sent as they are.
 */

export interface SimFloor {
  readonly floor_id: string;
  readonly name: string;
  readonly level: number | null;
  readonly icon: string | null;
  readonly aliases: readonly string[];
}

export interface SimArea {
  readonly area_id: string;
  readonly name: string;
  readonly floor_id: string | null;
  readonly icon: string | null;
}

export interface SimDevice {
  /** 32 hex characters, as HA generates them. */
  readonly id: string;
  readonly name: string;
  readonly name_by_user: string | null;
  readonly area_id: string | null;
  readonly manufacturer: string | null;
  readonly model: string | null;
}

export interface SimEntityEntry {
  /** The registry's own stable id; survives renames of `entity_id`. */
  readonly id: string;
  readonly entity_id: string;
  readonly device_id: string | null;
  readonly area_id: string | null;
  readonly name: string | null;
  readonly original_name: string | null;
  readonly platform: string;
  readonly disabled_by: string | null;
  readonly entity_category: string | null;
}

/** A state as a home is described: the simulator adds timestamps and contexts. */
export interface SimStateSpec {
  readonly entity_id: string;
  readonly state: string;
  readonly attributes: Attributes;
}

export interface HomeSpec {
  readonly floors: readonly SimFloor[];
  readonly areas: readonly SimArea[];
  readonly devices: readonly SimDevice[];
  readonly entities: readonly SimEntityEntry[];
  readonly states: readonly SimStateSpec[];
}

/** The admin user every scripted service call is made by (reference §6). */
export const ADMIN_USER_ID = "c1d2e3f4a5b60718293a4b5c6d7e8f90";

export const FIXTURE_DEVICE_IDS = {
  livingRoomCeiling: "9f2c41b7e0d84a5f9c1e3b6a7d8e0f12",
  coffeeMachinePlug: "4b7e1c2d3f4a5b6c7d8e9f0a1b2c3d4e",
  hallwayMotion: "a1b2c3d4e5f60718293a4b5c6d7e8f90",
  bedroomClimate: "d4d4d4d4e5f60718293a4b5c6d7e8f04",
  livingRoomPresence: "d5d5d5d5e5f60718293a4b5c6d7e8f05",
} as const;

const device = (id: string, name: string, area_id: string, manufacturer: string): SimDevice => ({
  id,
  name,
  name_by_user: null,
  area_id,
  manufacturer,
  model: null,
});

/** A registry entry with HA's defaults for every field the caller does not set. */
export const registryEntry = (
  id: string,
  entity_id: string,
  platform: string,
  extra: Partial<Omit<SimEntityEntry, "id" | "entity_id" | "platform">> = {},
): SimEntityEntry => ({
  id,
  entity_id,
  platform,
  device_id: null,
  area_id: null,
  name: null,
  original_name: null,
  disabled_by: null,
  entity_category: null,
  ...extra,
});

/**
 * The small home of the protocol reference: two floors, four areas, five devices and eleven entities,
 * among them one disabled registry-only light and one state-only YAML sensor; ten entities have a state.
 */
export function fixtureHome(): HomeSpec {
  const d = FIXTURE_DEVICE_IDS;
  return {
    floors: [
      { floor_id: "ground_floor", name: "Ground Floor", level: 0, icon: "mdi:home-floor-0", aliases: [] },
      { floor_id: "upstairs", name: "Upstairs", level: 1, icon: null, aliases: ["first floor"] },
    ],
    areas: [
      { area_id: "living_room", name: "Living Room", floor_id: "ground_floor", icon: "mdi:sofa" },
      { area_id: "kitchen", name: "Kitchen", floor_id: "ground_floor", icon: null },
      { area_id: "hallway", name: "Hallway", floor_id: "ground_floor", icon: null },
      { area_id: "bedroom", name: "Bedroom", floor_id: "upstairs", icon: null },
    ],
    devices: [
      device(d.livingRoomCeiling, "Living Room Ceiling", "living_room", "Signify Netherlands B.V."),
      device(d.coffeeMachinePlug, "Coffee Machine Plug", "kitchen", "Shelly"),
      device(d.hallwayMotion, "Hallway Motion", "hallway", "IKEA of Sweden"),
      device(d.bedroomClimate, "Bedroom Climate", "bedroom", "Aqara"),
      device(d.livingRoomPresence, "Living Room Presence", "living_room", "Aqara"),
    ],
    entities: [
      registryEntry("7c1d9e2f3a4b5c6d7e8f9a0b1c2d3e4f", "light.living_room_ceiling", "hue", {
        device_id: d.livingRoomCeiling,
      }),
      registryEntry("e0000000000000000000000000000002", "light.kitchen_spots", "template", {
        area_id: "kitchen",
      }),
      registryEntry("e0000000000000000000000000000003", "light.hallway_nightlight", "mqtt", {
        area_id: "hallway",
        disabled_by: "user",
        original_name: "Hallway Nightlight",
      }),
      registryEntry("e0000000000000000000000000000004", "switch.coffee_machine", "shelly", {
        device_id: d.coffeeMachinePlug,
      }),
      registryEntry("e0000000000000000000000000000005", "sensor.coffee_machine_power", "shelly", {
        device_id: d.coffeeMachinePlug,
      }),
      registryEntry("e0000000000000000000000000000006", "binary_sensor.hallway_motion", "zha", {
        device_id: d.hallwayMotion,
      }),
      registryEntry("e0000000000000000000000000000007", "sensor.hallway_motion_battery", "zha", {
        device_id: d.hallwayMotion,
        entity_category: "diagnostic",
      }),
      registryEntry("e0000000000000000000000000000008", "binary_sensor.living_room_occupancy", "zha", {
        device_id: d.livingRoomPresence,
      }),
      registryEntry("e0000000000000000000000000000009", "sensor.bedroom_temperature", "zha", {
        device_id: d.bedroomClimate,
      }),
      registryEntry("e0000000000000000000000000000010", "sensor.bedroom_humidity", "zha", {
        device_id: d.bedroomClimate,
      }),
    ],
    states: [
      {
        entity_id: "light.living_room_ceiling",
        state: "off",
        attributes: {
          min_color_temp_kelvin: 2202,
          max_color_temp_kelvin: 6535,
          supported_color_modes: ["color_temp"],
          color_mode: null,
          brightness: null,
          color_temp_kelvin: null,
          friendly_name: "Living Room Ceiling",
          supported_features: 40,
        },
      },
      {
        entity_id: "light.kitchen_spots",
        state: "on",
        attributes: {
          supported_color_modes: ["brightness"],
          color_mode: "brightness",
          brightness: 255,
          friendly_name: "Kitchen Spots",
        },
      },
      { entity_id: "switch.coffee_machine", state: "off", attributes: { friendly_name: "Coffee Machine" } },
      {
        entity_id: "sensor.coffee_machine_power",
        state: "0.0",
        attributes: {
          state_class: "measurement",
          unit_of_measurement: "W",
          device_class: "power",
          friendly_name: "Coffee Machine Power",
        },
      },
      {
        entity_id: "binary_sensor.hallway_motion",
        state: "off",
        attributes: { device_class: "motion", friendly_name: "Hallway Motion" },
      },
      {
        entity_id: "sensor.hallway_motion_battery",
        state: "87",
        attributes: {
          state_class: "measurement",
          unit_of_measurement: "%",
          device_class: "battery",
          friendly_name: "Hallway Motion Battery",
        },
      },
      {
        entity_id: "binary_sensor.living_room_occupancy",
        state: "on",
        attributes: { device_class: "occupancy", friendly_name: "Living Room Presence Occupancy" },
      },
      {
        entity_id: "sensor.bedroom_temperature",
        state: "21.4",
        attributes: {
          state_class: "measurement",
          unit_of_measurement: "°C",
          device_class: "temperature",
          friendly_name: "Bedroom Climate Temperature",
        },
      },
      {
        entity_id: "sensor.bedroom_humidity",
        state: "48",
        attributes: {
          state_class: "measurement",
          unit_of_measurement: "%",
          device_class: "humidity",
          friendly_name: "Bedroom Climate Humidity",
        },
      },
      {
        entity_id: "sensor.outdoor_temperature",
        state: "17.9",
        attributes: {
          state_class: "measurement",
          unit_of_measurement: "°C",
          device_class: "temperature",
          friendly_name: "Outdoor Temperature",
        },
      },
    ],
  };
}
