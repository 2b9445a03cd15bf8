import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Message, TestClient } from "../helpers/ws-client.js";
import {
  automationTriggered,
  everyOtherKind,
  prediction,
  serviceCall,
  stateChanged,
  systemStatus,
} from "../helpers/ws-events.js";
import { ADMIN_KEY, startTestServer, type TestServer } from "../helpers/ws-server.js";

let t: TestServer;

async function authed(query = `?token=${ADMIN_KEY}`): Promise<TestClient> {
  const client = await t.connect(`/ws${query}`);
  await client.nextOfType("authentication_success");
  return client;
}

function subscribe(client: TestClient, type: string, data: Record<string, unknown>): Promise<Message> {
  client.send({ type, data });
  return client.next((m) => m.type === "subscription_update" || m.type === "subscription_error");
}

describe("PMA dialect (/ws)", () => {
  beforeEach(async () => {
    t = await startTestServer();
  });
  afterEach(async () => {
    await t.stop();
  });

  describe("connection and authentication", () => {
    it("welcomes every client with its id, the epoch and the last seq", async () => {
      const client = await t.connect("/ws?client_id=mobile_app");
      const welcome = await client.nextOfType("welcome");
      expect(welcome.data).toMatchObject({
        client_id: "mobile_app",
        message: expect.any(String),
        features: expect.arrayContaining(["subscriptions", "heartbeat"]),
        protocol_version: "1.0",
        epoch: t.hub.epoch,
        last_seq: 0,
        authentication_required: true,
      });
      expect(welcome.timestamp).toMatch(/Z$/);
    });

    it("authenticates with ?token= carrying a bridge token and reports capabilities and rooms", async () => {
      const token = await t.token({ subject: "phone", capabilities: ["entities"], rooms: ["kitchen"] });
      const client = await t.connect(`/ws?token=${token}`);
      const success = await client.nextOfType("authentication_success");
      expect(success.data).toMatchObject({
        subject: "phone",
        capabilities: ["entities"],
        rooms: ["kitchen"],
      });
    });

    it("checks ?token= before handling messages the client sends right away", async () => {
      const token = await t.token({ capabilities: ["entities"] });
      const client = await t.connect(`/ws?token=${token}`);
      client.send({ type: "subscribe_ha_entities", data: { entity_ids: ["light.a"] } });
      const replies = [await client.nextOfType("welcome"), await client.next((m) => m.type !== "welcome")];
      expect(replies.map((m) => m.type)).toEqual(["welcome", "authentication_success"]);
      expect((await client.next()).type).toBe("subscription_update");
    });

    it("authenticates with an `authenticate` message carrying an API key", async () => {
      const client = await t.connect("/ws");
      client.send({ type: "authenticate", data: { token: ADMIN_KEY } });
      const success = await client.nextOfType("authentication_success");
      expect(success.data).toMatchObject({ subject: "admin", rooms: [] });
    });

    it("answers a wrong credential with authentication_failure AUTH_FAILED and keeps the socket open", async () => {
      const client = await t.connect("/ws?token=wrong-token");
      const failure = await client.nextOfType("authentication_failure");
      expect(failure.data).toMatchObject({ code: "AUTH_FAILED" });
      client.send({ type: "ping", data: {} });
      await client.nextOfType("pong");
    });

    it("refuses an expired token with TOKEN_EXPIRED", async () => {
      const token = await t.token({ capabilities: ["entities"], expiresInSeconds: -10 });
      const client = await t.connect(`/ws?token=${token}`);
      expect((await client.nextOfType("authentication_failure")).data).toMatchObject({
        code: "TOKEN_EXPIRED",
      });
    });

    it("refuses subscriptions before authentication with subscription_error AUTH_REQUIRED", async () => {
      const client = await t.connect("/ws");
      const reply = await subscribe(client, "subscribe_ha_entities", { entity_ids: ["light.kitchen"] });
      expect(reply).toMatchObject({
        type: "subscription_error",
        data: { code: "AUTH_REQUIRED", action: "subscribe" },
      });
    });

    it("refuses an unknown path with HTTP 404", async () => {
      await expect(t.connect("/ws/unknown")).rejects.toThrow("HTTP 404");
      await expect(t.connect("/socket")).rejects.toThrow("HTTP 404");
    });
  });

  describe("subscriptions", () => {
    it("confirms subscribe_ha_entities and delivers only those entities, with seq and envelope", async () => {
      const client = await authed();
      const reply = await subscribe(client, "subscribe_ha_entities", {
        entity_ids: ["light.kitchen", "switch.fan"],
      });
      expect(reply.data).toEqual({
        action: "subscribed",
        type: "ha_entities",
        items: ["light.kitchen", "switch.fan"],
        total_subscriptions: 2,
      });
      t.publish(stateChanged("light.other", "on"));
      t.publish(stateChanged("light.kitchen", "on", { room: "kitchen", attributes: { brightness: 255 } }));
      const message = await client.nextOfType("pma_entity_state_changed");
      expect(message).toEqual({
        type: "pma_entity_state_changed",
        timestamp: "2026-01-15T14:30:00.000Z",
        seq: 2,
        data: expect.objectContaining({
          entity_id: "light.kitchen",
          entity_type: "light",
          source: "homeassistant",
          old_state: "off",
          new_state: "on",
          attributes: { brightness: 255 },
          room_id: "kitchen",
          area_id: "ground_floor",
        }),
      });
    });

    it("rejects invalid entity ids with subscription_error INVALID_ENTITY_ID naming the id", async () => {
      const client = await authed();
      const reply = await subscribe(client, "subscribe_ha_entities", { entity_ids: ["light.ok", "invalid"] });
      expect(reply).toMatchObject({
        type: "subscription_error",
        data: {
          action: "subscribe",
          code: "INVALID_ENTITY_ID",
          entity_id: "invalid",
          error: expect.any(String),
        },
      });
    });

    it("refuses ids longer than HA's 255 characters, echoing at most 100 characters of them", async () => {
      const client = await authed();
      const long = `sensor.${"a".repeat(60_000)}`;
      const reply = await subscribe(client, "subscribe_ha_entities", { entity_ids: [long] });
      expect(reply.data).toMatchObject({ code: "INVALID_ENTITY_ID", entity_id: long.slice(0, 100) });
      const longest = `sensor.${"a".repeat(248)}`;
      expect(
        (await subscribe(client, "subscribe_ha_entities", { entity_ids: [longest] })).data,
      ).toMatchObject({
        items: [longest],
      });
    });

    it("caps what one connection follows at 10,000 items, and a repeated event subscription adds nothing", async () => {
      const client = await authed();
      for (let i = 0; i < 3; i++) {
        const reply = await subscribe(client, "subscribe_ha_events", { event_types: ["state_changed"] });
        expect(reply.data).toMatchObject({ items: i === 0 ? ["state_changed"] : [], total_subscriptions: 1 });
      }
      for (let batch = 0; batch < 9; batch++) {
        const ids = Array.from({ length: 1000 }, (_, i) => `sensor.s${batch}_${i}`);
        const reply = await subscribe(client, "subscribe_ha_entities", { entity_ids: ids });
        expect(reply.data?.total_subscriptions).toBe(1 + (batch + 1) * 1000);
      }
      const full = Array.from({ length: 1000 }, (_, i) => `light.l${i}`);
      const refused = await subscribe(client, "subscribe_ha_entities", { entity_ids: full });
      expect(refused).toMatchObject({
        type: "subscription_error",
        data: { code: "TOO_MANY_SUBSCRIPTIONS", max_subscriptions: 10_000, total_subscriptions: 9001 },
      });
      // What fits still does, and nothing of the refused list was kept.
      const fits = await subscribe(client, "subscribe_ha_entities", { entity_ids: full.slice(0, 999) });
      expect(fits.data?.total_subscriptions).toBe(10_000);
      expect((await subscribe(client, "subscribe_ha_rooms", { room_ids: ["kitchen"] })).data).toMatchObject({
        code: "TOO_MANY_SUBSCRIPTIONS",
      });
    });

    it("rejects empty, mistyped and oversized id lists", async () => {
      const client = await authed();
      expect((await subscribe(client, "subscribe_ha_entities", { entity_ids: [] })).data).toMatchObject({
        code: "INVALID_MESSAGE_FORMAT",
      });
      expect(
        (await subscribe(client, "subscribe_ha_entities", { entity_ids: "light.x" })).data,
      ).toMatchObject({
        code: "INVALID_MESSAGE_FORMAT",
      });
      const many = Array.from({ length: 1001 }, (_, i) => `sensor.s${i}`);
      expect((await subscribe(client, "subscribe_ha_entities", { entity_ids: many })).data).toMatchObject({
        code: "PAYLOAD_TOO_LARGE",
      });
      expect((await subscribe(client, "subscribe_ha_rooms", { room_ids: ["bad room!"] })).data).toMatchObject(
        {
          code: "INVALID_ROOM_ID",
          room_id: "bad room!",
        },
      );
    });

    it("matches HA event names against the event's HA type, with domain and room filters", async () => {
      const client = await authed();
      const reply = await subscribe(client, "subscribe_ha_events", {
        event_types: ["state_changed"],
        filters: { domains: ["light"], rooms: ["kitchen"] },
      });
      expect(reply.data).toMatchObject({ action: "subscribed", type: "ha_events", items: ["state_changed"] });
      t.publish(stateChanged("switch.kettle", "on", { room: "kitchen" }));
      t.publish(stateChanged("light.hall", "on", { room: "hall" }));
      t.publish(stateChanged("light.kitchen", "on", { room: "kitchen" }));
      const message = await client.nextOfType("pma_entity_state_changed");
      expect(message.data).toMatchObject({ entity_id: "light.kitchen" });
      await client.settle();
      expect(client.ofType("pma_entity_state_changed")).toHaveLength(1);
    });

    it("filters by source and entity type", async () => {
      const client = await authed();
      await subscribe(client, "subscribe_ha_events", {
        event_types: ["state_changed"],
        filters: { sources: ["mqtt"], entity_types: ["sensor"] },
      });
      t.publish(stateChanged("sensor.a", "1", { source: "homeassistant" }));
      t.publish(stateChanged("light.b", "on", { source: "mqtt" }));
      t.publish(stateChanged("sensor.c", "3", { source: "mqtt" }));
      expect((await client.nextOfType("pma_entity_state_changed")).data).toMatchObject({
        entity_id: "sensor.c",
      });
      await client.settle();
      expect(client.ofType("pma_entity_state_changed")).toHaveLength(1);
    });

    it("accepts service_call as an alias of call_service and bridge kinds as event types", async () => {
      const client = await authed();
      const reply = await subscribe(client, "subscribe_ha_events", {
        event_types: ["service_call", "automation_triggered", "prediction_update"],
      });
      expect(reply.data).toMatchObject({
        items: ["call_service", "automation_triggered", "prediction_update"],
      });
      t.publish(serviceCall());
      t.publish(automationTriggered("automation.morning"));
      t.publish(prediction("kitchen", "2026-01-15T15:45:00.000Z"));
      expect((await client.nextOfType("source_event")).data).toMatchObject({ event_type: "call_service" });
      expect((await client.nextOfType("pma_automation_triggered")).data).toMatchObject({
        rule_id: "automation.morning",
      });
      expect((await client.nextOfType("prediction_update")).data).toMatchObject({
        room_id: "kitchen",
        time_until_seconds: expect.any(Number),
        time_until_human: expect.any(String),
      });
    });

    it("delivers the union of selectors, each matching event once", async () => {
      const client = await authed();
      await subscribe(client, "subscribe_ha_entities", { entity_ids: ["light.kitchen"] });
      await subscribe(client, "subscribe_ha_rooms", { room_ids: ["hall"] });
      await subscribe(client, "subscribe_ha_events", {
        event_types: ["state_changed"],
        filters: { domains: ["lock"] },
      });
      t.publish(stateChanged("light.kitchen", "on", { room: "kitchen" })); // entity selector
      t.publish(stateChanged("sensor.hall", "21", { room: "hall" })); // room selector
      t.publish(stateChanged("lock.front", "locked", { room: "porch" })); // event selector
      t.publish(stateChanged("light.hall", "on", { room: "hall" })); // room selector only
      t.publish(stateChanged("switch.porch", "on", { room: "porch" })); // nothing
      await client.settle();
      const ids = client.ofType("pma_entity_state_changed").map((m) => m.data?.entity_id);
      expect(ids).toEqual(["light.kitchen", "sensor.hall", "lock.front", "light.hall"]);
    });

    it("refuses malformed event type names with INVALID_EVENT_TYPE", async () => {
      const client = await authed();
      const reply = await subscribe(client, "subscribe_ha_events", { event_types: ["state changed!"] });
      expect(reply).toMatchObject({
        type: "subscription_error",
        data: { code: "INVALID_EVENT_TYPE", type: "ha_events" },
      });
    });

    it("maps every kind onto its PMA message, with secrets stripped from entity attributes", async () => {
      const client = await authed();
      await subscribe(client, "subscribe_ha_events", {
        event_types: [
          "state_changed",
          "entity_registry_updated",
          "area_registry_updated",
          "floor_registry_updated",
          "call_service",
          "alert",
          "drift",
        ],
      });
      const cases = everyOtherKind();
      for (const [, event] of cases) t.publish(event);
      for (const [type, event] of cases) {
        const message = await client.nextOfType(type);
        expect(message.data).toMatchObject(
          type === "pma_entity_added" || type === "pma_entity_updated"
            ? { entity: { attributes: { friendly_name: "Desk" } } }
            : (event.data as object),
        );
      }
      expect(client.ofType("pma_entity_added")[0]?.data?.entity).not.toHaveProperty(
        "attributes.access_token",
      );
    });

    it("accepts the legacy integer subscribe_room and matches it as a decimal room id", async () => {
      const client = await authed();
      const reply = await subscribe(client, "subscribe_room", { room_id: 1 });
      expect(reply.data).toMatchObject({ action: "subscribed", type: "room", items: ["1"] });
      t.publish(stateChanged("light.x", "on", { room: "1" }));
      expect((await client.nextOfType("pma_entity_state_changed")).data).toMatchObject({ room_id: "1" });
      const off = await subscribe(client, "unsubscribe_room", { room_id: 1 });
      expect(off.data).toMatchObject({ action: "unsubscribed", items: ["1"], total_subscriptions: 0 });
      expect((await subscribe(client, "subscribe_room", { room_id: -3 })).data).toMatchObject({
        code: "INVALID_ROOM_ID",
      });
    });

    it("stops delivery after unsubscribe and reports the remaining total", async () => {
      const client = await authed();
      await subscribe(client, "subscribe_ha_entities", { entity_ids: ["light.a", "light.b"] });
      await subscribe(client, "subscribe_ha_events", {
        event_types: ["state_changed", "automation_triggered"],
      });
      const a = await subscribe(client, "unsubscribe_ha_entities", { entity_ids: ["light.a", "light.zzz"] });
      expect(a.data).toEqual({
        action: "unsubscribed",
        type: "ha_entities",
        items: ["light.a"],
        total_subscriptions: 3,
      });
      const b = await subscribe(client, "unsubscribe_ha_events", { event_types: ["state_changed"] });
      expect(b.data).toMatchObject({ items: ["state_changed"], total_subscriptions: 2 });
      const c = await subscribe(client, "unsubscribe_ha_rooms", { room_ids: ["kitchen"] });
      expect(c.data).toMatchObject({ type: "ha_rooms", items: [], total_subscriptions: 2 });
      t.publish(stateChanged("light.a", "on"));
      t.publish(stateChanged("light.b", "on"));
      expect((await client.nextOfType("pma_entity_state_changed")).data).toMatchObject({
        entity_id: "light.b",
      });
      await client.settle();
      expect(client.ofType("pma_entity_state_changed")).toHaveLength(1);
    });
  });

  describe("authorisation", () => {
    it("sends system messages to every authenticated client without a subscription, never to others", async () => {
      const member = await authed();
      const stranger = await t.connect("/ws");
      await stranger.nextOfType("welcome");
      t.publish(systemStatus("degraded"));
      expect((await member.nextOfType("system_status")).data).toMatchObject({ status: "degraded" });
      await stranger.settle();
      expect(stranger.ofType("system_status")).toHaveLength(0);
    });

    it("withholds entity events from a credential without the entities capability", async () => {
      const token = await t.token({ capabilities: ["predictions"] });
      const client = await authed(`?token=${token}`);
      await subscribe(client, "subscribe_ha_events", { event_types: ["state_changed", "prediction_update"] });
      t.publish(stateChanged("light.a", "on"));
      t.publish(prediction("kitchen", "2026-01-15T15:45:00.000Z"));
      await client.nextOfType("prediction_update");
      await client.settle();
      expect(client.ofType("pma_entity_state_changed")).toHaveLength(0);
    });

    it("limits a room-restricted credential to its rooms, and refuses other room subscriptions", async () => {
      const token = await t.token({ capabilities: ["entities"], rooms: ["kitchen"] });
      const client = await authed(`?token=${token}`);
      const refused = await subscribe(client, "subscribe_ha_rooms", { room_ids: ["kitchen", "bedroom"] });
      expect(refused).toMatchObject({
        type: "subscription_error",
        data: { code: "ROOM_NOT_ALLOWED", invalid: ["bedroom"] },
      });
      await subscribe(client, "subscribe_ha_events", { event_types: ["state_changed"] });
      t.publish(stateChanged("light.bed", "on", { room: "bedroom" }));
      t.publish(stateChanged("light.nowhere", "on"));
      t.publish(stateChanged("light.kitchen", "on", { room: "kitchen" }));
      await client.settle();
      expect(client.ofType("pma_entity_state_changed").map((m) => m.data?.entity_id)).toEqual([
        "light.kitchen",
      ]);
    });

    it("strips camera access tokens and tokenised pictures for everyone", async () => {
      const client = await authed();
      await subscribe(client, "subscribe_ha_entities", { entity_ids: ["camera.door"] });
      t.publish(
        stateChanged("camera.door", "idle", {
          attributes: {
            access_token: "secret",
            entity_picture: "/api/camera_proxy/camera.door?token=secret",
            brand: "x",
          },
        }),
      );
      const message = await client.nextOfType("pma_entity_state_changed");
      expect(message.data?.attributes).toEqual({ brand: "x" });
      expect(client.raw.at(-1)?.toString()).not.toContain("secret");
    });
  });

  describe("anonymous access", () => {
    beforeEach(async () => {
      await t.stop();
      t = await startTestServer({ config: { auth: { allow_anonymous: true } } });
    });

    it("lets anonymous clients read non-sensitive entity events only", async () => {
      const client = await t.connect("/ws");
      expect((await client.nextOfType("welcome")).data).toMatchObject({ authentication_required: false });
      await subscribe(client, "subscribe_ha_events", {
        event_types: ["state_changed", "alert", "prediction_update"],
      });
      for (const id of [
        "lock.front",
        "camera.door",
        "person.anna",
        "device_tracker.phone",
        "alarm_control_panel.home",
      ]) {
        t.publish(stateChanged(id, "on"));
      }
      t.publish(prediction("kitchen", "2026-01-15T15:45:00.000Z"));
      t.publish(systemStatus("healthy"));
      t.publish(stateChanged("light.hall", "on"));
      await client.settle();
      expect(client.received.filter((m) => typeof m.seq === "number").map((m) => m.data?.entity_id)).toEqual([
        "light.hall",
      ]);
    });
  });

  describe("control and bad input", () => {
    it("answers ping with pong echoing the client's timestamp", async () => {
      const client = await t.connect("/ws");
      client.send({ type: "ping", data: { timestamp: "2026-01-01T00:00:00Z" } });
      const pong = await client.nextOfType("pong");
      expect(pong.data).toMatchObject({ timestamp: "2026-01-01T00:00:00Z", server_time: expect.any(String) });
      // Pings are exempt from the rate limit, so what they echo is capped.
      client.send({ type: "ping", data: { timestamp: "9".repeat(60_000) } });
      expect((await client.nextOfType("pong")).data?.timestamp).toBe("9".repeat(100));
    });

    it.each([
      ["non-JSON", "{not json", "INVALID_MESSAGE_FORMAT"],
      ["a JSON array", "[1,2]", "INVALID_MESSAGE_FORMAT"],
      ["a JSON string", '"hello"', "INVALID_MESSAGE_FORMAT"],
      ["a missing type", '{"data":{}}', "INVALID_MESSAGE_FORMAT"],
      ["a non-object data", '{"type":"ping","data":[]}', "INVALID_MESSAGE_FORMAT"],
      ["an unknown type", '{"type":"launch_rockets","data":{}}', "UNKNOWN_MESSAGE_TYPE"],
      [
        "an authenticate without token",
        '{"type":"authenticate","data":{"token":5}}',
        "INVALID_MESSAGE_FORMAT",
      ],
    ])("answers %s with error %s and keeps working", async (_name, frame, code) => {
      const client = await t.connect("/ws");
      client.send(frame);
      const error = await client.nextOfType("error");
      expect(error.data).toMatchObject({ code, message: expect.any(String) });
      client.send({ type: "ping", data: {} });
      await client.nextOfType("pong");
    });

    it("answers a binary frame with INVALID_MESSAGE_FORMAT", async () => {
      const client = await t.connect("/ws");
      client.ws.send(Buffer.from([1, 2, 3]), { binary: true });
      expect((await client.nextOfType("error")).data).toMatchObject({ code: "INVALID_MESSAGE_FORMAT" });
    });

    it("closes a connection that sends an oversized frame with 1009, other clients unaffected", async () => {
      const other = await authed();
      await subscribe(other, "subscribe_ha_entities", { entity_ids: ["light.a"] });
      const client = await t.connect("/ws");
      client.send("x".repeat(t.config.server.max_payload_bytes + 1));
      await client.closed;
      expect(client.closeCode).toBe(1009);
      t.publish(stateChanged("light.a", "on"));
      await other.nextOfType("pma_entity_state_changed");
    });
  });
});
