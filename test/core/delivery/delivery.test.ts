import { describe, expect, it } from "vitest";
import { configSchema } from "../../../src/config/schema.js";
import { Delivery } from "../../../src/core/delivery/delivery.js";
import { silentLogger } from "../../../src/core/logger.js";
import { stateEvent, tempDataDir } from "./fixtures.js";

function deliveryIn(dataDir: string, replaySize = 100): Delivery {
  const config = configSchema.parse({ data_dir: dataDir, server: { replay: { size: replaySize } } });
  return new Delivery(config, silentLogger());
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
});
