import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { describe, expect, it } from "vitest";
import { configSchema } from "../../../src/config/schema.js";
import { Delivery } from "../../../src/core/delivery/delivery.js";
import { DELIVERY_DB_FILE, DeliveryStore } from "../../../src/core/delivery/store.js";
import type { BridgeEvent } from "../../../src/core/events.js";
import { type Logger, silentLogger } from "../../../src/core/logger.js";
import { capturingLogger, stateEvent, tempDataDir } from "./fixtures.js";

function deliveryIn(dataDir: string, replaySize = 100, log: Logger = silentLogger()): Delivery {
  const config = configSchema.parse({ data_dir: dataDir, server: { replay: { size: replaySize } } });
  return new Delivery(config, log);
}

/** Changes the database file between two runs, as a damaged SD card would. */
function editDatabase(dir: string, sql: string): void {
  const db = new DatabaseSync(join(dir, DELIVERY_DB_FILE));
  db.exec(sql);
  db.close();
}

function metaOf(dir: string, key: string): string | undefined {
  const store = DeliveryStore.open(dir);
  try {
    return store.getMeta(key);
  } finally {
    store.close();
  }
}

/** Replays everything after `fromSeq` the way a resuming connection does, with room for all of it. */
function replayed(delivery: Delivery, fromSeq: number): { step: string; seqs: number[] } {
  const seqs: number[] = [];
  const catchUp = delivery.catchUp(
    fromSeq,
    () => true,
    (event: BridgeEvent) => seqs.push(event.seq),
    () => true,
  );
  return { step: catchUp.pump(), seqs };
}

async function run(delivery: Delivery, from: number, to: number): Promise<void> {
  await delivery.start();
  const { epoch } = delivery.numbering();
  for (let seq = from; seq <= to; seq += 1) delivery.observe({ ...stateEvent(seq), epoch });
}

describe("Delivery", () => {
  it("starts a first run at seq 0 with a new epoch", async () => {
    const delivery = deliveryIn(tempDataDir());
    await delivery.start();
    expect(delivery.numbering()).toMatchObject({ lastSeq: 0, epochStartSeq: 1, continued: false });
    await delivery.stop();
  });

  it("keeps the epoch and the replay history across a graceful stop", async () => {
    const dir = tempDataDir();
    const first = deliveryIn(dir);
    await run(first, 1, 30);
    const { epoch } = first.numbering();
    await first.stop();

    const second = deliveryIn(dir);
    await second.start();
    expect(second.numbering()).toMatchObject({ epoch, lastSeq: 30, continued: true });
    expect(second.plan({ lastSeq: 10, epoch })).toEqual({ kind: "replay" });
    expect(second.ring.since(27)?.map((e) => e.seq)).toEqual([28, 29, 30]);
    await second.stop();
  });

  it("opens a new epoch above every issued seq after a crash", async () => {
    const dir = tempDataDir();
    const crashed = deliveryIn(dir);
    await run(crashed, 1, 30);
    const { epoch } = crashed.numbering();
    // No stop(): the process died. A second instance opens the same directory.
    const next = deliveryIn(dir);
    await next.start();
    const numbering = next.numbering();
    expect(numbering.epoch).not.toBe(epoch);
    expect(numbering.continued).toBe(false);
    expect(numbering.lastSeq).toBeGreaterThanOrEqual(30);
    expect(next.plan({ lastSeq: 30, epoch })).toEqual({ kind: "snapshot", reason: "epoch_changed" });
    expect(next.plan({ lastSeq: 30, epoch: undefined })).toEqual({
      kind: "snapshot",
      reason: "epoch_changed",
    });
    await next.stop();
  });

  it("a crash after a graceful restart still changes the epoch", async () => {
    const dir = tempDataDir();
    const first = deliveryIn(dir);
    await run(first, 1, 5);
    await first.stop();
    const second = deliveryIn(dir);
    await run(second, 6, 8);
    const { epoch } = second.numbering();
    const third = deliveryIn(dir);
    await third.start();
    expect(third.numbering().epoch).not.toBe(epoch);
    expect(third.numbering().lastSeq).toBeGreaterThanOrEqual(8);
    await third.stop();
  });

  it.each([
    ["null", "null"],
    ["cut-off JSON", "{not json"],
  ])(
    "skips a replay-history row holding %s: resumes across it get a snapshot, later ones a replay",
    async (_name, json) => {
      const dir = tempDataDir();
      const first = deliveryIn(dir);
      await run(first, 1, 30);
      const { epoch } = first.numbering();
      await first.stop();
      editDatabase(dir, `UPDATE ring SET event = '${json}' WHERE seq = 20`);

      const { log, lines } = capturingLogger();
      const second = deliveryIn(dir, 100, log);
      await second.start();
      expect(second.numbering()).toMatchObject({ epoch, lastSeq: 30, continued: true });
      expect(second.plan({ lastSeq: 10, epoch })).toEqual({ kind: "snapshot", reason: "gap_too_old" });
      expect(second.plan({ lastSeq: 20, epoch })).toEqual({ kind: "replay" });
      expect(replayed(second, 20)).toEqual({
        step: "caught_up",
        seqs: [21, 22, 23, 24, 25, 26, 27, 28, 29, 30],
      });
      expect(lines).toContainEqual(
        expect.objectContaining({ level: "warn", damaged: 1, msg: expect.stringMatching(/damaged/) }),
      );
      await second.stop();
    },
  );

  it.each([
    ["last_seq", "abc"],
    ["last_seq", "NaN"],
    ["last_seq", "-5"],
    ["seq_reserved", "1e17"],
    ["seq_reserved", "NaN"],
    ["ring_floor", "9007199254740993"],
    ["epoch_start_seq", "1.5"],
    ["epoch", "not an epoch"],
  ])("starts a new epoch with a warning when the saved %s is %j", async (key, value) => {
    const dir = tempDataDir();
    const first = deliveryIn(dir);
    await run(first, 1, 30);
    const { epoch } = first.numbering();
    await first.stop();
    editDatabase(dir, `UPDATE meta SET value = '${value}' WHERE key = '${key}'`);

    const { log, lines } = capturingLogger();
    const second = deliveryIn(dir, 100, log);
    await run(second, 0, -1);
    const numbering = second.numbering();
    expect(numbering.epoch).not.toBe(epoch);
    expect(numbering.continued).toBe(false);
    expect(Number.isSafeInteger(numbering.lastSeq)).toBe(true);
    expect(numbering.lastSeq).toBeGreaterThanOrEqual(30);
    expect(numbering.lastSeq).toBeLessThan(1e15);
    expect(second.plan({ lastSeq: 30, epoch })).toEqual({ kind: "snapshot", reason: "epoch_changed" });
    expect(lines).toContainEqual(
      expect.objectContaining({ level: "warn", invalid: [key], msg: expect.stringMatching(/new epoch/) }),
    );
    // Numbering goes on from there and is saved as plain numbers again.
    const next = numbering.lastSeq + 1;
    second.observe({ ...stateEvent(next), epoch: numbering.epoch });
    await second.stop();
    expect(metaOf(dir, "last_seq")).toBe(String(next));
    expect(metaOf(dir, "seq_reserved")).toMatch(/^[1-9]\d*$/);
  });

  it("moves a damaged database aside with a warning and starts a new epoch above the seqs it still shows", async () => {
    const dir = tempDataDir();
    const first = deliveryIn(dir);
    await run(first, 1, 300);
    const { epoch } = first.numbering();
    await first.stop();
    const file = join(dir, DELIVERY_DB_FILE);
    const bytes = readFileSync(file);
    bytes.fill(0xab, bytes.length - 4096);
    writeFileSync(file, bytes);

    const { log, lines } = capturingLogger();
    const second = deliveryIn(dir, 100, log);
    await second.start();
    expect(second.numbering().epoch).not.toBe(epoch);
    expect(second.numbering().lastSeq).toBeGreaterThanOrEqual(300);
    // The old file is kept (its -wal/-shm companions, if any, beside it with the same name).
    const kept = readdirSync(dir).filter((name) => /^delivery\.sqlite\.corrupt-[\dTZ-]+$/.test(name));
    expect(kept).toHaveLength(1);
    expect(lines).toContainEqual(
      expect.objectContaining({
        level: "warn",
        moved_to: join(dir, kept[0] ?? ""),
        msg: expect.stringMatching(
          /database disk image is malformed.*moved it to .*delivery\.sqlite\.corrupt-/,
        ),
      }),
    );
    await second.stop();
  });

  it("starts fresh when the database file is garbage", async () => {
    const dir = tempDataDir();
    writeFileSync(join(dir, DELIVERY_DB_FILE), "garbage".repeat(1_000));
    const delivery = deliveryIn(dir);
    await delivery.start();
    expect(delivery.numbering()).toMatchObject({ lastSeq: 0, continued: false });
    await delivery.stop();
  });

  it("fails to start, naming the cause, when a directory is in the way of the database", async () => {
    const dir = tempDataDir();
    mkdirSync(join(dir, DELIVERY_DB_FILE));
    await expect(deliveryIn(dir).start()).rejects.toThrow(/unable to open database file/);
  });
});
