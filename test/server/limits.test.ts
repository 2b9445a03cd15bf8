import { afterEach, describe, expect, it } from "vitest";
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
    it("conflates, drops, then closes a stuck client with 4008 while a fast client gets everything in order", async () => {
      t = await startTestServer({
        config: { server: { queue: { max_messages: 50 } } },
        tune: (c) => ({
          ...c,
          server: { ...c.server, queue: { ...c.server.queue, stuck_timeout_seconds: 1 } },
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
      const big = "x".repeat(32 * 1024);
      const total = 600;
      const seen: number[] = [];
      // Publish in batches of 20 at the pace of the fast client (as a fast reader would): it must get all of
      // them, in order, while the paused client's queue overflows.
      for (let i = 0; i < total; i++) {
        t.publish(stateChanged(`sensor.s${i % 10}`, String(i), { attributes: { blob: big } }));
        if (i % 20 === 19) {
          while (seen.length <= i)
            seen.push(Number((await fast.nextOfType("pma_entity_state_changed", 20_000)).seq));
        }
      }
      const firstSeq = seen[0] ?? 0;
      expect(seen).toEqual(Array.from({ length: total }, (_, k) => firstSeq + k));
      const slowSummary = t.server
        .clients()
        .find((c) => c.summary().conflated > 0)
        ?.summary();
      expect(slowSummary?.conflated, "conflated in the slow client's queue").toBeGreaterThan(0);
      // Keep the stream flowing (distinct entities, nothing to conflate) until the kernel's buffers are full
      // too and the slow client's queue stops moving: it is dropped from, then closed.
      let n = total;
      while ((t.server.metrics.snapshot().slow_consumer_closes ?? 0) === 0) {
        if (n > total + 20_000) throw new Error("slow client was never closed");
        for (let k = 0; k < 100; k++, n++)
          t.publish(stateChanged(`sensor.d${n}`, "1", { attributes: { blob: big } }));
        while (seen.length < n)
          seen.push(Number((await fast.nextOfType("pma_entity_state_changed", 20_000)).seq));
      }
      const metrics = t.server.metrics.snapshot();
      expect(metrics.conflated, "conflated in metrics").toBeGreaterThan(0);
      expect(metrics.dropped, "dropped in metrics").toBeGreaterThan(0);
      slow.ws.resume();
      await slow.closed;
      expect(slow.closeCode).toBe(4008);
      expect(slow.closeReason).toContain("resume with last_seq");
      expect(fast.closeCode).toBeNull();
      expect(seen).toEqual(Array.from({ length: n }, (_, k) => firstSeq + k));
    }, 60_000);
  });
});
