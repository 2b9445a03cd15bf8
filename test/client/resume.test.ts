import { afterEach, describe, expect, it } from "vitest";
import {
  type BaseClientOptions,
  OccupancyClient,
  type OccupancyMessage,
  PmaClient,
  type PmaMessage,
} from "../../src/client/index.js";
import { prediction, stateChanged } from "../helpers/ws-events.js";
import { FixtureHome } from "../helpers/ws-home.js";
import { ADMIN_KEY, startTestServer, type TestServer } from "../helpers/ws-server.js";

/** Reconnects fast; no ping timer to outlive a test. */
const FAST: BaseClientOptions["reconnect"] = { initialDelayMs: 20, maxDelayMs: 100, factor: 2, jitter: 0 };
const WAIT = { timeout: 10_000 };

let t: TestServer;
const clients: { close(): void }[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await t.stop();
});

function pma(options: Partial<ConstructorParameters<typeof PmaClient>[0]> = {}): PmaClient {
  const client = new PmaClient({
    url: t.url("/ws"),
    token: ADMIN_KEY,
    reconnect: FAST,
    pingIntervalMs: 0,
    ...options,
  });
  clients.push(client);
  return client;
}

function occupancy(path: string): OccupancyClient {
  const client = new OccupancyClient({
    url: t.url(path),
    apiKey: ADMIN_KEY,
    clientName: "planner",
    reconnect: FAST,
  });
  clients.push(client);
  return client;
}

/** The lifecycle events both clients share, as these helpers use them. */
interface Observable<M> {
  on(event: "message", listener: (message: M) => void): unknown;
  on(event: "invalid_frame", listener: (error: string) => void): unknown;
  once(event: "disconnected", listener: () => void): unknown;
}

/** Every message the client receives and every frame it refused, in order. */
function record<M>(client: Observable<M>): { messages: M[]; invalid: string[] } {
  const messages: M[] = [];
  const invalid: string[] = [];
  client.on("message", (m) => messages.push(m));
  client.on("invalid_frame", (error) => invalid.push(error));
  return { messages, invalid };
}

/** Connects and waits until the bridge confirmed the subscriptions given up front (ready does not wait). */
async function connected(client: PmaClient): Promise<void> {
  const confirmed = new Promise((resolve) => client.once("subscription_update", resolve));
  await client.connect();
  await confirmed;
}

/** Resolves on the next `disconnected` event: still before the reconnect timer can fire. */
function dropped(client: Observable<unknown>): Promise<void> {
  return new Promise((resolve) => client.once("disconnected", () => resolve()));
}

/** Closes every connection the bridge holds, as a restart of a proxy or a 4008 would. */
function dropAll(): void {
  for (const connection of t.server.clients()) connection.close(1012, "test drop");
}

describe("PmaClient resuming against a real bridge", () => {
  it("receives a typed snapshot when the replay ring lost its history, and resumes after it", async () => {
    t = await startTestServer({ home: new FixtureHome(), config: { server: { replay: { size: 50 } } } });
    const client = pma({ subscriptions: { rooms: ["kitchen"] } });
    const { messages, invalid } = record<PmaMessage>(client);
    await connected(client);
    t.publish(stateChanged("light.kitchen", "on", { room: "kitchen" }));
    await expect.poll(() => client.cursor?.seq, WAIT).toBe(t.hub.lastSeq());

    const gone = dropped(client);
    dropAll();
    await gone;
    for (let i = 0; i < 200; i += 1)
      t.publish(stateChanged(`sensor.bedroom_${i % 5}`, String(i), { room: "bedroom" }));

    const snapshot = await new Promise<PmaMessage<"snapshot">>((resolve) => client.once("snapshot", resolve));
    expect(snapshot.data).toMatchObject({
      reason: "gap_too_old",
      epoch: t.hub.epoch,
      last_seq: t.hub.lastSeq(),
    });
    const entities = snapshot.data.events.flatMap((m) =>
      m.type === "pma_entity_state_changed" ? [m.data.entity_id] : [],
    );
    expect(entities.sort()).toEqual([
      "binary_sensor.kitchen_motion",
      "binary_sensor.kitchen_presence",
      "binary_sensor.kitchen_window",
      "light.kitchen",
    ]);
    expect(client.cursor).toEqual({ seq: t.hub.lastSeq(), epoch: t.hub.epoch });

    t.publish(stateChanged("light.kitchen", "off", { room: "kitchen" }));
    await expect.poll(() => client.cursor?.seq, WAIT).toBe(t.hub.lastSeq());
    expect(messages.at(-1)).toMatchObject({ type: "pma_entity_state_changed", seq: t.hub.lastSeq() });
    expect(invalid).toEqual([]);
  });

  it("leaves a lost epoch with the snapshot's cursor, so the next reconnect gets a replay, not another snapshot", async () => {
    t = await startTestServer({ home: new FixtureHome() });
    t.publish(stateChanged("light.kitchen", "on", { room: "kitchen" }));
    const client = pma({
      resumeFrom: { seq: 1, epoch: "a-lost-epoch" },
      subscriptions: { rooms: ["kitchen"] },
    });
    const { messages, invalid } = record<PmaMessage>(client);
    const snapshot = new Promise<PmaMessage<"snapshot">>((resolve) => client.once("snapshot", resolve));
    await client.connect();
    expect((await snapshot).data.reason).toBe("epoch_changed");
    expect(client.cursor).toEqual({ seq: t.hub.lastSeq(), epoch: t.hub.epoch });

    const gone = dropped(client);
    dropAll();
    await gone;
    t.publish(stateChanged("light.kitchen", "off", { room: "kitchen" }));
    const missed = t.hub.lastSeq();
    const status = await new Promise<PmaMessage<"resume_status">>((resolve) =>
      client.once("resume_status", resolve),
    );
    expect(status.data).toMatchObject({
      result: "replayed",
      replayed: 1,
      last_seq: missed,
      epoch: t.hub.epoch,
    });
    expect(messages.filter((m) => m.type === "snapshot")).toHaveLength(1);
    expect(invalid).toEqual([]);
  });

  it("holds the subscriptions given up front, so the first resume replays what they match", async () => {
    t = await startTestServer();
    t.publish(stateChanged("light.kitchen", "on", { room: "kitchen" }));
    t.publish(stateChanged("light.bedroom", "on", { room: "bedroom" }));
    t.publish(stateChanged("light.kitchen", "off", { room: "kitchen" }));
    const client = pma({ resumeFrom: { seq: 0, epoch: null }, subscriptions: { rooms: ["kitchen"] } });
    const { messages } = record<PmaMessage>(client);
    const status = new Promise<PmaMessage<"resume_status">>((resolve) =>
      client.once("resume_status", resolve),
    );
    await client.connect();
    expect((await status).data).toMatchObject({ from_seq: 0, replayed: 2, last_seq: 3 });
    const replayed = messages.flatMap((m) =>
      m.type === "pma_entity_state_changed" ? [[m.seq, m.data.new_state]] : [],
    );
    expect(replayed).toEqual([
      [1, "on"],
      [3, "off"],
    ]);
  });
});

/** Seqs of the event messages received, with `resume_status` as a marker (-1). */
function order(messages: readonly (PmaMessage | OccupancyMessage)[]): number[] {
  return messages.flatMap((m) => {
    const type = "type" in m ? m.type : m.message_type;
    if (type === "resume_status") return [-1];
    return m.seq === null ? [] : [m.seq];
  });
}

/**
 * The missed seqs are replayed first (with anything the bridge held back meanwhile), then `resume_status`, then
 * live seqs: all rising, none twice.
 */
function expectStrictOrder(seqs: readonly number[], missed: readonly number[]): void {
  const marker = seqs.indexOf(-1);
  expect(marker).toBeGreaterThan(-1);
  const before = seqs.slice(0, marker);
  const after = seqs.slice(marker + 1);
  expect(before.slice(0, missed.length)).toEqual(missed);
  const all = [...before, ...after];
  expect(all).toEqual([...all].sort((a, b) => a - b));
  expect(new Set(all).size).toBe(all.length);
  expect(after.length).toBeGreaterThan(0);
}

describe("resume order", () => {
  it("occupancy: replayed messages come strictly before live ones published during the authentication round trip", async () => {
    t = await startTestServer();
    const client = occupancy("/ws/predictions");
    const { messages, invalid } = record<OccupancyMessage>(client);
    await client.connect();
    t.publish(prediction("kitchen", "2030-01-01T00:00:00.000Z"));
    await expect.poll(() => client.cursor?.seq, WAIT).toBe(t.hub.lastSeq());

    const gone = dropped(client);
    dropAll();
    await gone;
    const missed: number[] = [];
    for (let i = 0; i < 20; i += 1) {
      t.publish(prediction(i % 2 === 0 ? "kitchen" : "bedroom", "2030-01-01T00:00:00.000Z"));
      missed.push(t.hub.lastSeq());
    }
    // Live events while the client handles the authentication reply: the bridge has subscribed its endpoint.
    const live = (): void => t.publish(prediction("bedroom", "2030-01-02T00:00:00.000Z"));
    client.on("authentication", live);
    client.on("resume_status", live);
    await new Promise((resolve) => client.once("resume_status", resolve));
    await expect.poll(() => client.cursor?.seq, WAIT).toBe(t.hub.lastSeq());

    const seqs = order(messages.slice(messages.findLastIndex((m) => m.message_type === "connection")));
    expectStrictOrder(seqs, missed);
    expect(invalid).toEqual([]);
  });

  it("pma: replayed messages come strictly before live ones published while the client restores its subscriptions", async () => {
    t = await startTestServer();
    const client = pma({ subscriptions: { events: ["prediction_update"] } });
    const { messages, invalid } = record<PmaMessage>(client);
    await connected(client);
    t.publish(prediction("kitchen", "2030-01-01T00:00:00.000Z"));
    await expect.poll(() => client.cursor?.seq, WAIT).toBe(t.hub.lastSeq());

    const gone = dropped(client);
    dropAll();
    await gone;
    const missed: number[] = [];
    for (let i = 0; i < 20; i += 1) {
      t.publish(prediction("kitchen", "2030-01-01T00:00:00.000Z"));
      missed.push(t.hub.lastSeq());
    }
    const live = (): void => t.publish(prediction("bedroom", "2030-01-02T00:00:00.000Z"));
    client.on("authentication_success", live);
    client.on("subscription_update", live);
    client.on("resume_status", live);
    await new Promise((resolve) => client.once("resume_status", resolve));
    await expect.poll(() => client.cursor?.seq, WAIT).toBe(t.hub.lastSeq());

    const seqs = order(messages.slice(messages.findLastIndex((m) => m.type === "welcome")));
    expectStrictOrder(seqs, missed);
    expect(invalid).toEqual([]);
  });
});
