import { afterEach, describe, expect, it } from "vitest";
import type { Config } from "../../../src/config/schema.js";
import { EventKind } from "../../../src/core/events.js";
import { HealthRegistry } from "../../../src/core/health.js";
import { HomeModel } from "../../../src/core/home-model.js";
import { silentLogger } from "../../../src/core/logger.js";
import { generateHome } from "../../../src/simulator/index.js";
import { HomeAssistantSource } from "../../../src/sources/home-assistant/index.js";
import { type Harness, haConfig, RecordingSink, startHarness, waitFor } from "../../helpers/ha-harness.js";
import { HaProxy, type SnapshotRewrite } from "./ha-proxy.js";

/** JSON text of lists nested `levels` deep: JSON.parse reads any depth, JSON.stringify overflows at thousands. */
const nestedLists = (levels: number): string => `${"[".repeat(levels)}${"]".repeat(levels)}`;

/** The id of the bridge's subscription on the simulator's first connection, for frames of one's own making. */
function subscriptionId(h: Harness, type: string, eventType?: string): number {
  const command = h.ha
    .commandsOn(1)
    .find((c) => c.type === type && (eventType === undefined || c.event_type === eventType));
  if (typeof command?.id !== "number") throw new Error(`no ${type} ${eventType ?? ""} on connection 1`);
  return command.id;
}

describe("HomeAssistantSource", () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.stop();
    h = undefined;
  });

  describe("bad input from Home Assistant", () => {
    it("drops and counts frames that are not JSON objects, and keeps working", async () => {
      h = await startHarness();
      for (const frame of ["not json", "5", "null", "[1,2]", '"text"']) h.ha.sendRaw(frame);
      await waitFor(() => h?.source.stats.badFrames === 5, "the bad frames");
      h.ha.setState("switch.coffee_machine", "on");
      await waitFor(() => h?.model.state("switch.coffee_machine")?.state === "on", "a later change");
      expect(h.source.stats.connects).toBe(1);
    });

    it("skips diffs for unknown entities and malformed entries, counting them, and a resync repairs the model", async () => {
      h = await startHarness();
      h.ha.injectEntitiesEvent({ c: { "sensor.ghost": { "+": { s: "1" } } } });
      h.ha.injectEntitiesEvent({ r: ["sensor.ghost"] });
      h.ha.injectEntitiesEvent({ a: { "sensor.bad": { s: 1 } } });
      h.ha.injectEntitiesEvent({ r: "not a list" });
      // Times a Date cannot hold (HA sends float epoch seconds): malformed, not a crash of the source.
      h.ha.injectEntitiesEvent({ c: { "switch.coffee_machine": { "+": { lu: 1e300 } } } });
      h.ha.injectEntitiesEvent({ a: { "sensor.far_future": { s: "1", a: {}, lc: -1e13 } } });
      // A diff that disagrees with HA's real state: the model drifts until the next resync.
      h.ha.injectEntitiesEvent({ c: { "switch.coffee_machine": { "+": { s: "on" } } } });
      await waitFor(() => h?.model.state("switch.coffee_machine")?.state === "on", "the bogus diff");
      expect(h.source.stats.unknownEntityDiffs).toBe(2);
      expect(h.source.stats.malformedMessages).toBe(4);
      h.ha.dropConnections();
      await waitFor(() => h?.source.stats.syncs === 2, "the resync");
      expect(h.model.state("switch.coffee_machine")?.state).toBe("off");
    });

    it("survives an exception while handling a frame: logged and counted, and the next change arrives", async () => {
      // A model that fails on one entity stands in for a bug anywhere behind the source's callbacks.
      class FailingModel extends HomeModel {
        override applyStateChange(...args: Parameters<HomeModel["applyStateChange"]>) {
          if (args[0] === "switch.coffee_machine") throw new Error("a bug in handling");
          return super.applyStateChange(...args);
        }
      }
      h = await startHarness({ model: new FailingModel() });
      h.ha.setState("switch.coffee_machine", "on");
      await waitFor(() => h?.source.stats.handlerErrors === 1, "the failed handling");
      // The rest of the failed frame is lost, so the source reconnects and resyncs (a resync replaces the
      // model's states wholesale, which this model does not fail on).
      await waitFor(() => h?.ha.totalConnections === 2 && h.source.stats.syncs === 2, "the resync");
      expect(h.model.state("switch.coffee_machine")?.state).toBe("on");
      h.ha.setState("light.living_room", "on");
      await waitFor(() => h?.model.state("light.living_room")?.state === "on", "the next change");
      expect(h.source.ready).toBe(true);
    });

    it("skips and counts states, diffs and events nested thousands of levels deep, so all it publishes stays serialisable", async () => {
      h = await startHarness({ config: { forward_event_types: ["call_service"] } });
      const deep = nestedLists(6000);
      const entities = subscriptionId(h, "subscribe_entities");
      h.ha.sendRaw(
        `{"id":${entities},"type":"event","event":{"a":{"sensor.deep":{"s":"1","a":{"x":${deep}},"lc":1}}}}`,
      );
      h.ha.sendRaw(
        `{"id":${entities},"type":"event","event":{"c":{"switch.coffee_machine":{"+":{"s":"on","a":{"x":${deep}},"lu":2}}}}}`,
      );
      h.ha.sendRaw(
        `{"id":${subscriptionId(h, "subscribe_events", "call_service")},"type":"event","event":{"event_type":"call_service","data":{"domain":"light","service":"turn_on","service_data":{"x":${deep}}}}}`,
      );
      h.ha.sendRaw(
        `{"id":${subscriptionId(h, "subscribe_events", "automation_triggered")},"type":"event","event":{"event_type":"automation_triggered","data":{"entity_id":"automation.hallway_light","x":${deep}}}}`,
      );
      await waitFor(() => h?.source.stats.malformedMessages === 4, "the four rejections");
      expect(h.model.state("sensor.deep")).toBeUndefined();
      expect(h.model.state("switch.coffee_machine")?.state).toBe("off");
      expect(h.sink.of(EventKind.SourceEvent)).toEqual([]);
      expect(h.sink.of(EventKind.AutomationTriggered)).toEqual([]);
      expect(() => JSON.stringify([h?.sink.events, h?.model.entities()])).not.toThrow();
      // 64 levels are within the bound.
      h.ha.setState("switch.coffee_machine", "on", { nested: JSON.parse(nestedLists(64)) as never });
      await waitFor(() => h?.model.state("switch.coffee_machine")?.state === "on", "a state nested 64 deep");
      expect(h.source.stats.malformedMessages).toBe(4);
    });

    it("ignores malformed HA events", async () => {
      h = await startHarness();
      h.ha.fireEvent("automation_triggered", { name: "no entity id" });
      await waitFor(() => h?.source.stats.malformedMessages === 1, "the rejected event");
      expect(h.sink.of(EventKind.AutomationTriggered)).toEqual([]);
    });

    it("abandons a sync when HA closes mid-sync and completes it on the next connection", async () => {
      h = await startHarness({ noWait: true, prepare: (ha) => ha.dropOn("config/entity_registry/list") });
      await waitFor(() => h?.source.ready === true, "the second sync");
      expect(h.source.stats.syncs).toBe(1);
      expect(h.ha.totalConnections).toBe(2);
      expect(h.model.counts()).toMatchObject({ entities: 11, states: 10, rooms: 4, floors: 2 });
      expect(h.sink.of(EventKind.EntityAdded)).toHaveLength(11);
    });

    it("survives a frame larger than its payload limit and reports the failure", async () => {
      h = await startHarness({
        noWait: true,
        config: { max_payload_mib: 1 },
        prepare: (ha) => {
          ha.addEntity({
            entity_id: "sensor.huge",
            state: "1",
            attributes: { blob: "x".repeat(2 * 1024 * 1024) },
          });
        },
      });
      await waitFor(
        () => (h?.source.stats.disconnects ?? 0) >= 1,
        "the oversized snapshot to close the socket",
      );
      expect(h.source.ready).toBe(false);
      expect(h.health.get("homeassistant")?.ready).toBe(false);
    });
  });

  describe("a state snapshot that is malformed or never comes", () => {
    let proxy: HaProxy | undefined;
    afterEach(async () => {
      await h?.stop();
      h = undefined;
      await proxy?.stop();
      proxy = undefined;
    });

    /** A source that reaches the simulator through a proxy rewriting the first snapshots, in order. */
    async function startBehindProxy(
      rewrites: SnapshotRewrite[],
      config: Partial<Config["homeassistant"]> = {},
    ): Promise<Harness> {
      const started = await HaProxy.start();
      proxy = started;
      started.snapshotRewrites.push(...rewrites);
      return startHarness({
        noWait: true,
        config: { ...config, url: started.httpUrl },
        prepare: (ha) => {
          started.target = ha.url;
        },
      });
    }

    for (const snapshot of ['{"a":[]}', '{"a":{},"r":[1]}', '{"c":{}}']) {
      it(`fails the sync on the snapshot ${snapshot}, says why in health, and recovers with a new subscription`, async () => {
        h = await startBehindProxy([() => snapshot], { resubscribe_retry_seconds: 0.5 });
        await waitFor(() => h?.source.stats.syncFailures === 1, "the failed sync");
        expect(h.health.get("homeassistant")?.ready).toBe(false);
        expect(h.health.get("homeassistant")?.reason).toMatch(/sync failed.*snapshot/);
        expect(h.sink.of(EventKind.SyncStatus).at(-1)?.data).toMatchObject({ status: "error" });
        expect(h.sink.of(EventKind.SyncStatus).at(-1)?.data.message).toContain("snapshot");
        await waitFor(() => h?.source.ready === true, "the retried sync");
        expect(h.health.get("homeassistant")?.ready).toBe(true);
        expect(h.source.stats).toMatchObject({
          syncs: 1,
          syncFailures: 1,
          malformedMessages: 1,
          connects: 1,
        });
        expect(h.model.counts().states).toBe(10);
        // The abandoned subscription was ended, so a change arrives once.
        const commands = h.ha.commandsOn(1).map((c) => c.type);
        expect(commands.filter((type) => type === "subscribe_entities")).toHaveLength(2);
        expect(commands).toContain("unsubscribe_events");
        h.sink.clear();
        h.ha.setState("switch.coffee_machine", "on");
        await waitFor(() => h?.sink.of(EventKind.EntityStateChanged).length === 1, "the change");
        await new Promise((resolve) => setTimeout(resolve, 50));
        expect(h.sink.of(EventKind.EntityStateChanged)).toHaveLength(1);
      });
    }

    it("gives up on a snapshot that has not come pong_timeout_seconds after the registries were read, and subscribes again", async () => {
      h = await startBehindProxy([() => undefined], { pong_timeout_seconds: 0.3 });
      await waitFor(() => h?.source.ready === true, "the retried sync");
      expect(h.source.stats).toMatchObject({ syncs: 1, syncFailures: 1 });
      const errors = h.sink.of(EventKind.SyncStatus).filter((e) => e.data.status === "error");
      expect(errors.map((e) => e.data.message)).toEqual([expect.stringMatching(/snapshot.*0\.3 s/)]);
      expect(h.model.counts().states).toBe(10);
    });

    it("skips and counts a snapshot entry whose attributes nest thousands of levels deep", async () => {
      h = await startBehindProxy([
        (snapshot) => {
          const states = JSON.stringify((snapshot as { a: object }).a).slice(1);
          return `{"a":{"sensor.deep":{"s":"1","a":{"x":${nestedLists(6000)}},"lc":1},${states}}`;
        },
      ]);
      await waitFor(() => h?.source.ready === true, "the sync");
      expect(h.source.stats.malformedMessages).toBe(1);
      expect(h.model.state("sensor.deep")).toBeUndefined();
      expect(h.model.counts().states).toBe(10);
      expect(() => JSON.stringify([h?.sink.events, h?.model.entities()])).not.toThrow();
    });
  });

  describe("large homes", () => {
    it("syncs a generated home of 3000 entities in 40 areas", async () => {
      const home = generateHome({ entities: 3000, areas: 40, seed: 3 });
      h = await startHarness({ simulator: { home } });
      expect(h.model.counts()).toMatchObject({ entities: home.entities.length, rooms: 40, floors: 5 });
      expect(h.model.rooms().reduce((sum, room) => sum + room.entity_count, 0)).toBe(home.entities.length);
      const progress = h.sink.of(EventKind.SyncStatus).map((e) => e.data.progress);
      expect(progress.at(-1)).toBe(100);
      expect(new Set(progress).size).toBeGreaterThan(4);
    });
  });

  describe("auth and configuration", () => {
    it("reports a token revoked while connected and stops the library's reconnect loop", async () => {
      h = await startHarness({ config: { auth_retry_seconds: 300 } });
      h.ha.revokeToken("another-token");
      await waitFor(() => h?.source.stats.authFailures === 1, "the rejected reconnect");
      expect(h.health.get("homeassistant")?.reason).toBe("Home Assistant rejected the access token");
      const connections = h.ha.totalConnections;
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(h.ha.totalConnections).toBe(connections);
    });

    it("retries a rejected token slowly and recovers once it is accepted", async () => {
      h = await startHarness({ noWait: true, config: { token: "next-token", auth_retry_seconds: 0.3 } });
      await waitFor(() => h?.source.stats.authFailures === 1, "the first rejection");
      h.ha.revokeToken("next-token");
      await waitFor(() => h?.source.ready === true, "the accepted retry");
      expect(h.health.get("homeassistant")?.ready).toBe(true);
    });

    it("does not throw from start() when Home Assistant is not configured", async () => {
      const health = new HealthRegistry();
      const sink = new RecordingSink();
      const source = new HomeAssistantSource({
        config: { ...haConfig("http://unused"), url: undefined, token: undefined },
        addon: false,
        sink,
        model: new HomeModel(),
        health,
        log: silentLogger(),
      });
      await source.start();
      expect(health.get("homeassistant")?.reason).toMatch(/homeassistant\.url is not set/);
      expect(sink.of(EventKind.AdapterStatus).at(-1)?.data.status).toBe("error");
      await source.stop();
    });

    it("keeps retrying with backoff while Home Assistant is unreachable", async () => {
      const health = new HealthRegistry();
      const sink = new RecordingSink();
      const source = new HomeAssistantSource({
        config: haConfig("http://127.0.0.1:9"),
        addon: false,
        sink,
        model: new HomeModel(),
        health,
        log: silentLogger(),
      });
      await source.start();
      await waitFor(() => source.stats.connectFailures >= 2, "two failed attempts");
      expect(health.get("homeassistant")?.reason).toMatch(/^Home Assistant unreachable/);
      expect(sink.of(EventKind.ConnectionStatus).at(-1)?.data.status).toBe("reconnecting");
      await source.stop();
    });
  });

  describe("events", () => {
    it("publishes automation runs, scene activations and forwarded events", async () => {
      h = await startHarness({ config: { forward_event_types: ["call_service", "custom_event"] } });
      h.ha.addEntity({
        entity_id: "scene.movie_night",
        state: "2026-07-21T08:00:00.000000+00:00",
        attributes: { friendly_name: "Movie Night" },
        registry: { area_id: "living_room" },
      });
      await waitFor(() => h?.model.roomOf("scene.movie_night") === "living_room", "the scene");
      h.sink.clear();
      h.ha.activateScene("scene.movie_night");
      h.ha.triggerAutomation("automation.hallway_light");
      h.ha.fireEvent("custom_event", { answer: 42 });
      h.ha.fireEvent("not_forwarded", {});
      await waitFor(() => h?.sink.of(EventKind.SourceEvent).length === 2, "the forwarded events");
      expect(
        h.sink.of(EventKind.SceneActivated).map((e) => [e.data.scene_name, e.room_id, e.area_id]),
      ).toEqual([["Movie Night", "living_room", "ground_floor"]]);
      expect(h.sink.of(EventKind.AutomationTriggered).map((e) => e.data.trigger)).toEqual([
        { type: "state", value: "binary_sensor.hallway_motion" },
      ]);
      expect(h.sink.of(EventKind.SourceEvent).map((e) => e.ha_event_type)).toEqual([
        "call_service",
        "custom_event",
      ]);
    });
  });
});
