import {
  chmodSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  truncateSync,
  writeFileSync,
} from "node:fs";
import { basename, join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { describe, expect, it } from "vitest";
import { DELIVERY_DB_FILE, DeliveryStore, type PendingAck } from "../../../src/core/delivery/store.js";
import { stateEvent, tempDataDir } from "./fixtures.js";

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
    store.saveRing([stored(1, 10), stored(2, 11)]);
    store.saveRing([stored(3, 12)]);
    expect(store.loadRing()).toEqual({ events: [stored(3, 12)], damaged: [] });
  });

  it.each([
    ["null", "null"],
    ["cut-off JSON", "{not json"],
    ["an event of another seq", JSON.stringify(stateEvent(7))],
    ["an object that is not an event", '{"seq":2}'],
  ])("reports a replay-history row holding %s as damaged instead of throwing", (_name, json) => {
    const dir = tempDataDir();
    const store = DeliveryStore.open(dir);
    store.saveRing([stored(1, 10), stored(2, 11), stored(3, 12)]);
    store.close();
    editDatabase(dir, `UPDATE ring SET event = '${json.replaceAll("'", "''")}' WHERE seq = 2`);
    const reopened = DeliveryStore.open(dir);
    expect(reopened.loadRing()).toEqual({ events: [stored(1, 10), stored(3, 12)], damaged: [2] });
    reopened.close();
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

  it("rethrows the real error when SQLite already rolled the transaction back (disk full)", () => {
    const store = DeliveryStore.open(tempDataDir());
    // A full SD card cannot be made in a test; a page limit makes SQLite fail with the same SQLITE_FULL.
    const db = (store as unknown as { db: DatabaseSync }).db;
    const pages = Number(db.prepare("PRAGMA page_count").get()?.page_count);
    db.exec(`PRAGMA max_page_count = ${pages}`);
    const big = Array.from({ length: 50 }, (_, i) => ({ ...stored(i + 1, 10), json: "x".repeat(4_000) }));
    expect(() => store.saveRing(big)).toThrow(/database or disk is full/);
    db.exec("PRAGMA max_page_count = 1000000");
    // Nothing is left half-open: the next transaction works.
    store.saveRing([stored(1, 10)]);
    expect(store.loadRing().events).toEqual([stored(1, 10)]);
    store.close();
  });
});

describe("DeliveryStore.open on a damaged or unusable file", () => {
  it("moves a file that is not a database aside, keeps it for the user and starts empty", () => {
    const dir = tempDataDir();
    const garbage = Buffer.from("this is not an SQLite database ".repeat(300));
    writeFileSync(join(dir, DELIVERY_DB_FILE), garbage);
    const store = DeliveryStore.open(dir);
    expect(store.recovery?.reason).toMatch(/file is not a database/);
    const movedTo = store.recovery?.movedTo ?? "";
    expect(basename(movedTo)).toMatch(/^delivery\.sqlite\.corrupt-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d-\d{3}Z$/);
    expect(readFileSync(movedTo)).toEqual(garbage);
    expect(store.countPending()).toBe(0);
    store.insertPending(pending());
    store.close();
    const reopened = DeliveryStore.open(dir);
    expect(reopened.recovery).toBeUndefined();
    expect(reopened.countPending()).toBe(1);
    reopened.close();
  });

  it("moves a truncated database aside (database disk image is malformed)", () => {
    const dir = tempDataDir();
    const store = DeliveryStore.open(dir);
    store.saveRing(Array.from({ length: 200 }, (_, i) => stored(i + 1, 10)));
    store.close();
    const file = join(dir, DELIVERY_DB_FILE);
    truncateSync(file, Math.floor(statSync(file).size * 0.6));
    const reopened = DeliveryStore.open(dir);
    expect(reopened.recovery?.reason).toMatch(/malformed/);
    expect(reopened.loadRing()).toEqual({ events: [], damaged: [] });
    reopened.close();
  });

  it("moves a database with a damaged page aside, carrying over the seq reservation it still shows", () => {
    const dir = tempDataDir();
    const store = DeliveryStore.open(dir);
    store.setMeta("seq_reserved", "10200");
    store.saveRing(Array.from({ length: 200 }, (_, i) => stored(i + 1, 10)));
    store.close();
    scribbleLastPage(join(dir, DELIVERY_DB_FILE));
    const reopened = DeliveryStore.open(dir);
    expect(reopened.recovery?.reason).toMatch(/malformed/);
    expect(reopened.getMeta("seq_reserved")).toBe("10200");
    reopened.close();
  });

  it("fails with the cause, and moves nothing, when a directory is in the way", () => {
    const dir = tempDataDir();
    mkdirSync(join(dir, DELIVERY_DB_FILE));
    expect(() => DeliveryStore.open(dir)).toThrow(
      /^cannot open the delivery database in .+: unable to open database file/,
    );
    expect(readdirSync(dir)).toEqual([DELIVERY_DB_FILE]);
  });

  it("fails with the cause when the data directory is a file", () => {
    const file = join(tempDataDir(), "data");
    writeFileSync(file, "");
    expect(() => DeliveryStore.open(file)).toThrow(/^cannot open the delivery database in .+: EEXIST/);
  });

  it.skipIf(process.getuid?.() === 0)("fails with the cause when the data directory is not writable", () => {
    const dir = tempDataDir();
    chmodSync(dir, 0o500);
    try {
      expect(() => DeliveryStore.open(dir)).toThrow(
        /^cannot open the delivery database in .+: unable to open/,
      );
    } finally {
      chmodSync(dir, 0o700);
    }
  });

  it("fails with the cause, and leaves the file alone, for tables of an older layout", () => {
    const dir = tempDataDir();
    editDatabase(dir, "CREATE TABLE acks (identity TEXT, message_id TEXT, frame TEXT)");
    expect(() => DeliveryStore.open(dir)).toThrow(
      /^cannot open the delivery database in .+: table acks has no column seq/,
    );
    expect(readdirSync(dir)).toEqual([DELIVERY_DB_FILE]);
  });
});

function stored(seq: number, timeMs: number): { seq: number; timeMs: number; json: string } {
  return { seq, timeMs, json: JSON.stringify(stateEvent(seq)) };
}

/** Changes the database file behind the store's back, as a damaged SD card or an older version would. */
function editDatabase(dir: string, sql: string): void {
  const db = new DatabaseSync(join(dir, DELIVERY_DB_FILE));
  db.exec(sql);
  db.close();
}

/** Overwrites the file's last page with junk: what a flipped or torn write leaves behind. */
function scribbleLastPage(file: string): void {
  const bytes = readFileSync(file);
  bytes.fill(0xab, bytes.length - 4096);
  writeFileSync(file, bytes);
}
