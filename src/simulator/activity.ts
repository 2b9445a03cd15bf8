import { seededRandom } from "./generator.js";
import type { SimulatedHomeAssistant } from "./server.js";

export interface ActivityOptions {
  /** Average state changes and events per second (bursts and lulls average out to this). */
  readonly eventsPerSecond: number;
  readonly seed?: number;
  /** How often the driver wakes up, in milliseconds. */
  readonly tickMs?: number;
}

type Action = (random: () => number) => void;

function pick<T>(items: readonly T[], random: () => number): T | undefined {
  return items[Math.floor(random() * items.length)];
}

/**
 * Drives a simulated home the way a lived-in one behaves: motion comes and goes, lights follow, climate
 * sensors drift, plugs draw power, automations fire and now and then someone activates a scene.
 * Returns a function that stops it.
 */
export function driveActivity(ha: SimulatedHomeAssistant, options: ActivityOptions): () => void {
  const random = seededRandom(options.seed ?? 7);
  const ids = ha.entityIds();
  const byClass = (domain: string, deviceClass?: string): string[] =>
    ids.filter(
      (id) =>
        id.startsWith(`${domain}.`) &&
        (deviceClass === undefined || ha.stateOf(id)?.attributes.device_class === deviceClass),
    );
  const motion = byClass("binary_sensor", "motion");
  const occupancy = byClass("binary_sensor", "occupancy");
  const lights = byClass("light");
  const temperatures = byClass("sensor", "temperature");
  const humidities = byClass("sensor", "humidity");
  const switches = byClass("switch");
  const automations = byClass("automation");
  const scenes = byClass("scene");

  const toggle = (
    id: string | undefined,
    extra: (on: boolean) => Record<string, number | null> = () => ({}),
  ): void => {
    if (id === undefined) return;
    const on = ha.stateOf(id)?.state !== "on";
    ha.setState(id, on ? "on" : "off", extra(on));
  };
  const drift = (id: string | undefined, step: number, digits: number): void => {
    const current = id === undefined ? Number.NaN : Number(ha.stateOf(id)?.state);
    if (id === undefined || Number.isNaN(current)) return;
    ha.setState(id, (current + (random() - 0.5) * 2 * step).toFixed(digits));
  };
  const weighted: [number, Action][] = [
    [25, (r) => toggle(pick(motion, r))],
    [20, (r) => toggle(pick(lights, r), (on) => ({ brightness: on ? 20 + Math.floor(r() * 235) : null }))],
    [20, (r) => drift(pick(temperatures, r), 0.2, 1)],
    [10, (r) => drift(pick(humidities, r), 1, 0)],
    [
      10,
      (r) => {
        const plug = pick(switches, r);
        toggle(plug);
        const power = plug === undefined ? undefined : `sensor.${plug.slice("switch.".length)}_power`;
        if (power !== undefined && ha.stateOf(power) !== undefined) {
          ha.setState(power, ha.stateOf(plug ?? "")?.state === "on" ? (800 + r() * 1200).toFixed(1) : "0.0");
        }
      },
    ],
    [8, (r) => toggle(pick(occupancy, r))],
    [
      5,
      (r) => {
        const automation = pick(automations, r);
        if (automation !== undefined)
          ha.triggerAutomation(automation, `state of ${pick(motion, r) ?? "sun.sun"}`);
      },
    ],
    [
      2,
      (r) => {
        const scene = pick(scenes, r);
        if (scene !== undefined) ha.activateScene(scene);
      },
    ],
  ];
  const total = weighted.reduce((sum, [weight]) => sum + weight, 0);
  const act = (): void => {
    let roll = random() * total;
    for (const [weight, action] of weighted) {
      roll -= weight;
      if (roll < 0) {
        action(random);
        return;
      }
    }
  };

  const tickMs = options.tickMs ?? 100;
  let budget = 0;
  let last = Date.now();
  const timer = setInterval(() => {
    const now = Date.now();
    budget += (options.eventsPerSecond * (now - last)) / 1000;
    last = now;
    while (budget >= 1) {
      budget -= 1;
      act();
    }
  }, tickMs);
  timer.unref();
  return () => clearInterval(timer);
}
