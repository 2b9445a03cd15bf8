import { connect } from "node:net";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { pick, rng } from "../helpers/rng.js";
import { ADMIN_KEY, startTestServer, type TestServer } from "../helpers/ws-server.js";

let t: TestServer;

/** Sends `head` as is on a new connection and resolves with everything the server answers until it closes. */
function rawRequest(head: string): Promise<string> {
  const { port } = new URL(t.url("/"));
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), "127.0.0.1", () => socket.write(head));
    let answer = "";
    socket.on("data", (chunk: Buffer) => {
      answer += chunk.toString();
    });
    socket.on("error", reject);
    socket.on("close", () => resolve(answer));
    socket.setTimeout(5_000, () => socket.destroy(new Error(`no answer to ${JSON.stringify(head)}`)));
  });
}

describe("BridgeServer HTTP endpoints", () => {
  beforeEach(async () => {
    t = await startTestServer();
  });
  afterEach(async () => {
    await t.stop();
  });

  it.each(["/api/v1/websocket/metrics", "/api/v1/websocket/stats", "/api/v1/websocket/clients", "/metrics"])(
    "requires a credential for %s (401 without, 403 without admin)",
    async (path) => {
      expect((await t.http(path)).status).toBe(401);
      expect((await t.http(path, { Authorization: "Bearer wrong" })).status).toBe(401);
      const token = await t.token({ capabilities: ["predictions"] });
      expect((await t.http(path, { Authorization: `Bearer ${token}` })).status).toBe(403);
      expect((await t.http(path, { "X-API-Key": ADMIN_KEY })).status).toBe(200);
    },
  );

  it("answers request targets that are not paths with 400, for plain requests and upgrades, and keeps serving", async () => {
    const upgrade =
      "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";
    for (const target of ["//", "\\\\", "//[::1", "//a:b@", "//:99999"]) {
      const plain = await rawRequest(`GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
      // Node's parser refuses some itself (400 without a body); what gets past it is the bridge's to refuse.
      expect(plain).toMatch(/^HTTP\/1\.1 400 /);
      if (target === "//") expect(plain).toContain('"error":"bad_request"');
      expect(await rawRequest(`GET ${target} HTTP/1.1\r\nHost: x\r\n${upgrade}\r\n`)).toMatch(
        /^HTTP\/1\.1 400 /,
      );
    }
    expect((await t.http("/api/v1/websocket/metrics", { "X-API-Key": ADMIN_KEY })).status).toBe(200);
    expect(t.errors).toEqual([]);
  });

  it("answers 300 random request targets, plain and upgrading, with a status line and stays up", async () => {
    const r = rng(404);
    const alphabet = "/\\?#%:@[]!$&'()*+,;=._~-azAZ09\u00e9";
    const upgrade =
      "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";
    for (let i = 0; i < 300; i++) {
      const target = Array.from({ length: 1 + Math.floor(r() * 12) }, () => pick(r, [...alphabet])).join("");
      const head = `GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${r() < 0.5 ? upgrade : ""}\r\n`;
      expect(await rawRequest(head)).toMatch(/^HTTP\/1\.1 \d{3} /);
    }
    expect((await t.http("/api/v1/websocket/metrics", { "X-API-Key": ADMIN_KEY })).status).toBe(200);
    expect(t.errors).toEqual([]);
  });

  it("reports connections by dialect and endpoint, traffic, auth failures and uptime", async () => {
    const pma = await t.connect(`/ws?token=${ADMIN_KEY}`);
    await pma.nextOfType("authentication_success");
    const occ = await t.connect("/ws/room/kitchen");
    await occ.nextOfType("connection");
    const bad = await t.connect("/ws?token=nope");
    await bad.nextOfType("authentication_failure");
    const response = await t.http("/api/v1/websocket/metrics", { Authorization: `Bearer ${ADMIN_KEY}` });
    const body = (await response.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      connected_clients: 3,
      connections: {
        total: 3,
        by_dialect: { pma: 2, occupancy: 1 },
        by_endpoint: { "/ws": 2, "/ws/room/{room_id}": 1 },
      },
      auth_failures: 1,
      messages_out: expect.any(Number),
      bytes_out: expect.any(Number),
      dropped: 0,
      rate_limit_hits: 0,
      uptime_seconds: expect.any(Number),
      epoch: t.hub.epoch,
    });
    const stats = await (
      await t.http("/api/v1/websocket/stats", { Authorization: `Bearer ${ADMIN_KEY}` })
    ).json();
    expect(Object.keys(stats as object)).toEqual(Object.keys(body));
  });

  it("lists clients with dialect, endpoint, subject, subscriptions, queue depth and connection time", async () => {
    const pma = await t.connect(`/ws?token=${ADMIN_KEY}&client_id=panel`);
    await pma.nextOfType("authentication_success");
    pma.send({ type: "subscribe_ha_entities", data: { entity_ids: ["light.a"] } });
    await pma.nextOfType("subscription_update");
    const body = (await (
      await t.http("/api/v1/websocket/clients", { Authorization: `Bearer ${ADMIN_KEY}` })
    ).json()) as {
      clients: Record<string, unknown>[];
    };
    expect(body.clients).toEqual([
      expect.objectContaining({
        id: "panel",
        dialect: "pma",
        endpoint: "/ws",
        subject: "admin",
        subscriptions: { event_types: [], entity_ids: ["light.a"], room_ids: [], legacy_rooms: [] },
        queue_depth: 0,
        connected_since: expect.any(String),
      }),
    ]);
  });

  it("serves Prometheus text with connection gauges and counters", async () => {
    const pma = await t.connect("/ws");
    await pma.nextOfType("welcome");
    const response = await t.http("/metrics", { Authorization: `Bearer ${ADMIN_KEY}` });
    expect(response.headers.get("content-type")).toContain("text/plain");
    const text = await response.text();
    expect(text).toContain('pma_bridge_ws_connections{dialect="pma",endpoint="/ws"} 1');
    expect(text).toContain("pma_bridge_ws_messages_out_total");
    expect(text).toContain("pma_bridge_ws_uptime_seconds");
  });
});
