import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { TestClient } from "../helpers/ws-client.js";
import { stateChanged } from "../helpers/ws-events.js";
import { ADMIN_KEY, startTestServer, type TestServer } from "../helpers/ws-server.js";

const EVENTS = 50_000;
const ENTITIES = 100;
const BATCH = 500;
const FAST_CLIENTS = 3;
/** Makes every frame about 1 KB, so the flood is far larger than what loopback socket buffers absorb. */
const PADDING = "x".repeat(700);

let t: TestServer;

async function follower(clientId: string): Promise<TestClient> {
  const client = await t.connect(`/ws?token=${ADMIN_KEY}&client_id=${clientId}`);
  await client.nextOfType("authentication_success");
  client.send({ type: "subscribe_ha_rooms", data: { room_ids: ["kitchen"] } });
  await client.nextOfType("subscription_update");
  return client;
}

/** Entity id → last state in the messages a client received. */
function latestStates(client: TestClient): Map<string, string> {
  const states = new Map<string, string>();
  for (const message of client.received) {
    if (message.type !== "pma_entity_state_changed") continue;
    states.set(String(message.data?.entity_id), String(message.data?.new_state));
  }
  return states;
}

function stateSeqs(client: TestClient): number[] {
  return client.received.filter((m) => m.type === "pma_entity_state_changed").map((m) => Number(m.seq));
}

describe("a client that stops reading", () => {
  beforeEach(async () => {
    // The stuck deadline is far away here: this test is about what happens before it.
    t = await startTestServer({ config: { server: { queue: { stuck_timeout_seconds: 600 } } } });
  });
  afterEach(async () => {
    await t.stop();
  });

  it("is conflated within its queue bounds while every other client gets every event, and catches up to the latest state", async () => {
    const fast = await Promise.all(Array.from({ length: FAST_CLIENTS }, (_, i) => follower(`fast${i}`)));
    const slowClient = await follower("slow");
    slowClient.ws.pause();
    const slow = t.server.clients().find((c) => c.id === "slow");
    if (slow === undefined) throw new Error("the slow client is not connected");
    const { max_messages, max_bytes } = t.config.server.queue;

    const published = new Map<string, string>();
    let maxDepth = 0;
    let maxQueuedBytes = 0;
    for (let start = 1; start <= EVENTS; start += BATCH) {
      for (let n = start; n < start + BATCH; n += 1) {
        const entityId = `sensor.e${n % ENTITIES}`;
        t.publish(stateChanged(entityId, String(n), { room: "kitchen", attributes: { padding: PADDING } }));
        published.set(entityId, String(n));
      }
      maxDepth = Math.max(maxDepth, slow.queue.depth);
      maxQueuedBytes = Math.max(maxQueuedBytes, slow.queue.queuedBytes);
      // Every other client has this whole batch before the next one is published: the slow one delays nobody.
      const last = t.hub.lastSeq();
      await Promise.all(fast.map((client) => client.next((m) => m.seq === last, 30_000)));
    }

    for (const client of fast) {
      const seqs = stateSeqs(client);
      expect(seqs).toHaveLength(EVENTS);
      expect(seqs.every((seq, i) => i === 0 || seq === (seqs[i - 1] ?? 0) + 1)).toBe(true);
    }
    // The server's memory for the slow client stays within its queue bounds, and congestion was real.
    expect(maxDepth).toBeLessThanOrEqual(max_messages);
    expect(maxQueuedBytes).toBeLessThanOrEqual(max_bytes);
    // The replay history every client shares stays within its own budget too.
    expect(t.server.delivery.ring.sizeBytes()).toBeLessThanOrEqual(t.config.server.replay.max_bytes);
    const summary = slow.summary();
    expect(summary.conflated).toBeGreaterThan(0);
    expect(summary.dropped).toBe(0);
    expect(slowClient.closeCode).toBeNull();

    slowClient.ws.resume();
    await expect.poll(() => latestStates(slowClient), { timeout: 30_000, interval: 50 }).toEqual(published);
    const seqs = stateSeqs(slowClient);
    expect(seqs.every((seq, i) => i === 0 || seq > (seqs[i - 1] ?? 0))).toBe(true);
    expect(seqs.length).toBeLessThan(EVENTS);
  });

  it("is closed with 4008 when its queue makes no progress past the deadline, and others are unaffected", async () => {
    await t.stop();
    t = await startTestServer({
      tune: (config) => ({
        ...config,
        server: { ...config.server, queue: { ...config.server.queue, stuck_timeout_seconds: 0.3 } },
      }),
    });
    const other = await follower("other");
    const stuck = await follower("stuck");
    stuck.ws.pause();
    const connection = t.server.clients().find((c) => c.id === "stuck");
    if (connection === undefined) throw new Error("the stuck client is not connected");
    // Publish (paced by the reading client) until the server gives up on the stuck one.
    for (let n = 1; !connection.isClosed && n < 500_000; n += 1) {
      t.publish(
        stateChanged(`sensor.e${n % ENTITIES}`, String(n), {
          room: "kitchen",
          attributes: { padding: PADDING },
        }),
      );
      if (n % BATCH === 0) {
        const last = t.hub.lastSeq();
        await other.next((m) => m.seq === last, 30_000);
      }
    }
    expect(connection.isClosed).toBe(true);
    stuck.ws.resume();
    await stuck.closed;
    expect(stuck.closeCode).toBe(4008);
    expect(stuck.closeReason).toMatch(/resume/);
    expect(other.closeCode).toBeNull();
  });
});
