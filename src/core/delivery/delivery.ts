import { randomUUID } from "node:crypto";
import type { Registry } from "prom-client";
import type { Config } from "../../config/schema.js";
import { errorMessage } from "../errors.js";
import type { BridgeEvent } from "../events.js";
import type { HomeDirectory } from "../home.js";
import type { Service } from "../lifecycle.js";
import type { Logger } from "../logger.js";
import { AckTracker } from "./acks.js";
import { DeliveryStoreError } from "./errors.js";
import { DeliveryMetrics } from "./metrics.js";
import { ReplayRing } from "./replay-ring.js";
import { CatchUp, planResume, type ResumePlan, type ResumeRequest, type StreamPosition } from "./resume.js";
import { LastKnown, snapshotEvents } from "./snapshot.js";
import { DELIVERY_DB_FILE, DeliveryStore, parseSeqText } from "./store.js";

/** Seqs reserved in the database at a time: after a crash numbering resumes above anything issued. */
const SEQ_BLOCK = 10_000;
/** An acknowledged id is remembered this long, so repeating the acknowledge is harmless. */
const CLOSED_ACK_RETENTION_MS = 24 * 3600_000;
/** The highest seq numbering may continue from: reserving one more block must stay a safe integer. */
const MAX_SEQ = Number.MAX_SAFE_INTEGER - SEQ_BLOCK;
/** Epochs are `randomUUID()`s; anything else in the meta table is damage. */
const EPOCH_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** Numbering values kept in the meta table. */
const SEQ_KEYS = ["seq_reserved", "last_seq", "ring_floor", "epoch_start_seq"] as const;
type SeqKey = (typeof SEQ_KEYS)[number];

export type DeliveryConfig = Pick<Config, "data_dir" | "acks"> & {
  readonly server: Pick<Config["server"], "replay">;
};

/** Where numbering starts for this run of the bridge; the hub continues from `lastSeq`. */
export interface Numbering extends StreamPosition {
  readonly lastSeq: number;
  /** True when the epoch (and the replay history) survived from the previous run. */
  readonly continued: boolean;
}

/**
 * Delivery guarantees: the persisted acknowledgement tracker, the replay ring and the numbering that makes
 * resume possible, and the last-known state that snapshots are built from.
 *
 * Across restarts: pending acknowledgements are always kept (they are written before sending). The replay
 * ring lives in memory; a graceful stop saves it with the epoch, and the next start keeps both, so clients
 * resume across an update without a snapshot. After a crash the ring is gone, so the next start opens a new
 * epoch (clients then get a snapshot flagged `epoch_changed`). Seqs never go back: the database reserves
 * them in blocks, and a new epoch starts above every seq the crashed run could have issued.
 */
export class Delivery implements Service {
  readonly name = "delivery";
  readonly lastKnown = new LastKnown();
  readonly metrics: DeliveryMetrics | undefined;
  private storeValue: DeliveryStore | undefined;
  private acksValue: AckTracker | undefined;
  private ringValue: ReplayRing | undefined;
  private numberingValue: Numbering | undefined;
  private reservedUpTo = 0;

  constructor(
    private readonly config: DeliveryConfig,
    private readonly log: Logger,
    registry?: Registry,
    private readonly now: () => number = Date.now,
  ) {
    this.metrics = registry === undefined ? undefined : new DeliveryMetrics(registry);
  }

  async start(): Promise<void> {
    const store = DeliveryStore.open(this.config.data_dir);
    this.storeValue = store;
    if (store.recovery !== undefined) {
      const { reason, movedTo } = store.recovery;
      this.log.warn(
        { reason, moved_to: movedTo },
        `the delivery database ${DELIVERY_DB_FILE} was damaged (${reason}); moved it to ${movedTo} and ` +
          "started a new one: acknowledgements it held are lost and clients resume with a snapshot",
      );
    }
    const numbering = this.openNumbering(store);
    this.numberingValue = numbering;
    const { acks } = this.config;
    const tracker = new AckTracker(
      store,
      {
        timeoutMs: acks.timeout_seconds * 1000,
        maxAttempts: acks.max_attempts,
        backoffFactor: acks.backoff_factor,
        maxPendingPerClient: acks.max_pending_per_client,
        retentionMs: acks.retention_hours * 3600_000,
        closedRetentionMs: CLOSED_ACK_RETENTION_MS,
      },
      this.log.child({ ns: "acks" }),
      this.metrics,
      this.now,
    );
    this.acksValue = tracker;
    await tracker.start();
    this.log.info(
      {
        epoch: numbering.epoch,
        last_seq: numbering.lastSeq,
        continued: numbering.continued,
        replayable: this.ring.size(),
        pending_acks: tracker.pendingCount(),
      },
      numbering.continued ? "delivery state restored" : "delivery state opened with a new epoch",
    );
  }

  /** Saves the replay ring and the numbering (so the next start keeps the epoch), then closes the store. */
  async stop(): Promise<void> {
    await this.acksValue?.stop();
    const store = this.storeValue;
    if (store === undefined) return;
    this.storeValue = undefined;
    try {
      const ring = this.ringValue;
      const numbering = this.numberingValue;
      if (ring !== undefined && numbering !== undefined) {
        const entries = ring.entries();
        store.saveRing(entries);
        store.transaction(() => {
          store.setMeta("last_seq", String(ring.headSeq()));
          store.setMeta("ring_floor", String(ring.floorSeq()));
          store.setMeta("clean_stop", "1");
        });
        this.log.info(
          { epoch: numbering.epoch, last_seq: ring.headSeq(), saved: entries.length },
          "delivery state saved",
        );
      }
    } catch (error) {
      this.log.error({ err: error }, `could not save the replay history: ${errorMessage(error)}`);
    } finally {
      store.close();
    }
  }

  get acks(): AckTracker {
    if (this.acksValue === undefined) throw new DeliveryStoreError("delivery is not started");
    return this.acksValue;
  }

  get ring(): ReplayRing {
    if (this.ringValue === undefined) throw new DeliveryStoreError("delivery is not started");
    return this.ringValue;
  }

  /** The epoch and the seq to continue from; valid after `start()`. */
  numbering(): Numbering {
    if (this.numberingValue === undefined) throw new DeliveryStoreError("delivery is not started");
    return this.numberingValue;
  }

  /** Feed every numbered event here (the hub's `onEvent`), before it is delivered. */
  observe(event: BridgeEvent): void {
    this.ring.push(event, this.now());
    this.lastKnown.observe(event);
    if (event.seq > this.reservedUpTo) this.reserveSeqs(event.seq);
  }

  /** How to answer a resume request; throws `ResumeError` for a seq the bridge never issued. */
  plan(request: ResumeRequest): ResumePlan {
    try {
      return planResume(request, this.ring, this.numbering());
    } catch (error) {
      this.metrics?.countResume("rejected");
      throw error;
    }
  }

  /** Starts a paced replay after `fromSeq` for one connection (see `CatchUp`). */
  catchUp(
    fromSeq: number,
    matches: (event: BridgeEvent) => boolean,
    emit: (event: BridgeEvent) => void,
    hasRoom: () => boolean,
    before?: number,
  ): CatchUp {
    return new CatchUp(
      this.ring,
      fromSeq,
      matches,
      (event) => {
        this.metrics?.replayed.inc();
        emit(event);
      },
      hasRoom,
      before,
    );
  }

  /** The current state as events positioned at the ring's head, for a flagged snapshot. */
  snapshot(home: HomeDirectory | undefined): BridgeEvent[] {
    const numbering = this.numbering();
    return snapshotEvents(home, this.lastKnown, {
      seq: this.ring.headSeq(),
      epoch: numbering.epoch,
      time: new Date(this.now()).toISOString(),
    });
  }

  private openNumbering(store: DeliveryStore): Numbering {
    const { replay } = this.config.server;
    const maxAgeMs = replay.max_age_seconds * 1000;
    // A garbled value (a flipped bit, a torn write) must not become NaN seqs or be saved back: every value
    // is checked, and any doubt means a new epoch (clients get a snapshot) numbered above what is known.
    const invalid: string[] = [];
    const seqs: Partial<Record<SeqKey, number>> = {};
    for (const key of SEQ_KEYS) {
      const value = store.getMeta(key);
      if (value === undefined) continue;
      const seq = parseSeqText(value);
      if (seq === undefined || seq > MAX_SEQ) invalid.push(key);
      else seqs[key] = seq;
    }
    let epoch = store.getMeta("epoch");
    if (epoch !== undefined && !EPOCH_PATTERN.test(epoch)) {
      invalid.push("epoch");
      epoch = undefined;
    }
    const clean = store.getMeta("clean_stop") === "1";
    const reserved = seqs.seq_reserved ?? 0;
    const lastSeq = seqs.last_seq ?? reserved;
    const floor = seqs.ring_floor ?? lastSeq;
    const epochStartSeq = seqs.epoch_start_seq ?? 1;
    if (clean && invalid.length === 0) {
      if (floor > lastSeq) invalid.push("ring_floor");
      if (epochStartSeq > lastSeq + 1) invalid.push("epoch_start_seq");
    }
    let numbering: Numbering;
    if (clean && epoch !== undefined && invalid.length === 0) {
      const saved = store.loadRing();
      // Every event above the ring's floor must be there; a damaged one moves the floor up to it, so a
      // resume from before it gets a snapshot instead of a replay with a hole.
      const lost = saved.damaged.reduce((max, seq) => (seq <= lastSeq ? Math.max(max, seq) : max), floor);
      const events = saved.events.filter((row) => row.seq > lost && row.seq <= lastSeq);
      if (saved.damaged.length > 0) {
        this.log.warn(
          { damaged: saved.damaged.length, seqs: saved.damaged.slice(0, 10), replayable_after: lost },
          `skipped ${saved.damaged.length} damaged replay-history row(s); resumes from before seq ${lost} get a snapshot`,
        );
      }
      const ring = new ReplayRing(
        replay.size,
        maxAgeMs,
        events.length === 0 ? lastSeq : lost,
        this.now,
        replay.max_bytes,
      );
      for (const entry of events) ring.append(entry);
      this.ringValue = ring;
      numbering = { epoch, lastSeq: ring.headSeq(), epochStartSeq, continued: true };
    } else {
      // A crash, a first start or damaged numbering: the history cannot be trusted, so this is a new epoch,
      // above every seq issued (as far as the database still tells).
      let lastSeq = Math.max(reserved, seqs.last_seq ?? 0);
      if (invalid.length > 0) {
        lastSeq = Math.max(
          lastSeq,
          seqs.ring_floor ?? 0,
          (seqs.epoch_start_seq ?? 1) - 1,
          Math.min(store.maxStoredSeq(), MAX_SEQ),
        );
      }
      this.ringValue = new ReplayRing(replay.size, maxAgeMs, lastSeq, this.now, replay.max_bytes);
      numbering = { epoch: randomUUID(), lastSeq, epochStartSeq: lastSeq + 1, continued: false };
      if (invalid.length > 0) {
        this.log.warn(
          {
            invalid,
            values: Object.fromEntries(invalid.map((key) => [key, store.getMeta(key)?.slice(0, 40)])),
          },
          `the delivery database held invalid numbering (${invalid.join(", ")}); starting a new epoch at seq ${lastSeq + 1} (clients get a snapshot on resume)`,
        );
      }
    }
    store.transaction(() => {
      // Invalid values are not read (and warned about) again; the others are overwritten just below.
      for (const key of invalid) store.deleteMeta(key);
      store.clearRing();
      store.setMeta("epoch", numbering.epoch);
      store.setMeta("epoch_start_seq", String(numbering.epochStartSeq));
      store.setMeta("clean_stop", "0");
      this.reserveSeqs(numbering.lastSeq);
    });
    return numbering;
  }

  private reserveSeqs(seq: number): void {
    this.reservedUpTo = seq + SEQ_BLOCK;
    this.storeValue?.setMeta("seq_reserved", String(this.reservedUpTo));
  }
}
