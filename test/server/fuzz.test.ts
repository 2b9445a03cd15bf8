import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rng } from "../helpers/rng.js";
import { TestClient } from "../helpers/ws-client.js";
import { prediction, stateChanged } from "../helpers/ws-events.js";
import { ADMIN_KEY, startTestServer, type TestServer } from "../helpers/ws-server.js";

const TYPES = [
  "authenticate",
  "authentication",
  "subscribe",
  "unsubscribe",
  "subscribe_ha_events",
  "unsubscribe_ha_events",
  "subscribe_ha_entities",
  "unsubscribe_ha_entities",
  "subscribe_ha_rooms",
  "unsubscribe_ha_rooms",
  "subscribe_room",
  "unsubscribe_room",
  "ping",
  "heartbeat",
  "acknowledge",
  "resume",
  "",
  "__proto__",
  "constructor",
];
const FIELDS = [
  "token",
  "api_key",
  "event_types",
  "entity_ids",
  "room_ids",
  "room_id",
  "endpoint",
  "filters",
  "message_id",
];

function randomValue(r: () => number, depth = 0): unknown {
  const pick = Math.floor(r() * (depth > 2 ? 5 : 8));
  switch (pick) {
    case 0:
      return null;
    case 1:
      return r() < 0.5;
    case 2:
      return Math.floor(r() * 2000) - 1000;
    case 3:
      return ["light.kitchen", "bad id", "/ws/alerts", "/ws/room/x", "sensor.s1", "", "x".repeat(300)][
        Math.floor(r() * 7)
      ];
    case 4:
      return String.fromCharCode(
        ...Array.from({ length: Math.floor(r() * 20) }, () => Math.floor(r() * 0xffff)),
      );
    case 5:
      return Array.from({ length: Math.floor(r() * 5) }, () => randomValue(r, depth + 1));
    case 6:
      return Array.from({ length: Math.floor(r() * 50) }, (_, i) => `sensor.fuzz_${i}`);
    default: {
      const object: Record<string, unknown> = {};
      for (let i = Math.floor(r() * 4); i > 0; i--) {
        object[FIELDS[Math.floor(r() * FIELDS.length)] ?? "x"] = randomValue(r, depth + 1);
      }
      return object;
    }
  }
}

/** A malformed or random frame: garbage text, random JSON, or a known type with random fields. */
function randomFrame(r: () => number): string | Buffer {
  const kind = r();
  if (kind < 0.1) return Buffer.from(Array.from({ length: 16 }, () => Math.floor(r() * 256)));
  if (kind < 0.25)
    return `{"type": "subscribe_ha_entities", "data": {"entity_ids": [${"1,".repeat(Math.floor(r() * 10))}`;
  if (kind < 0.4) return JSON.stringify(randomValue(r));
  const data: Record<string, unknown> = {};
  for (const field of FIELDS) if (r() < 0.3) data[field] = randomValue(r);
  if (r() < 0.2) data.api_key = ADMIN_KEY;
  return JSON.stringify({
    type: TYPES[Math.floor(r() * TYPES.length)],
    data: r() < 0.9 ? data : randomValue(r),
  });
}

const ATTACKERS = 12;
const FRAMES_PER_ATTACKER = 600;
const EVENTS = 1500;
/** Heap growth allowed across the whole run once the attackers are gone. */
const HEAP_BOUND_BYTES = 64 * 1024 * 1024;

describe("BridgeServer under fuzzing", () => {
  let t: TestServer;

  beforeAll(async () => {
    t = await startTestServer({
      config: { server: { rate_limit: { messages_per_minute: 100_000 } } },
      tune: (c) => ({ ...c, server: { ...c.server, ping_interval_seconds: 1 } }),
    });
  });
  afterAll(async () => {
    await t.stop();
  });

  it("keeps delivering every event in order to well-behaved clients while thousands of bad frames arrive", async () => {
    const pma = await t.connect(`/ws?token=${ADMIN_KEY}`);
    await pma.nextOfType("authentication_success");
    pma.send({ type: "subscribe_ha_events", data: { event_types: ["state_changed"] } });
    await pma.nextOfType("subscription_update");
    const occ = await t.connect("/ws/predictions");
    occ.send({ type: "authentication", data: { api_key: ADMIN_KEY } });
    await occ.nextOfType("subscription_status");
    const heartbeat = setInterval(() => occ.send({ type: "heartbeat", data: {} }), 1000);
    const heapBefore = process.memoryUsage().heapUsed;
    const bucketsBefore = t.hub.indexBucketCount;

    const r = rng(0xc0ffee);
    const paths = ["/ws", "/ws/predictions", "/ws/alerts", "/ws/system-status", "/ws/room/kitchen"];
    const attackers = await Promise.all(
      Array.from({ length: ATTACKERS }, (_, i) =>
        TestClient.connect(t.url(paths[i % paths.length] ?? "/ws")),
      ),
    );
    const halfOpen = await TestClient.connect(t.url("/ws"), { autoPong: false });
    let sentFrames = 0;
    let oversizeCloses = 0;
    const attack = (async () => {
      for (let round = 0; round < FRAMES_PER_ATTACKER; round++) {
        for (const attacker of attackers) {
          if (attacker.ws.readyState !== attacker.ws.OPEN) continue;
          attacker.ws.send(randomFrame(r));
          sentFrames++;
        }
        if (round % 40 === 0) {
          const big = await TestClient.connect(t.url("/ws"));
          big.send("x".repeat(t.config.server.max_payload_bytes + 10));
          await big.closed;
          if (big.closeCode === 1009) oversizeCloses++;
        }
        if (round % 10 === 0) await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    const publish = (async () => {
      for (let i = 0; i < EVENTS; i++) {
        t.publish(
          i % 2 === 0
            ? stateChanged(`light.l${i % 7}`, String(i))
            : prediction("kitchen", "2030-01-01T00:00:00Z"),
        );
        if (i % 25 === 0) await new Promise((resolve) => setTimeout(resolve, 1));
      }
    })();
    await Promise.all([attack, publish]);

    const expectSeqs = (parity: number): number[] =>
      Array.from({ length: EVENTS / 2 }, (_, i) => 2 * i + parity + 1);
    const pmaSeqs: number[] = [];
    while (pmaSeqs.length < EVENTS / 2)
      pmaSeqs.push(Number((await pma.nextOfType("pma_entity_state_changed", 20_000)).seq));
    const occSeqs: number[] = [];
    while (occSeqs.length < EVENTS / 2)
      occSeqs.push(Number((await occ.nextOfType("prediction_update", 20_000)).seq));
    expect(pmaSeqs).toEqual(expectSeqs(0));
    expect(occSeqs).toEqual(expectSeqs(1));

    await halfOpen.closed;
    expect(halfOpen.closeCode).toBe(1006);
    expect(oversizeCloses).toBe(FRAMES_PER_ATTACKER / 40);
    expect(sentFrames).toBeGreaterThan(ATTACKERS * FRAMES_PER_ATTACKER * 0.9);

    await Promise.all(attackers.map((a) => a.close()));
    const deadline = Date.now() + 10_000;
    while (t.server.clients().length > 2 && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 20));
    clearInterval(heartbeat);
    expect(t.server.clients().length).toBe(2);
    expect(t.hub.subscriberCount).toBe(2);
    expect(t.hub.indexBucketCount).toBe(bucketsBefore);
    expect(pma.closeCode).toBeNull();
    expect(occ.closeCode).toBeNull();
    const growth = process.memoryUsage().heapUsed - heapBefore;
    process.stdout.write(
      `[fuzz] ${sentFrames} bad frames, heap growth ${(growth / 1048576).toFixed(1)} MiB\n`,
    );
    expect(growth).toBeLessThan(HEAP_BOUND_BYTES);
    expect(t.errors).toEqual([]);
  }, 120_000);
});
