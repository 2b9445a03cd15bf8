import type { Attributes } from "../core/events.js";
import type { Service } from "../core/lifecycle.js";
import type { Logger } from "../core/logger.js";
import type { SimulatedHomeAssistant } from "../simulator/index.js";
import {
  DEMO_ENTITIES,
  DEMO_ROOMS,
  type DemoRoom,
  humidityEntity,
  lightEntity,
  presenceEntity,
  temperatureEntity,
} from "./home.js";
import type { Random } from "./predictions.js";
import type { OccupancyView, RoomOccupancy } from "./predictor.js";

/** The part of the simulated Home Assistant the activity drives. */
export type HomeControls = Pick<
  SimulatedHomeAssistant,
  "setState" | "triggerAutomation" | "activateScene" | "stateOf"
>;

export interface HomeActivityOptions {
  /** 1 = the demo's own pace (people stay 20–80 s in a room); tests speed it up. */
  readonly speed: number;
  readonly random: Random;
  readonly now?: () => number;
}

interface Resident {
  readonly name: string;
  /** Null while out of the house. */
  room: string | null;
  leaveAt: number;
  nextRoom: string | null;
}

const TICK_MS = 1000;
const CLIMATE_EVERY_TICKS = 3;

/**
 * Life in the demo home: two residents move between rooms (and sometimes go out). Presence sensors and
 * lights follow them, automations and scenes fire, temperatures and humidity drift, the coffee machine runs.
 * It also tells the prediction publisher which rooms are occupied and when each will next change, since it
 * plans every move ahead.
 */
export class HomeActivity implements Service, OccupancyView {
  readonly name = "demo-home-activity";
  private readonly residents: Resident[] = [];
  private readonly occupied = new Map<string, boolean>();
  private readonly temperatures = new Map<string, number>();
  private readonly listeners = new Set<(room: RoomOccupancy) => void>();
  private timer: ReturnType<typeof setInterval> | undefined;
  private ticks = 0;
  private coffeeOffAt: number | null = null;
  private outdoor = 12.4;
  private readonly now: () => number;

  constructor(
    private readonly home: HomeControls,
    private readonly options: HomeActivityOptions,
    private readonly log: Logger,
  ) {
    this.now = options.now ?? Date.now;
  }

  start(): Promise<void> {
    const now = this.now();
    for (const room of DEMO_ROOMS) {
      this.occupied.set(room.id, false);
      this.temperatures.set(room.id, room.baseTemperature);
    }
    for (const [name, room] of [
      ["Alex", "living_room"],
      ["Sam", "office"],
    ] as const) {
      const resident: Resident = { name, room, leaveAt: now, nextRoom: null };
      this.plan(resident, now);
      this.residents.push(resident);
    }
    this.applyOccupancy(now);
    this.timer = setInterval(() => this.tick(), TICK_MS / this.options.speed);
    this.log.info({ residents: this.residents.length, rooms: DEMO_ROOMS.length }, "demo home is alive");
    return Promise.resolve();
  }

  stop(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.listeners.clear();
    return Promise.resolve();
  }

  rooms(): readonly RoomOccupancy[] {
    return DEMO_ROOMS.map((room) => this.describe(room));
  }

  onChange(listener: (room: RoomOccupancy) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Runs one step of the simulation; the timer calls it, tests may too. */
  tick(): void {
    const now = this.now();
    for (const resident of this.residents) {
      if (resident.leaveAt > now) continue;
      const from = resident.room;
      resident.room = resident.nextRoom;
      if ((from === null) !== (resident.room === null))
        this.useFrontDoor(resident, resident.room === null ? "leaves" : "comes home");
      this.plan(resident, now);
    }
    this.applyOccupancy(now);
    if (this.coffeeOffAt !== null && this.coffeeOffAt <= now) {
      this.coffeeOffAt = null;
      this.home.setState(DEMO_ENTITIES.coffeeSwitch, "off");
      this.home.setState(DEMO_ENTITIES.coffeePower, "0.0");
    }
    this.ticks += 1;
    if (this.ticks % CLIMATE_EVERY_TICKS === 0) this.driftClimate();
  }

  /** Chooses where the resident goes next and when: mostly another room, sometimes out. */
  private plan(resident: Resident, now: number): void {
    const r = this.options.random;
    const away = resident.room === null;
    const stay = away ? 40_000 + r() * 80_000 : 20_000 + r() * 60_000;
    resident.leaveAt = Math.round(now + stay / this.options.speed);
    const choices = DEMO_ROOMS.filter((room) => room.id !== resident.room);
    const goOut = !away && r() < 0.12;
    resident.nextRoom = goOut ? null : (choices[Math.floor(r() * choices.length)]?.id ?? null);
  }

  private describe(room: DemoRoom): RoomOccupancy {
    const occupied = this.occupied.get(room.id) ?? false;
    const here = this.residents.filter((p) => p.room === room.id);
    const arriving = this.residents.filter((p) => p.nextRoom === room.id && p.room !== room.id);
    const times = occupied ? here.map((p) => p.leaveAt) : arriving.map((p) => p.leaveAt);
    const next = times.length === 0 ? null : occupied ? Math.max(...times) : Math.min(...times);
    return {
      roomId: room.id,
      name: room.name,
      occupied,
      nextChangeAt: next === null ? null : new Date(next),
    };
  }

  private applyOccupancy(now: number): void {
    for (const room of DEMO_ROOMS) {
      const count = this.residents.filter((p) => p.room === room.id).length;
      const occupied = count > 0;
      const wasOccupied = this.occupied.get(room.id) ?? false;
      if (occupied === wasOccupied) {
        if (
          room.id === "living_room" &&
          count === 2 &&
          this.home.stateOf(lightEntity(room))?.attributes.brightness !== 64
        ) {
          this.home.activateScene(DEMO_ENTITIES.movieScene);
          this.home.setState(lightEntity(room), "on", {
            brightness: 64,
            color_mode: "color_temp",
            color_temp_kelvin: 2202,
          });
        }
        continue;
      }
      this.occupied.set(room.id, occupied);
      this.home.setState(presenceEntity(room), occupied ? "on" : "off");
      if (occupied) this.arrive(room, now);
      else
        this.home.setState(lightEntity(room), "off", {
          brightness: null,
          color_mode: null,
          color_temp_kelvin: null,
        });
      const described = this.describe(room);
      for (const listener of this.listeners) listener(described);
    }
  }

  private arrive(room: DemoRoom, now: number): void {
    const r = this.options.random;
    const light: Attributes = {
      brightness: 150 + Math.round(r() * 105),
      color_mode: "color_temp",
      color_temp_kelvin: 2700,
    };
    this.home.setState(lightEntity(room), "on", light);
    if (room.presence === "motion") {
      this.home.triggerAutomation(DEMO_ENTITIES.motionLights, `state of ${presenceEntity(room)}`);
    }
    if (room.id === "kitchen" && this.coffeeOffAt === null && r() < 0.5) {
      this.home.triggerAutomation(DEMO_ENTITIES.coffeeAutomation, `state of ${presenceEntity(room)}`);
      this.home.setState(DEMO_ENTITIES.coffeeSwitch, "on");
      this.home.setState(DEMO_ENTITIES.coffeePower, (1250 + r() * 200).toFixed(1));
      this.coffeeOffAt = now + 20_000 / this.options.speed;
    }
    if (room.id === "bedroom" && r() < 0.3) this.home.activateScene(DEMO_ENTITIES.goodNightScene);
  }

  private useFrontDoor(resident: Resident, what: string): void {
    this.log.debug({ resident: resident.name }, `resident ${what}`);
    this.home.setState(DEMO_ENTITIES.frontDoor, "unlocked");
    this.home.setState(DEMO_ENTITIES.frontDoor, "locked");
  }

  /** Temperatures ease toward their room's usual value (a little warmer with people in it); the bathroom steams up. */
  private driftClimate(): void {
    const r = this.options.random;
    for (const room of DEMO_ROOMS) {
      if (!room.climate) continue;
      const occupied = this.occupied.get(room.id) ?? false;
      const current = this.temperatures.get(room.id) ?? room.baseTemperature;
      const target = room.baseTemperature + (occupied ? 0.8 : 0);
      const next = current + (target - current) * 0.15 + (r() - 0.5) * 0.2;
      this.temperatures.set(room.id, next);
      if (next.toFixed(1) !== current.toFixed(1))
        this.home.setState(temperatureEntity(room), next.toFixed(1));
      if (room.id === "bathroom") {
        const humidity = Number(this.home.stateOf(humidityEntity(room))?.state ?? 58);
        const nextHumidity = Math.round(humidity + ((occupied ? 78 : 55) - humidity) * 0.3);
        if (nextHumidity !== humidity) this.home.setState(humidityEntity(room), String(nextHumidity));
      }
    }
    const outdoor = this.outdoor + (r() - 0.5) * 0.2;
    if (outdoor.toFixed(1) !== this.outdoor.toFixed(1))
      this.home.setState(DEMO_ENTITIES.outdoorTemperature, outdoor.toFixed(1));
    this.outdoor = outdoor;
  }
}
