import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { PmaClient, type PmaMessage } from "../../src/client/index.js";
import { type PeerConnection, ScriptedPeer } from "./scripted-peer.js";

const NOW = "2026-01-01T12:00:00.000Z";
const FAST = { initialDelayMs: 10, maxDelayMs: 50, factor: 2, jitter: 0 };

function envelope(
  type: string,
  data: Record<string, unknown>,
  seq: number | null = null,
): Record<string, unknown> {
  return { type, data, timestamp: NOW, ...(seq === null ? {} : { seq }) };
}

/** A bridge that greets, accepts the token "good", and confirms every subscription. */
function bridgeLike(epoch: () => string) {
  return (c: PeerConnection): void => {
    c.send(
      envelope("welcome", {
        client_id: `c${Math.random().toString(36).slice(2, 8)}`,
        server_time: NOW,
        message: "hi",
        features: [],
        protocol_version: "1.0",
        epoch: epoch(),
        last_seq: 0,
        authentication_required: true,
      }),
    );
    c.reply("authenticate", (data) => {
      if (data.token === "good") {
        c.send(
          envelope("authentication_success", {
            client_id: "c",
            subject: "tester",
            capabilities: ["entities"],
            rooms: [],
          }),
        );
      } else
        c.send(envelope("authentication_failure", { code: "TOKEN_INVALID", message: "token is not valid" }));
    });
    for (const kind of ["ha_events", "ha_entities", "ha_rooms"]) {
      c.reply(`subscribe_${kind}`, (data) => {
        const items = (data.event_types ?? data.entity_ids ?? data.room_ids) as string[];
        c.send(
          envelope("subscription_update", {
            action: "subscribed",
            type: kind,
            items,
            total_subscriptions: items.length,
          }),
        );
      });
    }
  };
}

function stateChange(seq: number, entityId: string, state: string): Record<string, unknown> {
  return envelope(
    "pma_entity_state_changed",
    {
      entity_id: entityId,
      entity_type: "light",
      source: "homeassistant",
      old_state: "off",
      new_state: state,
      attributes: {},
    },
    seq,
  );
}

describe("PmaClient", () => {
  let peer: ScriptedPeer;
  let client: PmaClient | undefined;
  beforeEach(async () => {
    peer = await ScriptedPeer.start(bridgeLike(() => "epoch-1"));
  });
  afterEach(async () => {
    client?.close();
    await peer.stop();
  });

  it("authenticates with its token after the welcome and is ready once accepted", async () => {
    client = new PmaClient({ url: peer.url("/ws"), token: "good", reconnect: false, pingIntervalMs: 0 });
    await client.connect();
    const c = await peer.connection(1);
    expect(c.types()).toEqual(["authenticate"]);
    expect(client.welcome?.epoch).toBe("epoch-1");
    expect(client.isReady).toBe(true);
  });

  it("rejects connect() and stays closed when the bridge refuses the token", async () => {
    client = new PmaClient({ url: peer.url("/ws"), token: "bad", reconnect: FAST, pingIntervalMs: 0 });
    await expect(client.connect()).rejects.toMatchObject({ code: "AUTHENTICATION_FAILED" });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(peer.connections).toHaveLength(1);
  });

  it("resolves a subscription with the bridge's confirmation and routes typed messages to their listeners", async () => {
    client = new PmaClient({ url: peer.url("/ws"), token: "good", reconnect: false, pingIntervalMs: 0 });
    const changes: PmaMessage<"pma_entity_state_changed">[] = [];
    client.on("pma_entity_state_changed", (m) => changes.push(m));
    await client.connect();
    const update = await client.subscribeEntities(["light.kitchen"]);
    expect(update).toMatchObject({ action: "subscribed", type: "ha_entities", items: ["light.kitchen"] });
    const c = await peer.connection(1);
    c.send(stateChange(7, "light.kitchen", "on"));
    await expect.poll(() => changes.length).toBe(1);
    expect(changes[0]?.data.new_state).toBe("on");
    expect(changes[0]?.seq).toBe(7);
    expect(client.cursor).toEqual({ seq: 7, epoch: "epoch-1" });
  });

  it("reports a malformed frame without dropping the connection", async () => {
    client = new PmaClient({ url: peer.url("/ws"), token: "good", reconnect: false, pingIntervalMs: 0 });
    const invalid: string[] = [];
    const changes: string[] = [];
    client.on("invalid_frame", (error) => invalid.push(error));
    client.on("pma_entity_state_changed", (m) => changes.push(m.data.entity_id));
    await client.connect();
    const c = await peer.connection(1);
    c.send("{not json");
    c.send(envelope("pma_entity_state_changed", { entity_id: 5 }, 1));
    c.send(stateChange(2, "light.ok", "on"));
    await expect.poll(() => changes).toEqual(["light.ok"]);
    expect(invalid).toHaveLength(2);
    expect(invalid[1]).toContain("data.entity_id must be string");
  });

  it("after a drop, reconnects, restores every subscription and resumes from its last seq and epoch", async () => {
    client = new PmaClient({ url: peer.url("/ws"), token: "good", reconnect: FAST, pingIntervalMs: 0 });
    const disconnects: (number | null)[] = [];
    client.on("disconnected", (info) => disconnects.push(info.reconnectInMs));
    await client.connect();
    await client.subscribeEvents(["state_changed"], { domains: ["light"] });
    await client.subscribeEvents(["prediction_update"]);
    await client.subscribeRooms(["kitchen"]);
    const first = await peer.connection(1);
    first.send(stateChange(41, "light.a", "on"));
    await expect.poll(() => client?.cursor?.seq).toBe(41);

    first.ws.terminate();
    const second = await peer.connection(2);
    // On the URL, so the bridge holds live messages until the replay ran; `resume` confirms the same cursor.
    expect(second.path).toBe("/ws?last_seq=41&epoch=epoch-1");
    const resume = await second.next("resume");
    expect(resume.data).toEqual({ last_seq: 41, epoch: "epoch-1" });
    expect(disconnects).toHaveLength(1);
    expect(disconnects[0]).not.toBeNull();
    const restored = second.received.filter((m) => m.type.startsWith("subscribe_")).map((m) => m.data);
    expect(restored).toEqual(
      expect.arrayContaining([
        { event_types: ["state_changed"], filters: { domains: ["light"] } },
        { event_types: ["prediction_update"] },
        { room_ids: ["kitchen"] },
      ]),
    );
    // Restoration and resume come after authentication, so the bridge applies them to the right principal.
    expect(second.types().indexOf("authenticate")).toBe(0);
    expect(second.types().at(-1)).toBe("resume");
    await client.whenReady();
  });

  it("keeps no subscription it gave up and sends no resume before it has seen an event", async () => {
    client = new PmaClient({ url: peer.url("/ws"), token: "good", reconnect: FAST, pingIntervalMs: 0 });
    await client.connect();
    await client.subscribeEntities(["light.a", "light.b"]);
    const c1 = await peer.connection(1);
    c1.reply("unsubscribe_ha_entities", (data) =>
      c1.send(
        envelope("subscription_update", {
          action: "unsubscribed",
          type: "ha_entities",
          items: data.entity_ids,
          total_subscriptions: 1,
        }),
      ),
    );
    await client.unsubscribeEntities(["light.a"]);
    c1.ws.terminate();
    const second = await peer.connection(2);
    await second.next("subscribe_ha_entities");
    await client.whenReady();
    expect(second.received.find((m) => m.type === "subscribe_ha_entities")?.data).toEqual({
      entity_ids: ["light.b"],
    });
    expect(second.types()).not.toContain("resume");
  });

  it("restores its subscriptions once when the bridge vouches for the user before answering the token (ingress)", async () => {
    await peer.stop();
    peer = await ScriptedPeer.start((c) => {
      bridgeLike(() => "epoch-1")(c);
      c.send(
        envelope("authentication_success", {
          client_id: "c",
          subject: "ha:alex",
          capabilities: ["admin"],
          rooms: [],
        }),
      );
    });
    client = new PmaClient({ url: peer.url("/ws"), token: "good", reconnect: FAST, pingIntervalMs: 0 });
    await client.connect();
    await client.subscribeEntities(["light.a"]);
    (await peer.connection(1)).ws.terminate();
    const second = await peer.connection(2);
    await second.next("authenticate");
    await expect.poll(() => client?.subject).toBe("tester");
    expect(second.types().filter((t) => t === "subscribe_ha_entities")).toHaveLength(1);
  });

  it("resumes from a cursor it was given on its very first connection", async () => {
    client = new PmaClient({
      url: peer.url("/ws"),
      token: "good",
      reconnect: false,
      pingIntervalMs: 0,
      resumeFrom: { seq: 0, epoch: null },
    });
    await client.connect();
    const connection = await peer.connection(1);
    expect(connection.path).toBe("/ws?last_seq=0");
    expect((await connection.next("resume")).data).toEqual({ last_seq: 0, epoch: null });
  });

  it("pings on its interval and redials a connection that stopped answering", async () => {
    client = new PmaClient({ url: peer.url("/ws"), token: "good", reconnect: FAST, pingIntervalMs: 30 });
    await client.connect();
    const first = await peer.connection(1);
    await first.next("ping");
    // The peer never answers pings: after two silent intervals the client drops and dials again.
    await peer.connection(2);
  });

  it("redials a peer that froze, without waiting for a closing handshake it will never finish", async () => {
    client = new PmaClient({ url: peer.url("/ws"), token: "good", reconnect: FAST, pingIntervalMs: 30 });
    await client.connect();
    const first = await peer.connection(1);
    await first.next("ping");
    // The peer's process stops: nothing it receives is read any more, not even the close frame.
    first.freeze();
    await peer.connection(2);
  });

  describe("a server that sends what it should not", () => {
    it("keeps an epoch that is not a string out of the next connection's URL", async () => {
      await peer.stop();
      peer = await ScriptedPeer.start(bridgeLike(() => ({ toString: 1 }) as unknown as string));
      client = new PmaClient({ url: peer.url("/ws"), token: "good", reconnect: FAST, pingIntervalMs: 0 });
      await client.connect();
      const first = await peer.connection(1);
      first.send(envelope("system_status", { status: "healthy" }, 5));
      await new Promise((resolve) => client?.once("system_status", () => resolve(undefined)));
      first.ws.terminate();
      expect((await peer.connection(2)).path).toBe("/ws?last_seq=5");
    });

    it("reports a frame its parser cannot even walk (a snapshot nested 20,000 deep) as invalid", async () => {
      client = new PmaClient({ url: peer.url("/ws"), token: "good", reconnect: false, pingIntervalMs: 0 });
      await client.connect();
      // Built as text: serialising such an object would overflow the test's own stack.
      const open =
        '{"type":"snapshot","timestamp":"t","data":{"reason":"gap_too_old","epoch":"e","last_seq":1,"events":[';
      const text = `${open.repeat(20_000)}{"type":"pong","data":{},"timestamp":"t"}${"]}}".repeat(20_000)}`;
      const invalid = new Promise<string>((resolve) =>
        client?.once("invalid_frame", (error) => resolve(error)),
      );
      (await peer.connection(1)).ws.send(text);
      expect(await invalid).toContain("unreadable frame");
    });

    it("treats a WebSocket that cannot even be built as a failed attempt, and tries again", async () => {
      let built = 0;
      class Refusing extends WebSocket {
        constructor(url: string | URL) {
          built += 1;
          if (built === 1) throw new SyntaxError("refused by the platform");
          super(url);
        }
      }
      client = new PmaClient({
        url: peer.url("/ws"),
        token: "good",
        reconnect: FAST,
        pingIntervalMs: 0,
        WebSocket: Refusing,
      });
      const closes: number[] = [];
      client.on("disconnected", (info) => closes.push(info.code));
      await client.connect();
      expect(closes).toEqual([1006]);
      expect(built).toBe(2);
    });
  });

  it("rejects pending work and stops reconnecting when closed", async () => {
    client = new PmaClient({ url: peer.url("/ws"), token: "good", reconnect: FAST, pingIntervalMs: 0 });
    await client.connect();
    (await peer.connection(1)).reply("subscribe_ha_entities", () => undefined);
    const pending = client.subscribeEntities(["light.a"]);
    await (await peer.connection(1)).next("subscribe_ha_entities");
    client.close();
    await expect(pending).rejects.toMatchObject({ code: "CLIENT_CLOSED" });
    await expect(client.whenReady()).rejects.toMatchObject({ code: "CLIENT_CLOSED" });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(peer.connections).toHaveLength(1);
  });
});
