/**
 * The ingest measurement, in a process of its own. It records real frames first: the simulated HA (in
 * this process, before anything is timed) serves a generated home and changes entities while a minimal
 * client holds a `subscribe_entities` subscription. Then it replays those frames through the bridge's own
 * pure pieces, in the order the Home Assistant source calls them, adding one stage at a time:
 *   parse     JSON.parse + the source's `parseEntitiesEvent` (schema validation) + `applyStateDiff`
 *   normalise + `HomeModel.applyStateChange` (the BridgeEvents)
 *   route     + `Hub.publish` through the subscription index with the fan-out plan's subscribers
 *   encode    + each dialect's encoding, once per event (what every recipient then shares)
 * The replay loops over the recording; every replayed diff still changes its entity (each carries a new
 * `bench_t`), so each pass produces events like the first.
 */

import { HomeModel } from "../../dist/core/home-model.js";
import { entityKey, roomKey, typeKey } from "../../dist/core/hub/subscription-index.js";
import { Hub } from "../../dist/core/hub.js";
import { createLogger } from "../../dist/core/logger.js";
import { OccupancyEncoder } from "../../dist/server/occupancy/encoder.js";
import { PmaEncoder } from "../../dist/server/pma/encoder.js";
import { generateHome } from "../../dist/simulator/generator.js";
import { SimulatedHomeAssistant } from "../../dist/simulator/server.js";
import {
  parseAreaList,
  parseDeviceList,
  parseEntitiesEvent,
  parseEntityList,
  parseFloorList,
} from "../../dist/sources/home-assistant/messages.js";
import { applyStateDiff } from "../../dist/sources/home-assistant/normalize.js";
import { HaConnection } from "../lib/ha-client.mjs";
import { homeOptions, planClients, random } from "../lib/mix.mjs";
import { serve, usage } from "../lib/rpc.mjs";

const STAGES = ["parse", "normalise", "route", "encode"];

async function record({ frames, entities }) {
  const token = "bench-ingest";
  const sim = await SimulatedHomeAssistant.start({ token, home: generateHome(homeOptions(entities)) });
  const ha = await HaConnection.open(sim.url, token);
  try {
    const [states, floors, areas, devices, entries] = await Promise.all(
      [
        "get_states",
        "config/floor_registry/list",
        "config/area_registry/list",
        "config/device_registry/list",
        "config/entity_registry/list",
      ].map((type) => ha.command(type)),
    );
    const recorded = [];
    let snapshotSeen = false;
    let resolveDone;
    const done = new Promise((resolve) => (resolveDone = resolve));
    await ha.subscribe("subscribe_entities", {}, (event) => {
      if (!snapshotSeen) {
        snapshotSeen = true;
        return;
      }
      recorded.push(JSON.stringify({ id: 1, type: "event", event }));
      if (recorded.length === frames) resolveDone();
    });
    const ids = sim.entityIds();
    const next = random(3);
    for (let i = 0; i < frames; i++) {
      const id = ids[Math.floor(next() * ids.length)];
      const current = sim.stateOf(id)?.state ?? "on";
      sim.setState(id, current === "on" ? "off" : current === "off" ? "on" : current, { bench_t: i });
      if (i % 500 === 499) await new Promise((resolve) => setImmediate(resolve));
    }
    await done;
    const registries = {
      floors: parseFloorList(floors).value.items,
      areas: parseAreaList(areas).value.items,
      devices: parseDeviceList(devices).value.items,
      entities: parseEntityList(entries).value.items,
    };
    return { recorded, registries, states };
  } finally {
    ha.close();
    await sim.stop();
  }
}

/** A hub client that routes like a connected client but writes nowhere. */
function sink(encoder, view, render, counter) {
  return {
    encoder,
    matches: () => true,
    deliver(encoded) {
      if (render) encoded.view(view);
      counter.deliveries++;
    },
  };
}

function subscribe(hub, plan, pma, occupancy, render, counter) {
  for (const spec of plan) {
    switch (spec.kind) {
      case "pma_all":
        hub.subscribe(sink(pma, "", render, counter), [typeKey("state_changed")]);
        break;
      case "pma_rooms":
        hub.subscribe(sink(pma, "", render, counter), spec.rooms.map(roomKey));
        break;
      case "pma_entities":
        hub.subscribe(sink(pma, "", render, counter), spec.entities.map(entityKey));
        break;
      case "occupancy_room":
        hub.subscribe(sink(occupancy, `/ws/room/${spec.room}`, render, counter), [roomKey(spec.room)]);
        break;
      default:
        throw new Error(`unknown client kind ${spec.kind}`);
    }
  }
}

function measureStage(stage, recording, clients, seconds) {
  const log = createLogger({ level: "silent", format: "json" });
  const model = new HomeModel();
  model.resync({ registries: recording.registries, states: recording.states });
  const hub = new Hub({ log });
  const counter = { deliveries: 0 };
  const level = STAGES.indexOf(stage);
  if (level >= 2) {
    const countRender = (dialect) => hub.countRender(dialect);
    const pma = new PmaEncoder(countRender);
    const occupancy = new OccupancyEncoder(countRender, model, new Set());
    const home = {
      entities: model.entities().map((e) => ({ entity_id: e.id, room_id: model.roomOf(e.id) })),
    };
    subscribe(hub, planClients(clients, home), pma, occupancy, level >= 3, counter);
  }
  let events = 0;
  const start = usage();
  const deadline = performance.now() + seconds * 1000;
  let frame = 0;
  while (performance.now() < deadline) {
    // A slice between clock reads, so reading the clock does not dominate.
    for (let i = 0; i < 200; i++) {
      const raw = JSON.parse(recording.recorded[frame]);
      frame = (frame + 1) % recording.recorded.length;
      const parsed = parseEntitiesEvent(raw.event);
      if (!parsed.ok) throw new Error(parsed.error);
      for (const [id, diff] of parsed.value.changed) {
        const current = model.state(id);
        if (current === undefined) continue;
        const next = applyStateDiff(current, diff);
        if (level === 0) {
          events++;
          continue;
        }
        for (const event of model.applyStateChange(id, next, "homeassistant")) {
          events++;
          if (level >= 2) hub.publish(event);
        }
      }
    }
  }
  const end = usage();
  const cpuSeconds = (end.cpuMicros - start.cpuMicros) / 1e6;
  return {
    stage,
    events,
    cpu_seconds: cpuSeconds,
    events_per_cpu_second: events / cpuSeconds,
    cpu_us_per_event: (cpuSeconds * 1e6) / events,
    deliveries_per_event: level >= 2 ? counter.deliveries / events : null,
  };
}

serve({
  async run({ frames, seconds, clients, entities }) {
    const recording = await record({ frames, entities });
    // One untimed pass so the JIT has compiled the hot paths before any stage is measured.
    measureStage("encode", recording, clients, Math.min(1, seconds));
    const stages = STAGES.map((stage) => measureStage(stage, recording, clients, seconds));
    return { frames: recording.recorded.length, stages };
  },
});
