import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ADMIN_USER_ID, FIXTURE_DEVICE_IDS, SimulatedHomeAssistant } from "../../src/simulator/index.js";
import { TOKEN, waitFor } from "../helpers/ha-harness.js";
import { type Frame, RawHaClient } from "../helpers/ha-raw-client.js";

const isEvent = (id: number) => (m: Frame) => m.type === "event" && m.id === id;
const eventBody = (m: Frame) => m.event as Record<string, unknown>;

describe("SimulatedHomeAssistant", () => {
  let ha: SimulatedHomeAssistant;
  const clients: RawHaClient[] = [];
  const connect = async (): Promise<RawHaClient> => {
    const client = await RawHaClient.authenticated(ha.url, TOKEN);
    clients.push(client);
    return client;
  };

  beforeEach(async () => {
    ha = await SimulatedHomeAssistant.start({ token: TOKEN, authTimeoutMs: 300 });
  });
  afterEach(async () => {
    for (const client of clients.splice(0)) client.close();
    await ha.stop();
  });

  it("keeps only the latest 10,000 commands for inspection, so a long-running demo does not grow", async () => {
    const client = await connect();
    // In batches, as HA closes a connection with too many replies pending.
    for (let id = 1; id <= 10_050; id++) {
      client.send({ id, type: "ping" });
      if (id % 500 === 0 || id === 10_050) await client.next((m) => m.id === id, `pong ${id}`);
    }
    expect(ha.commands).toHaveLength(10_000);
    expect(ha.commands[0]?.message.id).toBe(51);
  });

  describe("auth phase", () => {
    it("sends auth_required with a real-looking version and accepts a valid token", async () => {
      const client = await RawHaClient.connect(ha.url);
      clients.push(client);
      expect(await client.next()).toEqual({ type: "auth_required", ha_version: "2026.7.3" });
      client.send({ type: "auth", access_token: TOKEN });
      expect(await client.next()).toEqual({ type: "auth_ok", ha_version: "2026.7.3" });
    });

    it("accepts an auth sent before its own auth_required", async () => {
      await ha.stop();
      ha = await SimulatedHomeAssistant.start({ token: TOKEN, authRequiredDelayMs: 100 });
      const client = await RawHaClient.connect(ha.url);
      clients.push(client);
      client.send({ type: "auth", access_token: TOKEN });
      expect(await client.next((m) => m.type === "auth_ok")).toBeDefined();
    });

    it("answers a wrong token with auth_invalid and closes", async () => {
      const client = await RawHaClient.connect(ha.url);
      clients.push(client);
      client.send({ type: "auth", access_token: "nope" });
      expect(await client.next((m) => m.type === "auth_invalid")).toEqual({
        type: "auth_invalid",
        message: "Invalid access token or password",
      });
      await client.waitClosed();
    });

    it("answers a malformed auth message with the schema error and closes", async () => {
      const client = await RawHaClient.connect(ha.url);
      clients.push(client);
      client.send({ type: "auth" });
      const reply = await client.next((m) => m.type === "auth_invalid");
      expect(reply.message).toMatch(/^Auth message incorrectly formatted: /);
      await client.waitClosed();
    });

    it("closes silently when no auth arrives before the deadline", async () => {
      const client = await RawHaClient.connect(ha.url);
      clients.push(client);
      await client.waitClosed();
      expect(client.received.map((r) => r.message.type)).toEqual(["auth_required"]);
    });

    it("closes on a frame that is not JSON", async () => {
      const client = await connect();
      client.send("{not json");
      await client.waitClosed();
    });
  });

  describe("commands", () => {
    it("enforces HA's id rules and only advances the last id for handled commands", async () => {
      const client = await connect();
      expect(await client.command({ id: 5, type: "ping" })).toEqual({ id: 5, type: "pong" });
      expect((await client.command({ id: 5, type: "ping" })).error).toEqual({
        code: "id_reuse",
        message: "Identifier values have to increase.",
      });
      expect((await client.command({ id: 6, type: "no_such_command" })).error).toMatchObject({
        code: "unknown_command",
      });
      // The unknown command did not consume id 6.
      expect(await client.command({ id: 6, type: "ping" })).toEqual({ id: 6, type: "pong" });
      client.send({ type: "ping" });
      expect(await client.next((m) => m.type === "result")).toMatchObject({
        id: null,
        error: { code: "invalid_format" },
      });
      client.send([42]);
      expect(await client.next((m) => m.type === "result")).toMatchObject({
        id: 0,
        error: { code: "invalid_format" },
      });
      client.send({ id: true, type: "ping" });
      expect(await client.next((m) => m.type === "result")).toMatchObject({
        error: { code: "invalid_format" },
      });
      expect(ha.protocolErrors.map((e) => e.code)).toEqual([
        "id_reuse",
        "unknown_command",
        "invalid_format",
        "invalid_format",
        "invalid_format",
      ]);
    });

    it("sends arrays only after coalescing was enabled, then joins queued messages into one frame", async () => {
      const client = await connect();
      await client.command({ id: 2, type: "subscribe_entities" });
      await client.next(isEvent(2));
      expect(client.received.some((r) => r.inArray)).toBe(false);
      await client.command({ id: 3, type: "supported_features", features: { coalesce_messages: 1 } });
      client.send({ id: 4, type: "subscribe_entities" });
      await client.next(isEvent(4));
      const last = client.received.slice(-2);
      expect(last.map((r) => [r.message.type, r.inArray])).toEqual([
        ["result", true],
        ["event", true],
      ]);
    });

    it("subscribe_entities: result, one compressed snapshot, then a/c/r diffs with HA's rules", async () => {
      const client = await connect();
      await client.command({ id: 2, type: "subscribe_entities" });
      const snapshot = eventBody(await client.next(isEvent(2))).a as Record<string, Record<string, unknown>>;
      expect(Object.keys(snapshot)).toHaveLength(10);
      const ceiling = snapshot["light.living_room_ceiling"];
      expect(typeof ceiling?.c).toBe("string");
      expect(typeof ceiling?.lc).toBe("number");
      expect(ceiling).not.toHaveProperty("lu");
      expect(ceiling).not.toHaveProperty("entity_id");

      ha.setState("light.living_room_ceiling", "on", { brightness: 180 }, { userId: ADMIN_USER_ID });
      const change = eventBody(await client.next(isEvent(2))).c as Record<
        string,
        Record<string, Record<string, unknown>>
      >;
      const plus = change["light.living_room_ceiling"]?.["+"];
      expect(plus).toMatchObject({ s: "on", a: { brightness: 180 }, c: { user_id: ADMIN_USER_ID } });
      expect(plus).toHaveProperty("lc");
      expect(plus).not.toHaveProperty("lu");

      ha.setState("light.living_room_ceiling", "on", { brightness: 90 }, { userId: ADMIN_USER_ID });
      const attrOnly = eventBody(await client.next(isEvent(2))).c as Record<
        string,
        Record<string, Record<string, unknown>>
      >;
      const plus2 = attrOnly["light.living_room_ceiling"]?.["+"];
      expect(typeof plus2?.c).toBe("string");
      expect(plus2).toHaveProperty("lu");
      expect(plus2).not.toHaveProperty("lc");
      expect(plus2).not.toHaveProperty("s");

      ha.setState(
        "light.living_room_ceiling",
        "on",
        {},
        { removeAttributes: ["supported_features"], userId: ADMIN_USER_ID },
      );
      const removal = eventBody(await client.next(isEvent(2))).c as Record<string, Record<string, unknown>>;
      expect(removal["light.living_room_ceiling"]?.["-"]).toEqual({ a: ["supported_features"] });

      // A write that changes nothing is state_reported: no diff at all.
      ha.setState("light.living_room_ceiling", "on", {}, { userId: ADMIN_USER_ID });
      ha.removeState("sensor.outdoor_temperature");
      expect(eventBody(await client.next(isEvent(2)))).toEqual({ r: ["sensor.outdoor_temperature"] });
      ha.addEntity({ entity_id: "light.bedroom_lamp", state: "off", registry: false });
      expect(Object.keys(eventBody(await client.next(isEvent(2))).a as object)).toEqual([
        "light.bedroom_lamp",
      ]);
    });

    it("subscribe_events filters by type, delivers all without a type, and unsubscribe_events works for any id", async () => {
      const client = await connect();
      await client.command({ id: 2, type: "subscribe_events", event_type: "automation_triggered" });
      await client.command({ id: 3, type: "subscribe_events" });
      ha.triggerAutomation("automation.morning");
      const typed = eventBody(await client.next(isEvent(2)));
      expect(typed).toMatchObject({
        event_type: "automation_triggered",
        origin: "LOCAL",
        data: { entity_id: "automation.morning" },
      });
      expect(eventBody(await client.next(isEvent(3))).event_type).toBe("automation_triggered");
      ha.setState("switch.coffee_machine", "on");
      const stateEvent = eventBody(await client.next(isEvent(3)));
      expect(stateEvent).toMatchObject({
        event_type: "state_changed",
        data: { entity_id: "switch.coffee_machine" },
      });
      expect((stateEvent.data as Record<string, Record<string, unknown>>).new_state?.last_changed).toMatch(
        /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$/,
      );
      expect(await client.command({ id: 4, type: "unsubscribe_events", subscription: 2 })).toMatchObject({
        success: true,
      });
      expect((await client.command({ id: 5, type: "unsubscribe_events", subscription: 2 })).error).toEqual({
        code: "not_found",
        message: "Subscription not found.",
      });
    });

    it("call_service changes state before its result, with the caller's user in the context", async () => {
      const client = await connect();
      await client.command({ id: 2, type: "subscribe_events", event_type: "state_changed" });
      const reply = await client.command({
        id: 3,
        type: "call_service",
        domain: "light",
        service: "turn_on",
        service_data: { brightness: 180 },
        target: { entity_id: "light.living_room_ceiling" },
      });
      expect(reply.result).toMatchObject({ context: { user_id: ADMIN_USER_ID } });
      const order = client.received.map((r) => r.message.type);
      expect(order.indexOf("event")).toBeLessThan(order.lastIndexOf("result"));
      const unknown = await client.command({
        id: 4,
        type: "call_service",
        domain: "light",
        service: "turn_onn",
      });
      expect(unknown.error).toEqual({
        code: "not_found",
        message: "Service light.turn_onn not found.",
        translation_key: "service_not_found",
        translation_placeholders: { domain: "light", service: "turn_onn" },
        translation_domain: "homeassistant",
      });
    });

    it("get_config reports STARTING during a restart and config/* is unknown until startup finishes", async () => {
      ha.restart();
      const client = await connect();
      expect((await client.command({ id: 2, type: "get_config" })).result).toMatchObject({
        state: "STARTING",
      });
      expect((await client.command({ id: 3, type: "config/area_registry/list" })).error).toMatchObject({
        code: "unknown_command",
      });
      await client.command({ id: 4, type: "subscribe_entities" });
      const snapshot = eventBody(await client.next(isEvent(4))).a as Record<string, Record<string, unknown>>;
      expect(snapshot["sensor.bedroom_humidity"]).toMatchObject({ s: "unavailable", a: { restored: true } });
      ha.finishStartup();
      expect((await client.command({ id: 5, type: "get_config" })).result).toMatchObject({
        state: "RUNNING",
      });
      expect((await client.command({ id: 6, type: "config/area_registry/list" })).success).toBe(true);
    });

    it("drops a client whose queue reaches 4096 messages, without a message", async () => {
      const client = await connect();
      await client.command({ id: 2, type: "subscribe_entities" });
      await client.next(isEvent(2));
      ha.flood(5000);
      await client.waitClosed();
      expect(client.received.length).toBeLessThan(100);
    });

    it("refuses a command on request, counting it as handled, and serves it normally afterwards", async () => {
      const client = await connect();
      const trigger = { trigger: "state", entity_id: "binary_sensor.hallway_motion", to: "on" };
      ha.refuse("subscribe_trigger");
      expect((await client.command({ id: 2, type: "subscribe_trigger", trigger })).error).toEqual({
        code: "unknown_command",
        message: "Unknown command.",
      });
      expect((await client.command({ id: 2, type: "ping" })).error).toMatchObject({ code: "id_reuse" });
      expect((await client.command({ id: 3, type: "subscribe_trigger", trigger })).success).toBe(true);
      ha.setState("binary_sensor.hallway_motion", "on");
      const fired = eventBody(await client.next(isEvent(3)));
      expect(fired).toMatchObject({
        variables: {
          trigger: {
            platform: "state",
            entity_id: "binary_sensor.hallway_motion",
            to_state: { state: "on" },
          },
        },
      });
      expect(
        (await client.command({ id: 4, type: "subscribe_trigger", trigger: { trigger: "sun" } })).error,
      ).toMatchObject({
        code: "invalid_format",
      });
    });
  });

  describe("registries", () => {
    const registryEvents = async (client: RawHaClient, count: number): Promise<Record<string, unknown>[]> => {
      const events: Record<string, unknown>[] = [];
      for (let i = 0; i < count; i++) events.push(eventBody(await client.next(isEvent(2))));
      return events.map((e) => ({ type: e.event_type, ...(e.data as object) }));
    };

    it("lists the four registries with HA's fields", async () => {
      const client = await connect();
      const floors = (await client.command({ id: 2, type: "config/floor_registry/list" })).result as Frame[];
      const areas = (await client.command({ id: 3, type: "config/area_registry/list" })).result as Frame[];
      const devices = (await client.command({ id: 4, type: "config/device_registry/list" }))
        .result as Frame[];
      const entities = (await client.command({ id: 5, type: "config/entity_registry/list" }))
        .result as Frame[];
      expect(floors.map((f) => f.floor_id)).toEqual(["ground_floor", "upstairs"]);
      expect(areas.find((a) => a.area_id === "living_room")).toMatchObject({
        floor_id: "ground_floor",
        name: "Living Room",
      });
      expect(devices.find((d) => d.id === FIXTURE_DEVICE_IDS.livingRoomCeiling)).toMatchObject({
        area_id: "living_room",
        name_by_user: null,
      });
      expect(entities.find((e) => e.entity_id === "light.hallway_nightlight")).toMatchObject({
        disabled_by: "user",
      });
      expect(entities.some((e) => e.entity_id === "sensor.outdoor_temperature")).toBe(false);
    });

    it("reports OLD values in changes, cascades area deletion, and renames with old_entity_id", async () => {
      const client = await connect();
      await client.command({ id: 2, type: "subscribe_events" });
      ha.moveDevice(FIXTURE_DEVICE_IDS.livingRoomCeiling, "bedroom");
      expect(await registryEvents(client, 1)).toEqual([
        {
          type: "device_registry_updated",
          action: "update",
          device_id: FIXTURE_DEVICE_IDS.livingRoomCeiling,
          changes: { area_id: "living_room" },
        },
      ]);
      ha.deleteArea("kitchen");
      expect((await registryEvents(client, 3)).map((e) => [e.type, e.action])).toEqual([
        ["device_registry_updated", "update"],
        ["entity_registry_updated", "update"],
        ["area_registry_updated", "remove"],
      ]);
      ha.renameEntity("switch.coffee_machine", "switch.espresso");
      const [rename] = await registryEvents(client, 1);
      expect(rename).toEqual({
        type: "entity_registry_updated",
        action: "update",
        entity_id: "switch.espresso",
        changes: { entity_id: "switch.coffee_machine" },
        old_entity_id: "switch.coffee_machine",
      });
      ha.deleteFloor("upstairs");
      expect(
        (await registryEvents(client, 4)).filter((e) => String(e.type).endsWith("registry_updated")),
      ).toContainEqual({
        type: "floor_registry_updated",
        action: "remove",
        floor_id: "upstairs",
      });
      await waitFor(() => ha.openConnections === 1, "still connected");
    });
  });
});
