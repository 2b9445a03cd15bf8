import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { silentLogger } from "../../src/core/logger.js";
import { HttpListener } from "../../src/server/http.js";
import { TestClient } from "../helpers/ws-client.js";
import { prediction } from "../helpers/ws-events.js";
import { startTestServer, type TestServer } from "../helpers/ws-server.js";

let t: TestServer;
let ingress: HttpListener;

async function ingressListener(trustedPeer: string): Promise<HttpListener> {
  const listener = new HttpListener({ name: "ingress", host: "127.0.0.1", port: 0 }, silentLogger());
  t.server.attach(listener, { trustedPeer });
  await listener.start();
  return listener;
}

const HA_USER = { "X-Remote-User-Id": "8a2f", "X-Remote-User-Name": "anna" };

describe("BridgeServer on an ingress port", () => {
  beforeEach(async () => {
    t = await startTestServer();
  });
  afterEach(async () => {
    await ingress.stop();
    await t.stop();
  });

  it("authenticates the Home Assistant user the trusted peer names, in the pma dialect", async () => {
    ingress = await ingressListener("127.0.0.1");
    const client = await TestClient.connect(`ws://127.0.0.1:${ingress.port()}/ws`, { headers: HA_USER });
    const success = await client.nextOfType("authentication_success");
    expect(success.data).toMatchObject({ subject: "ha:anna", rooms: [] });
    await client.close();
  });

  it("authenticates and subscribes the path's endpoint at once in the occupancy dialect", async () => {
    ingress = await ingressListener("127.0.0.1");
    const client = await TestClient.connect(`ws://127.0.0.1:${ingress.port()}/ws/predictions`, {
      headers: HA_USER,
    });
    expect((await client.nextOfType("authentication")).data).toMatchObject({
      success: true,
      subject: "ha:anna",
    });
    await client.nextOfType("subscription_status");
    t.publish(prediction("kitchen", "2030-01-01T00:00:00Z"));
    await client.nextOfType("prediction_update");
    await client.close();
  });

  it("still requires a credential when the trusted peer names no user", async () => {
    ingress = await ingressListener("127.0.0.1");
    const client = await TestClient.connect(`ws://127.0.0.1:${ingress.port()}/ws`);
    client.send({ type: "subscribe_ha_entities", data: { entity_ids: ["light.a"] } });
    expect((await client.nextOfType("subscription_error")).data).toMatchObject({ code: "AUTH_REQUIRED" });
    expect((await fetch(`http://127.0.0.1:${ingress.port()}/api/v1/websocket/metrics`)).status).toBe(401);
    const withUser = await fetch(`http://127.0.0.1:${ingress.port()}/api/v1/websocket/metrics`, {
      headers: HA_USER,
    });
    expect(withUser.status).toBe(200);
    await client.close();
  });

  it("limits connections per Home Assistant user, not per the Supervisor's one address", async () => {
    await t.stop();
    t = await startTestServer({ config: { server: { max_connections_per_ip: 1 } } });
    ingress = await ingressListener("127.0.0.1");
    const url = `ws://127.0.0.1:${ingress.port()}/ws`;
    const anna = await TestClient.connect(url, { headers: HA_USER });
    await anna.nextOfType("authentication_success");
    const ben = await TestClient.connect(url, {
      headers: { "X-Remote-User-Id": "77c1", "X-Remote-User-Name": "ben" },
    });
    expect((await ben.nextOfType("authentication_success")).data).toMatchObject({ subject: "ha:ben" });
    const annaAgain = await TestClient.connect(url, { headers: HA_USER });
    await annaAgain.closed;
    expect(annaAgain.closeCode).toBe(1008);
    // Closing gives the user's slot back (counted under the user, not under the address).
    await anna.close();
    const deadline = Date.now() + 10_000;
    while (t.server.clients().length > 1 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const annaLater = await TestClient.connect(url, { headers: HA_USER });
    await annaLater.nextOfType("authentication_success");
    await annaLater.close();
    await ben.close();
  });

  it("refuses every other peer, headers or not, with 403", async () => {
    ingress = await ingressListener("172.30.32.2");
    await expect(
      TestClient.connect(`ws://127.0.0.1:${ingress.port()}/ws`, { headers: HA_USER }),
    ).rejects.toThrow("HTTP 403");
    const response = await fetch(`http://127.0.0.1:${ingress.port()}/api/v1/websocket/clients`, {
      headers: HA_USER,
    });
    expect(response.status).toBe(403);
  });

  it("ignores user headers on a port that is not an ingress port", async () => {
    ingress = await ingressListener("127.0.0.1");
    const client = await TestClient.connect(t.url("/ws"), { headers: HA_USER });
    client.send({ type: "subscribe_ha_entities", data: { entity_ids: ["light.a"] } });
    expect((await client.nextOfType("subscription_error")).data).toMatchObject({ code: "AUTH_REQUIRED" });
    await client.close();
  });
});
