/**
 * A deliberately minimal Home Assistant WebSocket client for the baseline servers and the orchestrator:
 * auth, numbered commands, `subscribe_events`. It is the least work any server must do to read HA, so the
 * baselines pay the same ingest cost as the bridge without any of its machinery.
 */
import WebSocket from "ws";

export class HaConnection {
  #ws;
  #nextId = 1;
  #pending = new Map();
  #listeners = new Map();

  /** Connects, authenticates and resolves when HA says `auth_ok`. */
  static open(url, token) {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { perMessageDeflate: false, maxPayload: 256 * 1024 * 1024 });
      const connection = new HaConnection(ws);
      ws.once("error", reject);
      ws.on("message", function onAuth(data) {
        const message = JSON.parse(data.toString());
        if (message.type === "auth_required") ws.send(JSON.stringify({ type: "auth", access_token: token }));
        else if (message.type === "auth_ok") {
          ws.off("message", onAuth);
          ws.off("error", reject);
          ws.on("message", (frame) => connection.#receive(frame));
          resolve(connection);
        } else reject(new Error(`Home Assistant auth failed: ${data.toString()}`));
      });
    });
  }

  constructor(ws) {
    this.#ws = ws;
  }

  /** Sends a command and resolves with its `result`. */
  command(type, fields = {}) {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#ws.send(JSON.stringify({ id, type, ...fields }));
    });
  }

  /** Subscribes to one HA event type; `onEvent` gets each event object. */
  subscribeEvents(eventType, onEvent) {
    return this.subscribe("subscribe_events", { event_type: eventType }, onEvent);
  }

  /** Any subscription command (`subscribe_events`, `subscribe_entities`); `onEvent` gets each `event`. */
  async subscribe(type, fields, onEvent) {
    const id = this.#nextId;
    this.#listeners.set(id, onEvent);
    await this.command(type, fields);
  }

  close() {
    this.#ws.close();
  }

  #receive(frame) {
    const parsed = JSON.parse(frame.toString());
    for (const message of Array.isArray(parsed) ? parsed : [parsed]) {
      if (message.type === "event") {
        this.#listeners.get(message.id)?.(message.event);
      } else if (message.type === "result") {
        const waiter = this.#pending.get(message.id);
        this.#pending.delete(message.id);
        if (message.success) waiter?.resolve(message.result);
        else waiter?.reject(new Error(`${message.error?.code}: ${message.error?.message}`));
      }
    }
  }
}

/**
 * The home as the bridge sees it: each entity with a state, its room (entity area ?? device area) and that
 * room's floor. Read from the registries, like the bridge does.
 * @returns {Promise<{ entities: { entity_id: string, room_id: string | null, area_id: string | null }[], rooms: string[] }>}
 */
export async function readHome(ha) {
  const [states, entityRegistry, deviceRegistry, areaRegistry] = await Promise.all([
    ha.command("get_states"),
    ha.command("config/entity_registry/list"),
    ha.command("config/device_registry/list"),
    ha.command("config/area_registry/list"),
  ]);
  const floorOfArea = new Map(areaRegistry.map((area) => [area.area_id, area.floor_id ?? null]));
  const areaOfDevice = new Map(deviceRegistry.map((device) => [device.id, device.area_id ?? null]));
  const registryEntry = new Map(entityRegistry.map((entry) => [entry.entity_id, entry]));
  const entities = states.map((state) => {
    const entry = registryEntry.get(state.entity_id);
    const room = entry?.area_id ?? (entry?.device_id ? areaOfDevice.get(entry.device_id) : null) ?? null;
    return {
      entity_id: state.entity_id,
      room_id: room,
      area_id: room === null ? null : (floorOfArea.get(room) ?? null),
    };
  });
  return { entities, rooms: areaRegistry.map((area) => area.area_id) };
}
