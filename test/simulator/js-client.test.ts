import {
  type Connection,
  callService,
  createConnection,
  createLongLivedTokenAuth,
  type HassEntities,
  subscribeEntities,
} from "home-assistant-js-websocket";
import { afterEach, describe, expect, it } from "vitest";
import { SimulatedHomeAssistant } from "../../src/simulator/index.js";
import { TOKEN, waitFor } from "../helpers/ha-harness.js";

/**
 * The real, unchanged `home-assistant-js-websocket` client (on Node's built-in WebSocket) against the
 * simulator: if the simulator drifted from HA's protocol, this client would notice.
 */
describe("SimulatedHomeAssistant with home-assistant-js-websocket", () => {
  let ha: SimulatedHomeAssistant | undefined;
  let conn: Connection | undefined;
  afterEach(async () => {
    conn?.close();
    await ha?.stop();
  });

  it("serves subscribeEntities and callService, and survives a reconnect", async () => {
    ha = await SimulatedHomeAssistant.start({ token: TOKEN });
    conn = await createConnection({ auth: createLongLivedTokenAuth(ha.httpUrl, TOKEN) });
    expect(conn.haVersion).toBe("2026.7.3");
    let entities: HassEntities = {};
    subscribeEntities(conn, (update) => {
      entities = update;
    });
    await waitFor(() => Object.keys(entities).length === 10, "the snapshot");
    expect(entities["sensor.bedroom_temperature"]).toMatchObject({
      state: "21.4",
      attributes: { unit_of_measurement: "°C" },
    });

    await callService(
      conn,
      "light",
      "turn_on",
      { brightness: 120 },
      { entity_id: "light.living_room_ceiling" },
    );
    await waitFor(() => entities["light.living_room_ceiling"]?.state === "on", "the service's state change");
    expect(entities["light.living_room_ceiling"]?.attributes.brightness).toBe(120);
    expect(entities["light.living_room_ceiling"]?.context.user_id).toBe("c1d2e3f4a5b60718293a4b5c6d7e8f90");

    let readyEvents = 0;
    conn.addEventListener("ready", () => {
      readyEvents++;
    });
    ha.dropConnections();
    await waitFor(() => readyEvents === 1 && ha?.openConnections === 1, "the reconnect");
    ha.setState("switch.coffee_machine", "on");
    await waitFor(() => entities["switch.coffee_machine"]?.state === "on", "a change after the reconnect");
    // The client's ids restarted at 2 on the new connection, and it broke no rule.
    expect(ha.commandsOn(2).map((c) => c.id)).toEqual([1, 2]);
    expect(ha.protocolErrors).toEqual([]);
  });
});
