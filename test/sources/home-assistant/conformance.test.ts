import { afterEach, describe, expect, it } from "vitest";
import { EventKind } from "../../../src/core/events.js";
import { ADMIN_USER_ID, FIXTURE_DEVICE_IDS } from "../../../src/simulator/index.js";
import { HomeAssistantCommandError } from "../../../src/sources/home-assistant/index.js";
import { type Harness, startHarness, waitFor } from "../../helpers/ha-harness.js";

/**
 * The 25 conformance cases of the HA protocol reference (§17): the bridge's HA source against the
 * simulated Home Assistant, over real sockets.
 */
describe("HomeAssistantSource conformance", () => {
  let h: Harness | undefined;
  afterEach(async () => {
    if (h !== undefined) {
      // No case may make the bridge break the protocol (case 23 asserts this explicitly too).
      expect(h.ha.protocolErrors).toEqual([]);
      await h.stop();
    }
    h = undefined;
  });

  it("1 happy_connect: authenticates, enables coalescing with id 1, starts at id 3, publishes all 10 states", async () => {
    h = await startHarness();
    const commands = h.ha.commandsOn(1);
    expect(commands[0]).toMatchObject({
      type: "supported_features",
      id: 1,
      features: { coalesce_messages: 1 },
    });
    expect(commands[1]?.id).toBe(3);
    const added = h.sink.of(EventKind.EntityAdded);
    expect(added.filter((e) => e.data.entity.state !== null)).toHaveLength(10);
    expect(h.model.entity("sensor.bedroom_temperature")?.state).toBe("21.4");
    expect(h.health.get("homeassistant")?.ready).toBe(true);
    const sync = h.sink.of(EventKind.SyncStatus);
    expect(sync.at(-1)?.data).toMatchObject({
      status: "completed",
      progress: 100,
      entity_count: 11,
      room_count: 4,
    });
    expect(sync.map((e) => e.data.progress)).toEqual(
      [...sync.map((e) => e.data.progress)].sort((a, b) => a - b),
    );
  });

  it("2 auth_before_required: an auth sent before auth_required is accepted", async () => {
    h = await startHarness({ simulator: { authRequiredDelayMs: 100 } });
    expect(h.source.ready).toBe(true);
  });

  it("3 auth_invalid: reports the rejected token and does not retry in a tight loop", async () => {
    h = await startHarness({ noWait: true, config: { token: "wrong-token" } });
    await waitFor(() => h?.source.stats.authFailures === 1, "the auth failure");
    expect(h.health.get("homeassistant")).toMatchObject({
      ready: false,
      reason: "Home Assistant rejected the access token",
    });
    expect(h.sink.of(EventKind.AdapterStatus).at(-1)?.data.status).toBe("error");
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(h.ha.totalConnections).toBe(1);
  });

  it("4 auth_stall: the bridge's own auth deadline fires and it retries", async () => {
    h = await startHarness({
      noWait: true,
      config: { auth_timeout_seconds: 0.3 },
      prepare: (ha) => {
        ha.stallAuth = true;
      },
    });
    await waitFor(() => (h?.source.stats.connectFailures ?? 0) >= 1, "a timed-out attempt");
    expect(h.health.get("homeassistant")?.reason).toContain("did not answer authentication in time");
    h.ha.stallAuth = false;
    await waitFor(() => h?.source.ready === true && h.ha.openConnections === 1, "recovery after the stall");
    expect(h.ha.totalConnections).toBeGreaterThanOrEqual(2);
  });

  it("5 supervisor_flap: auth_ok then close three times, then a normal connection; ends connected and consistent", async () => {
    h = await startHarness({ prepare: (ha) => ha.flapAfterAuth(3) });
    expect(h.source.stats.connects).toBeGreaterThanOrEqual(4);
    const added = h.sink.of(EventKind.EntityAdded).map((e) => e.entity_id);
    expect(new Set(added).size).toBe(added.length);
    expect(h.model.counts().states).toBe(10);
  });

  it("6 coalesced_frames: result and snapshot arrive in one array frame, then five diffs in one frame, applied in order", async () => {
    h = await startHarness();
    const arraysBefore = h.ha.frames.arrays;
    expect(arraysBefore).toBeGreaterThan(0);
    h.sink.clear();
    for (let i = 1; i <= 5; i++) h.ha.setState("sensor.coffee_machine_power", `${i}.0`);
    await waitFor(() => h?.sink.of(EventKind.EntityStateChanged).length === 5, "five changes");
    expect(h.ha.frames.arrays).toBe(arraysBefore + 1);
    expect(h.sink.of(EventKind.EntityStateChanged).map((e) => e.data.new_state)).toEqual([
      "1.0",
      "2.0",
      "3.0",
      "4.0",
      "5.0",
    ]);
  });

  it("7 diff_state_change: s, lc and an object c with user_id give a change with last_updated = last_changed", async () => {
    h = await startHarness();
    h.sink.clear();
    h.ha.setState(
      "light.living_room_ceiling",
      "on",
      { brightness: 180, color_mode: "color_temp" },
      { userId: ADMIN_USER_ID },
    );
    await waitFor(() => h?.sink.of(EventKind.EntityStateChanged).length === 1, "the change");
    const [change] = h.sink.of(EventKind.EntityStateChanged);
    expect(change?.data).toMatchObject({
      entity_id: "light.living_room_ceiling",
      old_state: "off",
      new_state: "on",
      user_id: ADMIN_USER_ID,
      room_id: "living_room",
      area_id: "ground_floor",
    });
    expect(change?.data.last_updated).toBe(change?.data.last_changed);
    expect(change?.data.changed_attributes).toEqual(["color_mode", "brightness"]);
  });

  it("8 diff_attribute_only: lu and a string c merge the attribute and replace only the context id", async () => {
    h = await startHarness();
    h.ha.setState("light.living_room_ceiling", "on", { brightness: 180 }, { userId: ADMIN_USER_ID });
    await waitFor(() => h?.model.state("light.living_room_ceiling")?.state === "on", "turned on");
    h.sink.clear();
    h.ha.setState("light.living_room_ceiling", "on", { brightness: 90 }, { userId: ADMIN_USER_ID });
    await waitFor(() => h?.sink.of(EventKind.EntityStateChanged).length === 1, "the attribute change");
    const state = h.model.state("light.living_room_ceiling");
    const simState = h.ha.stateOf("light.living_room_ceiling");
    expect(state?.attributes.brightness).toBe(90);
    expect(state?.attributes.min_color_temp_kelvin).toBe(2202);
    expect(state?.context).toEqual({ id: simState?.context.id, parent_id: null, user_id: ADMIN_USER_ID });
    const [change] = h.sink.of(EventKind.EntityStateChanged);
    expect(change?.data).toMatchObject({
      old_state: "on",
      new_state: "on",
      changed_attributes: ["brightness"],
    });
    expect(change?.data.last_updated).not.toBe(change?.data.last_changed);
  });

  it("9 diff_attribute_removed: '-' removes restored and supported_features", async () => {
    h = await startHarness();
    h.ha.setState("sensor.bedroom_humidity", "unavailable", { restored: true, supported_features: 0 });
    await waitFor(
      () => h?.model.state("sensor.bedroom_humidity")?.attributes.restored === true,
      "the placeholder",
    );
    h.sink.clear();
    h.ha.setState(
      "sensor.bedroom_humidity",
      "48",
      {},
      { removeAttributes: ["restored", "supported_features"] },
    );
    await waitFor(() => h?.sink.of(EventKind.EntityStateChanged).length === 1, "the real value");
    const attributes = h.model.state("sensor.bedroom_humidity")?.attributes ?? {};
    expect("restored" in attributes || "supported_features" in attributes).toBe(false);
    expect(h.sink.of(EventKind.EntityStateChanged)[0]?.data.changed_attributes).toEqual([
      "restored",
      "supported_features",
    ]);
  });

  it("10 entity_added_live: a new light after the snapshot is added once and placed in its room", async () => {
    h = await startHarness();
    h.sink.clear();
    h.ha.addEntity({
      entity_id: "light.bedroom_lamp",
      state: "off",
      attributes: { friendly_name: "Bedroom Lamp" },
      registry: { area_id: "bedroom" },
    });
    await waitFor(() => h?.model.roomOf("light.bedroom_lamp") === "bedroom", "the registry re-list");
    const added = h.sink.of(EventKind.EntityAdded);
    expect(added.map((e) => e.entity_id)).toEqual(["light.bedroom_lamp"]);
    expect(added[0]?.data.entity).toMatchObject({
      id: "light.bedroom_lamp",
      name: "Bedroom Lamp",
      type: "light",
      state: "off",
    });
    expect(h.model.room("bedroom")?.entity_count).toBe(3);
  });

  it("11 entity_removed_live: state and registry removal give exactly one removal, in either order", async () => {
    h = await startHarness();
    h.sink.clear();
    h.ha.removeEntity("switch.coffee_machine", "state_first");
    h.ha.removeEntity("sensor.coffee_machine_power", "registry_first");
    await waitFor(
      () =>
        h?.model.entity("switch.coffee_machine") === undefined &&
        h?.model.entity("sensor.coffee_machine_power") === undefined,
      "both removals",
    );
    await waitFor(() => h?.source.stats.registryRelists === 1, "the re-list");
    const removed = h.sink
      .of(EventKind.EntityRemoved)
      .map((e) => e.data.entity_id)
      .sort();
    expect(removed).toEqual(["sensor.coffee_machine_power", "switch.coffee_machine"]);
    expect(h.sink.of(EventKind.EntityRemoved)[0]?.data.room_id).toBe("kitchen");
  });

  it("12 removed_while_disconnected: an entity deleted while away is reported removed after the resync", async () => {
    h = await startHarness();
    h.sink.clear();
    h.ha.dropConnections();
    h.ha.removeState("sensor.outdoor_temperature");
    await waitFor(() => h?.source.stats.syncs === 2, "the resync");
    expect(h.sink.of(EventKind.EntityRemoved).map((e) => e.data.entity_id)).toEqual([
      "sensor.outdoor_temperature",
    ]);
    expect(h.model.entity("sensor.outdoor_temperature")).toBeUndefined();
  });

  it("13 connection_drop_resubscribe: ids restart at 2, every subscription is re-sent, no duplicates or gaps", async () => {
    h = await startHarness();
    const firstSubscriptions = h.ha.commandsOn(1).filter((c) => String(c.type).startsWith("subscribe_"));
    h.sink.clear();
    h.ha.dropConnections();
    await waitFor(() => h?.source.stats.syncs === 2, "the resync");
    const second = h.ha.commandsOn(2);
    expect(second[0]).toMatchObject({ type: "supported_features", id: 1 });
    expect(second[1]?.id).toBe(2);
    const resubscribed = second.filter((c) => String(c.type).startsWith("subscribe_"));
    expect(resubscribed.map((c) => [c.type, c.event_type])).toEqual(
      firstSubscriptions.map((c) => [c.type, c.event_type]),
    );
    expect(h.sink.events.filter((e) => e.kind.startsWith("entity_") || e.kind.startsWith("room_"))).toEqual(
      [],
    );
    h.ha.setState("binary_sensor.hallway_motion", "on");
    await waitFor(() => h?.sink.of(EventKind.EntityStateChanged).length === 1, "the live change");
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(h.sink.of(EventKind.EntityStateChanged)).toHaveLength(1);
  });

  it("14 resubscribe_rejected: a refused resubscription is survived and retried later", async () => {
    h = await startHarness();
    h.ha.refuse("subscribe_entities", { times: 2 });
    h.ha.dropConnections();
    await waitFor(() => h?.source.stats.syncs === 2, "the eventual resync");
    expect(h.source.stats.syncFailures).toBeGreaterThanOrEqual(2);
    expect(h.sink.of(EventKind.SyncStatus).some((e) => e.data.status === "error")).toBe(true);
    expect(h.health.get("homeassistant")?.ready).toBe(true);
  });

  it("15 ha_restart_sequence: waits for RUNNING, rides out restored placeholders and unloaded config commands", async () => {
    h = await startHarness();
    h.sink.clear();
    h.ha.restart();
    await waitFor(
      () => h !== undefined && h.ha.commandsOn(2).filter((c) => c.type === "get_config").length >= 2,
      "polling",
    );
    expect(h.ha.commandsOn(2).some((c) => String(c.type).startsWith("config/"))).toBe(false);
    expect(h.health.get("homeassistant")?.ready).toBe(false);
    expect(h.sink.of(EventKind.SyncStatus).at(-1)?.data.message).toContain("STARTING");
    h.ha.finishStartup();
    await waitFor(() => h?.source.stats.syncs === 2, "the resync after startup");
    // Placeholders came and went while syncing: clients see the home as it was, not a flap to unavailable.
    expect(h.sink.events.filter((e) => e.kind.startsWith("entity_"))).toEqual([]);
    expect(h.model.state("sensor.bedroom_humidity")?.state).toBe("48");

    // A core that says RUNNING before its config integration loaded answers config/* with unknown_command.
    h.ha.registriesLoaded = false;
    h.ha.dropConnections();
    await waitFor(() => (h?.source.stats.syncFailures ?? 0) >= 1, "the refused list");
    expect(h.ha.protocolErrors.every((e) => e.code === "unknown_command")).toBe(true);
    h.ha.registriesLoaded = true;
    await waitFor(() => h?.source.stats.syncs === 3, "the retried sync");
    h.ha.protocolErrors.length = 0;
  });

  it("16 area_reassigned_device: a device moved to another area moves its entities", async () => {
    h = await startHarness();
    h.sink.clear();
    h.ha.moveDevice(FIXTURE_DEVICE_IDS.livingRoomCeiling, "bedroom");
    await waitFor(() => h?.sink.of(EventKind.EntityUpdated).length === 1, "the entity update");
    expect(h.sink.of(EventKind.EntityUpdated)[0]?.data).toMatchObject({
      entity: { id: "light.living_room_ceiling" },
      room_id: "bedroom",
      area_id: "upstairs",
      old_room_id: "living_room",
      changes: ["room", "area"],
    });
    const rooms = h.sink.of(EventKind.RoomUpdated).map((e) => [e.data.room.id, e.data.room.entity_count]);
    expect(rooms).toEqual([
      ["living_room", 1],
      ["bedroom", 3],
    ]);
  });

  it("17 area_reassigned_entity_override: an entity's own area wins over its device's", async () => {
    h = await startHarness();
    h.ha.updateEntity("sensor.bedroom_temperature", { area_id: "kitchen" });
    await waitFor(() => h?.model.roomOf("sensor.bedroom_temperature") === "kitchen", "the override");
    expect(h.model.roomOf("sensor.bedroom_humidity")).toBe("bedroom");
    expect(h.sink.of(EventKind.EntityUpdated).at(-1)?.data).toMatchObject({
      room_id: "kitchen",
      old_room_id: "bedroom",
    });
  });

  it("18 area_deleted_cascade: deleting an area leaves no dangling references", async () => {
    h = await startHarness();
    h.sink.clear();
    h.ha.deleteArea("kitchen");
    await waitFor(() => h?.sink.of(EventKind.RoomRemoved).length === 1, "the room removal");
    expect(h.sink.of(EventKind.RoomRemoved)[0]?.data.room.id).toBe("kitchen");
    expect(h.model.entities().filter((e) => h?.model.roomOf(e.id) === "kitchen")).toEqual([]);
    expect(h.model.roomOf("light.kitchen_spots")).toBeNull();
    expect(h.model.roomOf("switch.coffee_machine")).toBeNull();
    expect(h.model.counts().dangling_references).toBe(0);
    expect(h.model.floors().find((f) => f.id === "ground_floor")?.room_ids).toEqual([
      "living_room",
      "hallway",
    ]);
  });

  it("19 floor_deleted_and_reorder: floor removal and reorder events without ids are handled", async () => {
    h = await startHarness();
    h.sink.clear();
    h.ha.deleteFloor("upstairs");
    h.ha.reorder();
    await waitFor(() => h?.sink.of(EventKind.AreaUpdated).length === 1, "the floor removal");
    expect(h.sink.of(EventKind.AreaUpdated)[0]?.data).toMatchObject({
      action: "removed",
      area: { id: "upstairs" },
    });
    await waitFor(() => h?.model.room("bedroom")?.area === null, "the area update");
    expect(h.model.entity("sensor.bedroom_temperature") && h.model.roomOf("sensor.bedroom_temperature")).toBe(
      "bedroom",
    );
    expect(h.source.stats.malformedMessages).toBe(0);
  });

  it("20 entity_renamed: a rename is one update carrying the old id, with continuity of state", async () => {
    h = await startHarness();
    h.sink.clear();
    h.ha.renameEntity("light.living_room_ceiling", "light.lounge_ceiling");
    await waitFor(() => h?.model.entity("light.lounge_ceiling") !== undefined, "the rename");
    await waitFor(() => h?.source.stats.registryRelists === 1, "the re-list");
    expect(h.sink.of(EventKind.EntityUpdated).map((e) => e.data)).toMatchObject([
      {
        entity: { id: "light.lounge_ceiling" },
        old_entity_id: "light.living_room_ceiling",
        changes: ["entity_id"],
      },
    ]);
    expect(h.sink.of(EventKind.EntityRemoved)).toEqual([]);
    expect(h.sink.of(EventKind.EntityAdded)).toEqual([]);
    expect(h.model.entity("light.living_room_ceiling")).toBeUndefined();
    expect(h.model.roomOf("light.lounge_ceiling")).toBe("living_room");
  });

  it("21 disabled_and_state_only: registry-only and state-only entities, and disabling one", async () => {
    h = await startHarness();
    expect(h.model.entity("light.hallway_nightlight")).toMatchObject({
      state: null,
      disabled: true,
      name: "Hallway Nightlight",
    });
    expect(h.model.roomOf("light.hallway_nightlight")).toBe("hallway");
    expect(h.model.entity("sensor.outdoor_temperature")).toMatchObject({ state: "17.9", device_id: null });
    expect(h.model.roomOf("sensor.outdoor_temperature")).toBeNull();
    h.sink.clear();
    h.ha.disableEntity("binary_sensor.hallway_motion");
    await waitFor(() => h?.sink.of(EventKind.EntityUpdated).length === 1, "the disable");
    expect(h.sink.of(EventKind.EntityUpdated)[0]?.data.changes).toEqual(["disabled"]);
    expect(h.model.entity("binary_sensor.hallway_motion")).toMatchObject({ state: null, disabled: true });
    expect(h.model.room("hallway")?.entity_count).toBe(1);
  });

  it("22 call_service_paths: success either side of the result, not_found, validation error, lost connection", async () => {
    h = await startHarness();
    const result = await h.source.callService(
      "light",
      "turn_on",
      { brightness: 180 },
      { entity_id: "light.living_room_ceiling" },
    );
    expect(result).toMatchObject({ context: { user_id: ADMIN_USER_ID } });
    expect(h.model.state("light.living_room_ceiling")?.state).toBe("on");

    h.ha.stateAfterServiceResult = true;
    await h.source.callService("light", "turn_off", undefined, { entity_id: "light.living_room_ceiling" });
    await waitFor(
      () => h?.model.state("light.living_room_ceiling")?.state === "off",
      "the later state change",
    );

    const notFound = await h.source.callService("light", "turn_onn").catch((e: unknown) => e);
    expect(notFound).toBeInstanceOf(HomeAssistantCommandError);
    expect(notFound).toMatchObject({
      haCode: "not_found",
      details: { translation_key: "service_not_found" },
    });

    const invalid = await h.source
      .callService("light", "turn_on", { brightness: 300 })
      .catch((e: unknown) => e);
    expect(invalid).toMatchObject({ haCode: "service_validation_error" });

    h.ha.dropOn("call_service");
    const lost = await h.source
      .callService("switch", "toggle", undefined, { entity_id: "switch.coffee_machine" })
      .catch((e: unknown) => e);
    expect(lost).toMatchObject({ haCode: "connection_lost" });
    await waitFor(() => h?.source.stats.syncs === 2, "recovery");
  });

  it("23 id_discipline: across reconnects the bridge never reuses or malforms an id", async () => {
    h = await startHarness();
    h.ha.dropConnections();
    await waitFor(() => h?.source.stats.syncs === 2, "the resync");
    await h.source.callService("switch", "toggle", undefined, { entity_id: "switch.coffee_machine" });
    for (const connection of [1, 2]) {
      const ids = h.ha.commandsOn(connection).map((c) => c.id as number);
      expect(ids).toEqual([...ids].sort((a, b) => a - b));
      expect(new Set(ids).size).toBe(ids.length);
    }
    expect(h.ha.protocolErrors).toEqual([]);
  });

  it("24 heartbeat: a missing pong forces a reconnect within the pong timeout", async () => {
    h = await startHarness({ config: { heartbeat_interval_seconds: 0.1, pong_timeout_seconds: 0.2 } });
    h.ha.ignorePings = true;
    await waitFor(() => (h?.source.stats.heartbeatTimeouts ?? 0) >= 1, "the missed pong");
    h.ha.ignorePings = false;
    await waitFor(() => (h?.source.stats.syncs ?? 0) >= 2 && h?.source.ready === true, "the reconnect");
    expect(h.ha.totalConnections).toBeGreaterThanOrEqual(2);
  });

  it("25 slow_consumer: a flood that overflows HA's queue closes the socket; the bridge resyncs from the snapshot", async () => {
    h = await startHarness();
    h.ha.flood(5000);
    await waitFor(() => h?.source.stats.syncs === 2, "the resync");
    expect(h.model.state("sensor.coffee_machine_power")?.state).toBe(
      h.ha.stateOf("sensor.coffee_machine_power")?.state,
    );
  });
});
