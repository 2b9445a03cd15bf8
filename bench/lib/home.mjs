/**
 * A generated home of a given size for the simulated Home Assistant, in the simulator's `HomeSpec` shape:
 * floors, rooms (HA areas), devices of a few common kinds with one to three entities each, a few
 * entities without a room, realistic attributes. Seeded, so every run and every server sees the same home.
 */
import { random } from "./mix.mjs";

const ROOM_NAMES = [
  "Living Room",
  "Kitchen",
  "Hallway",
  "Bedroom",
  "Bathroom",
  "Office",
  "Garage",
  "Dining Room",
  "Guest Room",
  "Kids Room",
  "Laundry",
  "Basement",
  "Attic",
  "Porch",
  "Garden",
  "Study",
  "Gym",
  "Pantry",
];

/** Device kinds: the entities each device brings, as [domain, object suffix, state, attributes]. */
const KINDS = [
  (name) => [
    [
      "light",
      "light",
      "on",
      {
        brightness: 180,
        color_mode: "color_temp",
        color_temp_kelvin: 3000,
        min_color_temp_kelvin: 2000,
        max_color_temp_kelvin: 6500,
        supported_color_modes: ["color_temp"],
        friendly_name: `${name} Light`,
        supported_features: 40,
      },
    ],
  ],
  (name) => [
    [
      "sensor",
      "temperature",
      "21.4",
      {
        state_class: "measurement",
        unit_of_measurement: "°C",
        device_class: "temperature",
        friendly_name: `${name} Temperature`,
      },
    ],
    [
      "sensor",
      "humidity",
      "48",
      {
        state_class: "measurement",
        unit_of_measurement: "%",
        device_class: "humidity",
        friendly_name: `${name} Humidity`,
      },
    ],
    [
      "sensor",
      "battery",
      "87",
      {
        state_class: "measurement",
        unit_of_measurement: "%",
        device_class: "battery",
        friendly_name: `${name} Battery`,
      },
    ],
  ],
  (name) => [
    ["binary_sensor", "motion", "off", { device_class: "motion", friendly_name: `${name} Motion` }],
    [
      "sensor",
      "illuminance",
      "120",
      {
        state_class: "measurement",
        unit_of_measurement: "lx",
        device_class: "illuminance",
        friendly_name: `${name} Illuminance`,
      },
    ],
  ],
  (name) => [
    ["switch", "plug", "off", { friendly_name: `${name} Plug` }],
    [
      "sensor",
      "power",
      "0.0",
      {
        state_class: "measurement",
        unit_of_measurement: "W",
        device_class: "power",
        friendly_name: `${name} Power`,
      },
    ],
  ],
];

const slug = (text) =>
  text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "_")
    .replace(/^_|_$/g, "");
const hex32 = (next) => Array.from({ length: 32 }, () => Math.floor(next() * 16).toString(16)).join("");

/** A home with about `entityCount` entities. */
export function generateHome(entityCount, seed = 1) {
  const next = random(seed);
  const roomCount = Math.min(60, Math.max(4, Math.round(entityCount / 50)));
  const floorCount = Math.max(1, Math.ceil(roomCount / 10));
  const floors = Array.from({ length: floorCount }, (_, level) => ({
    floor_id: `floor_${level}`,
    name: `Floor ${level}`,
    level,
    icon: null,
    aliases: [],
  }));
  const areas = Array.from({ length: roomCount }, (_, i) => {
    const base = ROOM_NAMES[i % ROOM_NAMES.length];
    const name = i < ROOM_NAMES.length ? base : `${base} ${Math.floor(i / ROOM_NAMES.length) + 1}`;
    return { area_id: slug(name), name, floor_id: floors[i % floorCount].floor_id, icon: null };
  });
  const devices = [];
  const entities = [];
  const states = [];
  const add = (entityId, state, attributes, deviceId, areaId) => {
    entities.push({
      id: hex32(next),
      entity_id: entityId,
      device_id: deviceId,
      area_id: areaId,
      name: null,
      original_name: attributes.friendly_name ?? null,
      platform: "zha",
      disabled_by: null,
      entity_category: null,
    });
    states.push({ entity_id: entityId, state, attributes });
  };
  for (let n = 0; states.length < entityCount; n++) {
    // About one entity in twenty has no room: YAML sensors and cloud services.
    const area = next() < 0.05 ? null : areas[Math.floor(next() * areas.length)];
    const name = `${area?.name ?? "Outdoor"} ${n}`;
    const device = {
      id: hex32(next),
      name,
      name_by_user: null,
      area_id: area?.area_id ?? null,
      manufacturer: "Bench",
      model: null,
    };
    devices.push(device);
    for (const [domain, suffix, state, attributes] of KINDS[n % KINDS.length](name)) {
      if (states.length >= entityCount) break;
      add(`${domain}.${slug(name)}_${suffix}`, state, attributes, device.id, null);
    }
  }
  return { floors, areas, devices, entities, states };
}
