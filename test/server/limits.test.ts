import { connect, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import type { Config } from "../../src/config/schema.js";
import { TestClient } from "../helpers/ws-client.js";
import { stateChanged } from "../helpers/ws-events.js";
import { ADMIN_KEY, startTestServer, type TestServer } from "../helpers/ws-server.js";

let t: TestServer | undefined;

afterEach(async () => {
  await t?.stop();
  t = undefined;
});

async function waitFor(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A WebSocket handshake over a bare socket, resolved once the server has switched protocols. */
function rawUpgrade(url: string): Promise<Socket> {
  const { port, pathname } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), "127.0.0.1", () =>
      socket.write(
        `GET ${pathname} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
      ),
    );
    socket.once("data", (chunk: Buffer) => {
      if (chunk.toString().startsWith("HTTP/1.1 101 ")) resolve(socket);
      else reject(new Error(`no upgrade: ${chunk.toString()}`));
    });
    socket.on("error", () => undefined);
  });
}

describe("BridgeServer limits", () => {
  describe("inbound rate limit", () => {
    it("warns a PMA client near the limit, then rejects the excess with RATE_LIMITED; pings are exempt", async () => {
      t = await startTestServer({
        config: { server: { rate_limit: { messages_per_minute: 10, warn_ratio: 0.8 } } },
      });
      const client = await t.connect(`/ws?token=${ADMIN_KEY}`);
      await client.nextOfType("authentication_success");
      for (let i = 0; i < 12; i++)
        client.send({ type: "subscribe_ha_entities", data: { entity_ids: [`light.l${i}`] } });
      const warning = await client.nextOfType("rate_limit_warning");
      expect(warning.data).toMatchObject({ max_messages_per_minute: 10, current_count: 8 });
      const resetAt = Date.parse(String(warning.data?.reset_time));
      expect(resetAt).toBeGreaterThan(Date.now());
      expect(resetAt).toBeLessThanOrEqual(Date.now() + 60_000);
      const error = await client.nextOfType("error");
      expect(error.data).toMatchObject({ code: "RATE_LIMITED", details: { max_messages_per_minute: 10 } });
      await client.settle();
      expect(client.ofType("subscription_update")).toHaveLength(10);
      expect(client.ofType("error")).toHaveLength(1);
      for (let i = 0; i < 20; i++) client.send({ type: "ping", data: {} });
      await client.settle();
      expect(client.ofType("pong")).toHaveLength(20);
      expect(t.server.metrics.snapshot().rate_limit_hits).toBe(2);
    });

    it("rejects an occupancy flood with WEBSOCKET_RATE_LIMIT_ERROR; heartbeats and acks are exempt", async () => {
      t = await startTestServer({ config: { server: { rate_limit: { messages_per_minute: 5 } } } });
      const client = await t.connect("/ws/predictions");
      for (let i = 0; i < 30; i++) client.send({ type: "heartbeat", data: { client_time: "x" } });
      client.send({ type: "authentication", data: { api_key: ADMIN_KEY } });
      await client.nextOfType("authentication");
      for (let i = 0; i < 6; i++) client.send({ type: "subscribe", data: { endpoint: "/ws/alerts" } });
      const warning = await client.nextOfType("rate_limit_warning");
      expect(warning.data).toMatchObject({
        message: expect.any(String),
        max_messages_per_minute: 5,
        reset_time: expect.any(String),
      });
      expect((await client.nextOfType("error")).data).toMatchObject({
        error_code: "WEBSOCKET_RATE_LIMIT_ERROR",
      });
    });
  });

  describe("connection limits", () => {
    it("closes connections beyond max_connections with 1013 and a clear reason", async () => {
      t = await startTestServer({ config: { server: { max_connections: 2 } } });
      await t.connect("/ws");
      await t.connect("/ws/alerts");
      const third = await t.connect("/ws");
      await third.closed;
      expect(third.closeCode).toBe(1013);
      expect(third.closeReason).toContain("connection limit (2)");
      expect(t.server.metrics.snapshot().rejected_connections).toBe(1);
    });

    it("closes connections beyond the per-IP cap with 1008", async () => {
      t = await startTestServer({ config: { server: { max_connections_per_ip: 1 } } });
      const first = await t.connect("/ws");
      const second = await t.connect("/ws");
      await second.closed;
      expect(second.closeCode).toBe(1008);
      expect(second.closeReason).toContain("too many connections from your address");
      await first.close();
      await waitFor(() => t?.server.clients().length === 0);
      const third = await t.connect("/ws");
      await third.nextOfType("welcome");
    });
  });

  it("survives a refused client that answers its refusal with a frame ws rejects", async () => {
    t = await startTestServer({ config: { server: { max_connections_per_ip: 1 } } });
    const first = await t.connect("/ws");
    for (const frame of [
      Buffer.from([0x81, 0x02, 0x68, 0x69]), // unmasked text: "MASK must be set"
      Buffer.from([0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe7]), // close with the invalid code 999
    ]) {
      const refused = await rawUpgrade(t.url("/ws"));
      const ended = new Promise((resolve) => refused.once("close", resolve));
      refused.write(frame);
      await ended;
    }
    await first.close();
    await waitFor(() => t?.server.clients().length === 0);
    const again = await t.connect("/ws");
    await again.nextOfType("welcome");
  });

  describe("authentication deadline", () => {
    const quickAuth = (anonymous: boolean) => ({
      config: { auth: { allow_anonymous: anonymous } },
      tune: (c: Config) => ({ ...c, server: { ...c.server, auth_timeout_seconds: 0.3 } }),
    });

    it("closes connections of both dialects that do not authenticate in time with 1008; heartbeats do not help", async () => {
      t = await startTestServer(quickAuth(false));
      const authed = await t.connect(`/ws?token=${ADMIN_KEY}`);
      await authed.nextOfType("authentication_success");
      const pma = await t.connect("/ws");
      const occupancy = await t.connect("/ws/alerts");
      const beat = setInterval(() => occupancy.send({ type: "heartbeat", data: {} }), 50);
      await Promise.all([pma.closed, occupancy.closed]);
      clearInterval(beat);
      for (const client of [pma, occupancy]) {
        expect(client.closeCode).toBe(1008);
        expect(client.closeReason).toContain("authentication timeout");
      }
      expect(authed.closeCode).toBeNull();
      expect(t.server.metrics.snapshot().auth_timeouts).toBe(2);
    });

    it("leaves anonymous PMA clients alone when anonymous access is allowed", async () => {
      t = await startTestServer(quickAuth(true));
      const anonymous = await t.connect("/ws");
      await anonymous.nextOfType("welcome");
      await new Promise((resolve) => setTimeout(resolve, 800));
      expect(anonymous.closeCode).toBeNull();
    });
  });

  describe("dead peers", () => {
    it("terminates a peer that stops answering protocol pings, in one shared sweep", async () => {
      t = await startTestServer({
        tune: (c) => ({ ...c, server: { ...c.server, ping_interval_seconds: 0.05 } }),
      });
      const live = await t.connect("/ws");
      const dead = await TestClient.connect(t.url("/ws"), { autoPong: false });
      await dead.closed;
      expect(dead.closeCode).toBe(1006);
      expect(t.server.metrics.snapshot().dead_peers_terminated).toBeGreaterThanOrEqual(1);
      expect(live.closeCode).toBeNull();
      await dead.close();
    });
  });

  describe("slow consumers", () => {
    const big = "x".repeat(32 * 1024);

    /** A fast and a paused client, both subscribed to every state change, on a server tuned by `stuckSeconds`. */
    async function fastAndSlow(stuckSeconds: number): Promise<{ fast: TestClient; slow: TestClient }> {
      t = await startTestServer({
        config: { server: { queue: { max_messages: 50 } } },
        tune: (c) => ({
          ...c,
          server: { ...c.server, queue: { ...c.server.queue, stuck_timeout_seconds: stuckSeconds } },
        }),
      });
      const fast = await t.connect(`/ws?token=${ADMIN_KEY}`);
      const slow = await t.connect(`/ws?token=${ADMIN_KEY}`);
      for (const client of [fast, slow]) {
        await client.nextOfType("authentication_success");
        client.send({ type: "subscribe_ha_events", data: { event_types: ["state_changed"] } });
        await client.nextOfType("subscription_update");
      }
      slow.ws.pause();
      return { fast, slow };
    }

    /**
     * Publishes batches of 100 large state changes (half on 5 recurring entities, half on new ones) at the
     * pace of the fast client, which must receive every one in order, until `done` says stop.
     */
    async function streamUntil(fast: TestClient, done: () => boolean): Promise<void> {
      const seen: number[] = [];
      let n = 0;
      while (!done()) {
        if (n > 20_000) throw new Error("condition never reached");
        for (let k = 0; k < 100; k++, n++) {
          const entity = k % 2 === 0 ? `sensor.recurring_${k % 5}` : `sensor.new_${n}`;
          t?.publish(stateChanged(entity, String(n), { attributes: { blob: big } }));
        }
        while (seen.length < n)
          seen.push(Number((await fast.nextOfType("pma_entity_state_changed", 20_000)).seq));
      }
      const first = seen[0] ?? 0;
      expect(seen).toEqual(Array.from({ length: n }, (_, k) => first + k));
    }

    it("conflates entity states, then drops, in a paused client's queue while a fast client gets everything", async () => {
      const { fast, slow } = await fastAndSlow(60);
      await streamUntil(fast, () => {
        const m = t?.server.metrics.snapshot();
        return (m?.conflated ?? 0) > 0 && (m?.dropped ?? 0) > 0;
      });
      const summaries = t?.server.clients().map((c) => c.summary()) ?? [];
      const slowSummary = summaries.find((s) => s.dropped > 0);
      expect(slowSummary?.conflated).toBeGreaterThan(0);
      expect(slowSummary?.queue_depth).toBeLessThanOrEqual(50);
      expect(summaries.filter((s) => s.dropped + s.conflated > 0)).toHaveLength(1);
      expect(slow.closeCode).toBeNull();
    }, 60_000);

    it("closes a client whose queue makes no progress with 4008, telling it to resume", async () => {
      const { fast, slow } = await fastAndSlow(0.5);
      await streamUntil(fast, () => (t?.server.metrics.snapshot().slow_consumer_closes ?? 0) === 1);
      slow.ws.resume();
      await slow.closed;
      expect(slow.closeCode).toBe(4008);
      expect(slow.closeReason).toContain("resume with last_seq");
      expect(fast.closeCode).toBeNull();
    }, 60_000);
  });
});
