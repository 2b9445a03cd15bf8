import { describe, expect, it } from "vitest";
import { DeliveryStore, type PendingAck } from "../../../src/core/delivery/store.js";
import { tempDataDir } from "./fixtures.js";

function pending(overrides: Partial<PendingAck> = {}): PendingAck {
  return {
    identity: "key:tablet",
    messageId: "m1",
    seq: 1,
    frame: '{"message_id":"m1"}',
    attempts: 1,
    firstSentAt: 100,
    nextAttemptAt: 200,
    ...overrides,
  };
}

describe("DeliveryStore", () => {
  it("keeps pending messages across a close and reopen of the same directory", () => {
    const dir = tempDataDir();
    const first = DeliveryStore.open(dir);
    first.insertPending(pending());
    first.setMeta("epoch", "e1");
    first.close();
    const second = DeliveryStore.open(dir);
    expect(second.pendingFor("key:tablet", 10)).toEqual([pending()]);
    expect(second.getMeta("epoch")).toBe("e1");
    second.close();
  });

  it("tells acknowledged, duplicate, unknown and expired acknowledges apart", () => {
    const store = DeliveryStore.open(":memory:");
    store.insertPending(pending());
    store.insertPending(pending({ messageId: "m2" }));
    expect(store.acknowledge("key:tablet", "m1", 300)).toBe("acknowledged");
    expect(store.acknowledge("key:tablet", "m1", 301)).toBe("duplicate");
    expect(store.acknowledge("key:other", "m1", 301)).toBe("unknown");
    store.markUndeliverable("key:tablet", "m2", 302);
    expect(store.acknowledge("key:tablet", "m2", 303)).toBe("expired");
    expect(store.countPending()).toBe(0);
  });

  it("does not insert the same message twice for one identity", () => {
    const store = DeliveryStore.open(":memory:");
    expect(store.insertPending(pending())).toBe(true);
    expect(store.insertPending(pending({ frame: "changed" }))).toBe(false);
    expect(store.insertPending(pending({ identity: "key:other" }))).toBe(true);
    expect(store.countPending()).toBe(2);
  });

  it("lists what is due, soonest first", () => {
    const store = DeliveryStore.open(":memory:");
    store.insertPending(pending({ messageId: "late", nextAttemptAt: 500 }));
    store.insertPending(pending({ messageId: "soon", nextAttemptAt: 150 }));
    store.insertPending(pending({ messageId: "mid", nextAttemptAt: 300 }));
    expect(store.due(400, 10).map((p) => p.messageId)).toEqual(["soon", "mid"]);
  });

  it("purges closed rows older than the retention, never pending ones", () => {
    const store = DeliveryStore.open(":memory:");
    store.insertPending(pending({ messageId: "a" }));
    store.insertPending(pending({ messageId: "b" }));
    store.acknowledge("key:tablet", "a", 1_000);
    expect(store.purgeClosed(2_000)).toBe(1);
    expect(store.acknowledge("key:tablet", "a", 2_001)).toBe("unknown");
    expect(store.countPending()).toBe(1);
  });

  it("saves and loads the replay history", () => {
    const store = DeliveryStore.open(":memory:");
    store.saveRing([
      { seq: 1, timeMs: 10, json: "{}" },
      { seq: 2, timeMs: 11, json: "{}" },
    ]);
    store.saveRing([{ seq: 3, timeMs: 12, json: '{"seq":3}' }]);
    expect(store.loadRing()).toEqual([{ seq: 3, timeMs: 12, json: '{"seq":3}' }]);
  });

  it("rolls a failed transaction back", () => {
    const store = DeliveryStore.open(":memory:");
    expect(() =>
      store.transaction(() => {
        store.insertPending(pending());
        throw new Error("boom");
      }),
    ).toThrow("boom");
    expect(store.countPending()).toBe(0);
  });
});
