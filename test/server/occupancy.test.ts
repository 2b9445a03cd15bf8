import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Message, TestClient } from "../helpers/ws-client.js";
import { alert, drift, prediction, stateChanged, systemStatus } from "../helpers/ws-events.js";
import { FixtureHome } from "../helpers/ws-home.js";
import { ADMIN_KEY, startTestServer, type TestServer } from "../helpers/ws-server.js";

let t: TestServer;

/** 75 min 15 s ahead: still "1h 15m" however long the test takes to send it (under 15 s). */
const inOneHourAndAQuarter = (): string => new Date(Date.now() + 4515_000).toISOString();

async function login(
  path: string,
  data: Record<string, unknown> = { api_key: ADMIN_KEY, client_name: "test" },
): Promise<{ client: TestClient; auth: Message }> {
  const client = await t.connect(path);
  await client.nextOfType("connection");
  client.send({ type: "authentication", data });
  const auth = await client.next((m) => m.message_type === "authentication" || m.message_type === "error");
  return { client, auth };
}

/** Connects, authenticates and waits for the path's endpoint to be subscribed. */
async function subscribed(path: string, data?: Record<string, unknown>): Promise<TestClient> {
  const { client } = await login(path, data);
  await client.nextOfType("subscription_status");
  return client;
}

describe("occupancy dialect", () => {
  beforeEach(async () => {
    t = await startTestServer({ home: new FixtureHome() });
  });
  afterEach(async () => {
    await t.stop();
  });

  describe("connection and authentication", () => {
    it("welcomes with a connection message in the full envelope", async () => {
      const client = await t.connect("/ws/predictions");
      const welcome = await client.nextOfType("connection");
      expect(welcome).toMatchObject({
        message_id: expect.any(String),
        timestamp: expect.stringMatching(/Z$/),
        endpoint: "/ws/predictions",
        room_id: null,
        requires_ack: false,
        seq: null,
        data: {
          client_id: expect.any(String),
          server_version: "test",
          api_version: "1.0.0",
          endpoint: "/ws/predictions",
          authentication_required: true,
          epoch: t.hub.epoch,
          supported_message_types: expect.arrayContaining(["prediction_update", "alert_notification"]),
        },
      });
    });

    it("delivers nothing before authentication and refuses subscribe with WEBSOCKET_AUTH_ERROR", async () => {
      const client = await t.connect("/ws/predictions");
      await client.nextOfType("connection");
      client.send({ type: "subscribe", data: { endpoint: "/ws/predictions" } });
      const error = await client.nextOfType("error");
      expect(error.data).toMatchObject({
        error_code: "WEBSOCKET_AUTH_ERROR",
        error: "Authentication required for subscriptions",
      });
      t.publish(prediction("kitchen", inOneHourAndAQuarter()));
      await client.settle();
      expect(client.ofType("prediction_update")).toHaveLength(0);
    });

    it("authenticates with an API key, then subscribes the path's endpoint", async () => {
      const { client, auth } = await login("/ws/predictions", {
        api_key: ADMIN_KEY,
        client_name: "MyClient",
        capabilities: ["predictions", "alerts"],
        room_filters: [],
      });
      expect(auth.data).toEqual({
        success: true,
        message: "Authentication successful",
        client_name: "MyClient",
        subject: "admin",
        capabilities: ["predictions", "alerts"],
        room_filters: [],
      });
      const status = await client.nextOfType("subscription_status");
      expect(status.data).toMatchObject({
        action: "subscribe",
        success: true,
        endpoint: "/ws/predictions",
        room_id: null,
      });
    });

    it("authenticates with a bridge token", async () => {
      const token = await t.token({ subject: "wall-panel", capabilities: ["predictions"] });
      const { auth } = await login("/ws/predictions", { token });
      expect(auth.data).toMatchObject({
        success: true,
        subject: "wall-panel",
        capabilities: ["predictions"],
      });
    });

    it("answers a bad key with WEBSOCKET_AUTH_ERROR and keeps the socket open for another try", async () => {
      const { client, auth } = await login("/ws/predictions", { api_key: "wrong-key-123456" });
      expect(auth).toMatchObject({ message_type: "error", data: { error_code: "WEBSOCKET_AUTH_ERROR" } });
      client.send({ type: "authentication", data: { api_key: ADMIN_KEY } });
      expect((await client.nextOfType("authentication")).data).toMatchObject({ success: true });
    });

    it("grants requested rooms intersected with the credential's rooms, and refuses disjoint ones", async () => {
      const token = await t.token({ capabilities: ["predictions"], rooms: ["kitchen", "bedroom"] });
      const narrowed = await login("/ws/predictions", { token, room_filters: ["kitchen", "garage"] });
      expect(narrowed.auth.data).toMatchObject({ success: true, room_filters: ["kitchen"] });
      const disjoint = await login("/ws/predictions", { token, room_filters: ["garage"] });
      expect(disjoint.auth).toMatchObject({
        message_type: "error",
        data: { error_code: "WEBSOCKET_AUTH_ERROR" },
      });
    });
  });

  describe("messages", () => {
    it("sends prediction_update with time_until recomputed at send time", async () => {
      const client = await subscribed("/ws/predictions");
      t.publish(prediction("kitchen", inOneHourAndAQuarter()));
      const message = await client.nextOfType("prediction_update");
      expect(message).toMatchObject({
        message_id: `${t.hub.epoch}:1:/ws/predictions`,
        endpoint: "/ws/predictions",
        room_id: "kitchen",
        requires_ack: false,
        seq: 1,
        data: {
          room_id: "kitchen",
          transition_type: "occupied",
          raw_transition_type: "vacant_to_occupied",
          confidence_score: 0.87,
          time_until_seconds: expect.toSatisfy((s: number) => s > 4500 && s <= 4515),
          time_until_human: "1h 15m",
        },
      });
    });

    it("sends system_status_update on /ws/system-status", async () => {
      const client = await subscribed("/ws/system-status");
      t.publish(systemStatus("degraded"));
      const message = await client.nextOfType("system_status_update");
      expect(message).toMatchObject({
        endpoint: "/ws/system-status",
        data: { system_health: "degraded", connected_clients: 1 },
      });
    });

    it("sends alert_notification and drift_notification with requires_ack, cleared by acknowledge", async () => {
      const client = await subscribed("/ws/alerts", { api_key: ADMIN_KEY, client_name: "ops" });
      t.publish(alert("alert_123", "bedroom"));
      t.publish(drift("drift_1", null));
      const a = await client.nextOfType("alert_notification");
      const d = await client.nextOfType("drift_notification");
      expect(a).toMatchObject({
        endpoint: "/ws/alerts",
        room_id: "bedroom",
        requires_ack: true,
        data: { alert_id: "alert_123" },
      });
      expect(d).toMatchObject({ requires_ack: true, data: { drift_id: "drift_1" } });
      expect(t.server.acks.totalPending).toBe(2);
      client.send({ type: "acknowledge", data: { message_id: a.message_id } });
      client.send({ type: "acknowledge", data: { message_id: "no-such-id" } });
      const error = await client.nextOfType("error");
      expect(error.data).toMatchObject({
        error_code: "WEBSOCKET_VALIDATION_ERROR",
        reason: "UNKNOWN_MESSAGE_ID",
      });
      expect(t.server.acks.totalPending).toBe(1);
    });

    it("sends room endpoints their room's predictions and room_state_update with derived occupancy", async () => {
      const client = await subscribed("/ws/room/kitchen");
      t.publish(prediction("bedroom", inOneHourAndAQuarter()));
      t.publish(stateChanged("light.bedroom", "on", { room: "bedroom" }));
      t.publish(prediction("kitchen", inOneHourAndAQuarter()));
      t.publish(
        stateChanged("binary_sensor.kitchen_motion", "on", {
          room: "kitchen",
          attributes: { device_class: "motion" },
        }),
      );
      const p = await client.nextOfType("prediction_update");
      expect(p).toMatchObject({
        endpoint: "/ws/room/kitchen",
        room_id: "kitchen",
        data: { room_id: "kitchen" },
      });
      const r = await client.nextOfType("room_state_update");
      expect(r).toMatchObject({
        endpoint: "/ws/room/kitchen",
        room_id: "kitchen",
        data: {
          room_name: "Kitchen",
          entity_id: "binary_sensor.kitchen_motion",
          new_state: "on",
          occupancy: {
            occupied: true,
            sensors: [
              { entity_id: "binary_sensor.kitchen_motion", state: "on" },
              { entity_id: "binary_sensor.kitchen_presence", state: "off" },
            ],
          },
        },
      });
      await client.settle();
      expect(client.received.filter((m) => m.seq !== null && m.room_id === "bedroom")).toHaveLength(0);
    });

    it("sends a server heartbeat every heartbeat interval to authenticated clients", async () => {
      await t.stop();
      t = await startTestServer({
        tune: (c) => ({ ...c, server: { ...c.server, heartbeat_interval_seconds: 0.05 } }),
      });
      const client = await subscribed("/ws/predictions");
      const heartbeat = await client.nextOfType("heartbeat");
      expect(heartbeat.data).toMatchObject({
        server_time: expect.any(String),
        connection_uptime: expect.any(Number),
      });
    });
  });

  describe("subscriptions", () => {
    it("subscribes and unsubscribes other endpoints with subscription_status", async () => {
      const client = await subscribed("/ws/predictions");
      client.send({ type: "subscribe", data: { endpoint: "/ws/alerts", room_id: null, filters: {} } });
      expect((await client.nextOfType("subscription_status")).data).toMatchObject({
        action: "subscribe",
        success: true,
        endpoint: "/ws/alerts",
      });
      client.send({ type: "unsubscribe", data: { endpoint: "/ws/predictions" } });
      expect((await client.nextOfType("subscription_status")).data).toMatchObject({
        action: "unsubscribe",
        success: true,
        endpoint: "/ws/predictions",
      });
      t.publish(prediction("kitchen", inOneHourAndAQuarter()));
      t.publish(alert("a1", null));
      await client.nextOfType("alert_notification");
      expect(client.ofType("prediction_update")).toHaveLength(0);
    });

    it("answers unsubscribing from something not subscribed with success false", async () => {
      const client = await subscribed("/ws/predictions");
      client.send({ type: "unsubscribe", data: { endpoint: "/ws/system-status" } });
      expect((await client.nextOfType("subscription_status")).data).toMatchObject({
        action: "unsubscribe",
        success: false,
        endpoint: "/ws/system-status",
      });
    });

    it("narrows a fixed endpoint to one room with room_id", async () => {
      const client = await subscribed("/ws/alerts");
      client.send({ type: "unsubscribe", data: { endpoint: "/ws/alerts" } });
      client.send({ type: "subscribe", data: { endpoint: "/ws/predictions", room_id: "bedroom" } });
      await client.nextOfType("subscription_status");
      expect((await client.nextOfType("subscription_status")).data).toMatchObject({ room_id: "bedroom" });
      t.publish(prediction("kitchen", inOneHourAndAQuarter()));
      t.publish(prediction("bedroom", inOneHourAndAQuarter()));
      expect((await client.nextOfType("prediction_update")).room_id).toBe("bedroom");
      await client.settle();
      expect(client.ofType("prediction_update")).toHaveLength(1);
    });

    it.each([
      ["an unknown endpoint", { endpoint: "/ws/everything" }],
      ["a malformed room", { endpoint: "/ws/room/bad room" }],
      ["a missing endpoint", { room_id: "kitchen" }],
      ["conflicting rooms", { endpoint: "/ws/room/kitchen", room_id: "bedroom" }],
    ])("answers subscribe with %s with WEBSOCKET_VALIDATION_ERROR", async (_name, data) => {
      const client = await subscribed("/ws/predictions");
      client.send({ type: "subscribe", data });
      expect((await client.nextOfType("error")).data).toMatchObject({
        error_code: "WEBSOCKET_VALIDATION_ERROR",
      });
    });
  });

  describe("capabilities gate every endpoint", () => {
    it.each([
      ["/ws/predictions", "predictions"],
      ["/ws/system-status", "system_status"],
      ["/ws/alerts", "alerts"],
      ["/ws/room/kitchen", "room_specific"],
    ])("refuses %s without the %s capability", async (path, capability) => {
      const others = ["predictions", "system_status", "alerts", "room_specific"].filter(
        (c) => c !== capability,
      );
      const token = await t.token({ capabilities: others });
      const { client, auth } = await login(path, { token });
      expect(auth.data).toMatchObject({ success: true });
      const error = await client.nextOfType("error");
      expect(error.data).toMatchObject({ error_code: "SUBSCRIPTION_ERROR", endpoint: path });
      t.publish(prediction("kitchen", inOneHourAndAQuarter()));
      t.publish(systemStatus("healthy"));
      t.publish(alert("a", "kitchen"));
      t.publish(stateChanged("light.kitchen", "on", { room: "kitchen" }));
      await client.settle();
      expect(client.received.filter((m) => typeof m.seq === "number")).toHaveLength(0);
    });

    it("narrows capabilities to the requested ones", async () => {
      const { client, auth } = await login("/ws/alerts", {
        api_key: ADMIN_KEY,
        capabilities: ["predictions"],
      });
      expect(auth.data).toMatchObject({ capabilities: ["predictions"] });
      expect((await client.nextOfType("error")).data).toMatchObject({ error_code: "SUBSCRIPTION_ERROR" });
    });
  });

  describe("room filters restrict every endpoint", () => {
    const filtered = { api_key: ADMIN_KEY, room_filters: ["kitchen"] };

    it("on /ws/predictions", async () => {
      const client = await subscribed("/ws/predictions", filtered);
      t.publish(prediction("bedroom", inOneHourAndAQuarter()));
      t.publish(prediction("kitchen", inOneHourAndAQuarter()));
      expect((await client.nextOfType("prediction_update")).room_id).toBe("kitchen");
      await client.settle();
      expect(client.ofType("prediction_update")).toHaveLength(1);
    });

    it("on /ws/alerts (room-less alerts still arrive)", async () => {
      const client = await subscribed("/ws/alerts", filtered);
      t.publish(alert("bed", "bedroom"));
      t.publish(alert("kit", "kitchen"));
      t.publish(drift("global", null));
      await client.nextOfType("drift_notification");
      expect(client.ofType("alert_notification").map((m) => m.data?.alert_id)).toEqual(["kit"]);
    });

    it("on /ws/room/{room_id} outside the filters (refused) and inside (allowed)", async () => {
      const { client } = await login("/ws/room/bedroom", filtered);
      expect((await client.nextOfType("error")).data).toMatchObject({ error_code: "SUBSCRIPTION_ERROR" });
      client.send({ type: "subscribe", data: { endpoint: "/ws/room/kitchen" } });
      expect((await client.nextOfType("subscription_status")).data).toMatchObject({
        success: true,
        room_id: "kitchen",
      });
      t.publish(stateChanged("light.bedroom", "on", { room: "bedroom" }));
      t.publish(stateChanged("light.kitchen", "on", { room: "kitchen" }));
      expect((await client.nextOfType("room_state_update")).room_id).toBe("kitchen");
      await client.settle();
      expect(client.ofType("room_state_update")).toHaveLength(1);
    });

    it("on /ws/system-status (system-wide, so delivered)", async () => {
      const client = await subscribed("/ws/system-status", filtered);
      t.publish(systemStatus("healthy"));
      await client.nextOfType("system_status_update");
    });

    it("on an explicit subscribe with a room_id outside the filters", async () => {
      const client = await subscribed("/ws/predictions", filtered);
      client.send({ type: "subscribe", data: { endpoint: "/ws/alerts", room_id: "bedroom" } });
      expect((await client.nextOfType("error")).data).toMatchObject({ error_code: "SUBSCRIPTION_ERROR" });
    });
  });

  describe("bad input", () => {
    it.each([
      ["non-JSON", "nope"],
      ["a JSON array", "[]"],
      ["an unknown type", '{"type":"explode","data":{}}'],
      ["authentication without a key", '{"type":"authentication","data":{"client_name":"x"}}'],
      [
        "a wrongly typed client_name",
        `{"type":"authentication","data":{"api_key":"${ADMIN_KEY}","client_name":42}}`,
      ],
      ["an acknowledge without message_id", '{"type":"acknowledge","data":{}}'],
    ])("answers %s with WEBSOCKET_VALIDATION_ERROR and keeps serving", async (_name, frame) => {
      const client = await subscribed("/ws/predictions");
      client.send(frame);
      expect((await client.nextOfType("error")).data).toMatchObject({
        error_code: "WEBSOCKET_VALIDATION_ERROR",
      });
      t.publish(prediction("kitchen", inOneHourAndAQuarter()));
      await client.nextOfType("prediction_update");
    });

    it("answers a binary frame with WEBSOCKET_VALIDATION_ERROR", async () => {
      const client = await subscribed("/ws/predictions");
      client.ws.send(Buffer.from([0, 1, 2]), { binary: true });
      expect((await client.nextOfType("error")).data).toMatchObject({
        error_code: "WEBSOCKET_VALIDATION_ERROR",
      });
    });

    it("refuses unknown occupancy-like paths with HTTP 404", async () => {
      await expect(t.connect("/ws/room/")).rejects.toThrow("HTTP 404");
      await expect(t.connect("/ws/room/a/b")).rejects.toThrow("HTTP 404");
      await expect(t.connect("/ws/predictions/extra")).rejects.toThrow("HTTP 404");
    });

    it("closes an occupancy client silent past the inactivity timeout with 4000, heartbeats keep it open", async () => {
      await t.stop();
      t = await startTestServer({
        tune: (c) => ({ ...c, server: { ...c.server, connection_timeout_seconds: 0.3 } }),
      });
      const quiet = await subscribed("/ws/predictions");
      const chatty = await subscribed("/ws/predictions");
      const beat = setInterval(
        () => chatty.send({ type: "heartbeat", data: { client_time: new Date().toISOString() } }),
        50,
      );
      await quiet.closed;
      clearInterval(beat);
      expect(quiet.closeCode).toBe(4000);
      expect(chatty.closeCode).toBeNull();
    });
  });
});
