import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { OccupancyClient } from "../../src/client/index.js";
import { type PeerConnection, ScriptedPeer } from "./scripted-peer.js";

const NOW = "2026-01-15T14:30:00.000Z";
const FAST = { initialDelayMs: 10, maxDelayMs: 50, factor: 2, jitter: 0 };

function envelope(
  type: string,
  data: Record<string, unknown>,
  extra: { seq?: number; requires_ack?: boolean; message_id?: string } = {},
): Record<string, unknown> {
  return {
    message_id: extra.message_id ?? `m-${Math.random().toString(36).slice(2)}`,
    message_type: type,
    timestamp: NOW,
    endpoint: "/ws/predictions",
    room_id: null,
    requires_ack: extra.requires_ack ?? false,
    data,
    seq: extra.seq ?? null,
  };
}

/** An occupancy endpoint that accepts the key "key-0123456789", subscribes its own endpoint, and confirms subscriptions. */
function endpointLike(c: PeerConnection): void {
  c.send(
    envelope("connection", {
      client_id: "c1",
      server_version: "0.1.0",
      api_version: "1.0.0",
      endpoint: c.path,
      authentication_required: true,
      epoch: "e1",
    }),
  );
  c.reply("authentication", (data) => {
    if (data.api_key === "key-0123456789") {
      c.send(
        envelope("authentication", {
          success: true,
          message: "Authentication successful",
          capabilities: ["predictions", "alerts"],
          room_filters: [],
        }),
      );
      // As the bridge does: the connection's own endpoint is subscribed at once, with its own reply.
      c.send(
        envelope("subscription_status", {
          action: "subscribe",
          success: true,
          endpoint: c.path,
          room_id: null,
          message: "Subscribed",
        }),
      );
    } else {
      c.send(
        envelope("error", { error: "Invalid API key", error_code: "WEBSOCKET_AUTH_ERROR", timestamp: NOW }),
      );
    }
  });
  c.reply("subscribe", (data) =>
    c.send(
      envelope("subscription_status", {
        action: "subscribe",
        success: true,
        endpoint: data.endpoint,
        room_id: data.room_id,
        message: "ok",
      }),
    ),
  );
}

const ALERT = {
  alert_id: "alert_1",
  alert_type: "accuracy_degradation",
  severity: "warning",
  message: "Model accuracy has dropped below threshold",
  room_id: "bedroom",
};

describe("OccupancyClient", () => {
  let peer: ScriptedPeer;
  let client: OccupancyClient | undefined;

  beforeEach(async () => {
    peer = await ScriptedPeer.start(endpointLike);
  });
  afterEach(async () => {
    client?.close();
    await peer.stop();
  });

  it("authenticates with its API key, capabilities and room filters after the connection greeting", async () => {
    client = new OccupancyClient({
      url: peer.url("/ws/predictions"),
      apiKey: "key-0123456789",
      clientName: "Spec",
      capabilities: ["predictions", "alerts"],
      roomFilters: ["bedroom"],
      reconnect: false,
    });
    await client.connect();
    const auth = await (await peer.connection(1)).next("authentication");
    expect(auth.data).toEqual({
      api_key: "key-0123456789",
      client_name: "Spec",
      capabilities: ["predictions", "alerts"],
      room_filters: ["bedroom"],
    });
    expect(client.connection?.endpoint).toBe("/ws/predictions");
    expect(client.granted).toEqual({ capabilities: ["predictions", "alerts"], roomFilters: [] });
  });

  it("fails connect() when the bridge answers the key with an error, as the seed system does", async () => {
    client = new OccupancyClient({ url: peer.url("/ws/alerts"), apiKey: "wrong-key-000", reconnect: FAST });
    await expect(client.connect()).rejects.toMatchObject({ code: "AUTHENTICATION_FAILED" });
  });

  it("acknowledges a requires_ack alert by message_id after its listeners ran", async () => {
    client = new OccupancyClient({ url: peer.url("/ws/alerts"), apiKey: "key-0123456789", reconnect: false });
    const order: string[] = [];
    client.on("alert_notification", (m) => order.push(`listener ${m.data.alert_id}`));
    await client.connect();
    const c = await peer.connection(1);
    c.send(
      envelope("alert_notification", ALERT, { requires_ack: true, message_id: "e1:9:/ws/alerts", seq: 9 }),
    );
    const ack = await c.next("acknowledge");
    expect(ack.data).toEqual({ message_id: "e1:9:/ws/alerts" });
    expect(order).toEqual(["listener alert_1"]);
  });

  it("leaves acknowledgement to the application when autoAck is off", async () => {
    client = new OccupancyClient({
      url: peer.url("/ws/alerts"),
      apiKey: "key-0123456789",
      reconnect: false,
      autoAck: false,
    });
    const ids: string[] = [];
    client.on("alert_notification", (m) => ids.push(m.message_id));
    await client.connect();
    const c = await peer.connection(1);
    c.send(envelope("alert_notification", ALERT, { requires_ack: true, message_id: "a-1" }));
    await expect.poll(() => ids).toEqual(["a-1"]);
    expect(c.types()).not.toContain("acknowledge");
    client.acknowledge("a-1");
    expect((await c.next("acknowledge")).data).toEqual({ message_id: "a-1" });
  });

  it("answers the server's heartbeat with its own", async () => {
    client = new OccupancyClient({
      url: peer.url("/ws/predictions"),
      apiKey: "key-0123456789",
      reconnect: false,
    });
    await client.connect();
    const c = await peer.connection(1);
    c.send(envelope("heartbeat", { server_time: NOW, connection_uptime: 1.5 }));
    const beat = await c.next("heartbeat");
    expect(typeof beat.data.client_time).toBe("string");
  });

  it("redials a bridge that sent nothing for silenceTimeoutMs, even one too frozen to finish a close", async () => {
    client = new OccupancyClient({
      url: peer.url("/ws/predictions"),
      apiKey: "key-0123456789",
      reconnect: FAST,
      silenceTimeoutMs: 90,
    });
    await client.connect();
    const first = await peer.connection(1);
    first.freeze();
    await peer.connection(2);
  });

  it("matches a subscription to its own reply, not to the automatic one for the connection's endpoint", async () => {
    client = new OccupancyClient({
      url: peer.url("/ws/predictions"),
      apiKey: "key-0123456789",
      reconnect: false,
    });
    await client.connect();
    await expect(client.subscribe("/ws/alerts")).resolves.toMatchObject({ endpoint: "/ws/alerts" });
  });

  it("rejects a subscription the bridge refuses with a SUBSCRIPTION_ERROR", async () => {
    client = new OccupancyClient({
      url: peer.url("/ws/predictions"),
      apiKey: "key-0123456789",
      reconnect: false,
    });
    await client.connect();
    const c = await peer.connection(1);
    c.reply("subscribe", () =>
      c.send(
        envelope("error", {
          error: "the credential lacks room_specific",
          error_code: "SUBSCRIPTION_ERROR",
          timestamp: NOW,
        }),
      ),
    );
    await expect(client.subscribe("/ws/room/kitchen")).rejects.toMatchObject({ code: "SUBSCRIPTION_ERROR" });
  });

  it("resumes on the URL when it holds no extra subscription, and sends no resume message", async () => {
    client = new OccupancyClient({
      url: peer.url("/ws/predictions"),
      apiKey: "key-0123456789",
      reconnect: FAST,
    });
    await client.connect();
    const first = await peer.connection(1);
    first.send(
      envelope(
        "prediction_update",
        { room_id: "kitchen", predicted_time: NOW, transition_type: "occupied", confidence_score: 0.8 },
        { seq: 7 },
      ),
    );
    await expect.poll(() => client?.cursor).toEqual({ seq: 7, epoch: "e1" });
    first.ws.terminate();
    const second = await peer.connection(2);
    expect(second.path).toBe("/ws/predictions?last_seq=7&epoch=e1");
    // A later request shows what came before it: no `resume` after the authentication.
    await client.subscribe("/ws/alerts");
    expect(second.types()).toEqual(["authentication", "subscribe"]);
  });

  it("does not take an error about its resume cursor for a refused credential", async () => {
    await peer.stop();
    peer = await ScriptedPeer.start((c) => {
      endpointLike(c);
      c.send(
        envelope("error", {
          error: "last_seq must be a non-negative integer",
          error_code: "WEBSOCKET_VALIDATION_ERROR",
          reason: "RESUME_INVALID",
          timestamp: NOW,
        }),
      );
    });
    client = new OccupancyClient({
      url: peer.url("/ws/predictions"),
      apiKey: "key-0123456789",
      reconnect: false,
      resumeFrom: { seq: 3, epoch: "e1" },
    });
    await client.connect();
    expect(client.granted?.capabilities).toEqual(["predictions", "alerts"]);
  });

  it("restores extra endpoint subscriptions and resumes with a message after them (the URL form would run too early)", async () => {
    client = new OccupancyClient({
      url: peer.url("/ws/predictions"),
      apiKey: "key-0123456789",
      reconnect: FAST,
    });
    await client.connect();
    const status = await client.subscribe("/ws/room/kitchen", "kitchen");
    expect(status).toMatchObject({ success: true, endpoint: "/ws/room/kitchen" });
    const first = await peer.connection(1);
    first.send(
      envelope(
        "prediction_update",
        { room_id: "kitchen", predicted_time: NOW, transition_type: "occupied", confidence_score: 0.8 },
        { seq: 12 },
      ),
    );
    await expect.poll(() => client?.cursor).toEqual({ seq: 12, epoch: "e1" });
    first.ws.terminate();
    const second = await peer.connection(2);
    expect(second.path).toBe("/ws/predictions");
    expect((await second.next("resume")).data).toEqual({ last_seq: 12, epoch: "e1" });
    expect(second.types()).toEqual(["authentication", "subscribe", "resume"]);
    expect(second.received[1]?.data).toMatchObject({ endpoint: "/ws/room/kitchen", room_id: "kitchen" });
  });
});
