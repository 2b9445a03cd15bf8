/**
 * The simulated Home Assistant process (the project's own simulator, from dist/), with an activity
 * driver that changes entity states at a fixed rate. Each change carries a `bench_t` attribute: the
 * wall-clock time (ms) at which the simulator emitted it, from which clients compute end-to-end latency.
 * It runs apart from the servers under test so its CPU is never billed to them.
 */
import { randomBytes } from "node:crypto";
import { generateHome } from "../dist/simulator/generator.js";
import { SimulatedHomeAssistant } from "../dist/simulator/server.js";
import { homeOptions, random } from "./lib/mix.mjs";
import { nowMs, serve } from "./lib/rpc.mjs";

let sim;
let driven = [];
let next = random(1);

/** A state a real device could move to next: numbers drift, binary states toggle, others stay. */
function nextState(current) {
  if (current === "on") return "off";
  if (current === "off") return "on";
  const value = Number(current);
  if (current !== "" && Number.isFinite(value)) return (value + (next() - 0.5) * 2).toFixed(1);
  return current;
}

function emitOne(emitted) {
  const entityId = driven[Math.floor(next() * driven.length)];
  const state = sim.stateOf(entityId)?.state ?? "unknown";
  sim.setState(entityId, nextState(state), { bench_t: nowMs() });
  emitted[entityId] = (emitted[entityId] ?? 0) + 1;
}

serve(
  {
    async start({ entities, seed }) {
      const token = randomBytes(24).toString("hex");
      sim = await SimulatedHomeAssistant.start({ token, home: generateHome(homeOptions(entities, seed)) });
      driven = sim.entityIds();
      next = random(seed);
      return { url: sim.url, token };
    },

    /** Emits `rate` state changes per second for `seconds`, evenly paced; resolves when the last is sent. */
    drive({ rate, seconds }) {
      const total = Math.max(1, Math.round(rate * seconds));
      const emitted = {};
      const started = nowMs();
      let done = 0;
      return new Promise((resolve) => {
        const tick = () => {
          const due = Math.min(total, Math.floor(((nowMs() - started) / 1000) * rate) + 1);
          while (done < due) {
            emitOne(emitted);
            done++;
          }
          if (done < total) setTimeout(tick, 1);
          else resolve({ emitted, count: done, seconds: (nowMs() - started) / 1000 });
        };
        tick();
      });
    },
  },
  () => sim?.stop(),
);
