import type { BridgeEvent } from "../events.js";
import { ResumeError } from "./errors.js";
import type { ReplayRing } from "./replay-ring.js";

/** What a client asks for when it reconnects: everything after `lastSeq` of `epoch`. */
export interface ResumeRequest {
  readonly lastSeq: number;
  /** The epoch the client's `lastSeq` belongs to; when absent the seq alone decides. */
  readonly epoch: string | undefined;
}

/** Why a resume could not be answered by replaying history, as the snapshot message says. */
export type SnapshotReason = "gap_too_old" | "epoch_changed";

/** Where the bridge's numbering stands: the current epoch and the first seq it issued. */
export interface StreamPosition {
  readonly epoch: string;
  /** The first seq of this epoch (seqs continue across restarts; a lower one belongs to an older epoch). */
  readonly epochStartSeq: number;
}

export type ResumePlan =
  | { readonly kind: "replay" }
  | { readonly kind: "snapshot"; readonly reason: SnapshotReason };

const SEQ_PATTERN = /^(0|[1-9]\d{0,15})$/;
const MAX_EPOCH_LENGTH = 64;

function parseSeq(value: unknown, where: string): number {
  const seq =
    typeof value === "number"
      ? value
      : typeof value === "string" && SEQ_PATTERN.test(value)
        ? Number(value)
        : Number.NaN;
  if (!Number.isSafeInteger(seq) || seq < 0) {
    throw new ResumeError(
      "RESUME_INVALID",
      `${where} must be a non-negative integer (the last seq you received)`,
      {
        last_seq: typeof value === "string" || typeof value === "number" ? value : null,
      },
    );
  }
  return seq;
}

function parseEpoch(value: unknown, where: string): string | undefined {
  if (value === undefined || value === null || value === "") return undefined;
  if (typeof value !== "string" || value.length > MAX_EPOCH_LENGTH) {
    throw new ResumeError("RESUME_INVALID", `${where} must be the epoch string the bridge sent`);
  }
  return value;
}

/** Reads `?last_seq=N&epoch=E` from a connection URL; undefined when the client did not ask to resume. */
export function parseResumeQuery(params: URLSearchParams): ResumeRequest | undefined {
  const lastSeq = params.get("last_seq");
  if (lastSeq === null) return undefined;
  return {
    lastSeq: parseSeq(lastSeq, "last_seq"),
    epoch: parseEpoch(params.get("epoch") ?? undefined, "epoch"),
  };
}

/**
 * Reads the data of a `resume {last_seq, epoch}` message. `fallback` (the URL's request) fills in what the
 * message leaves out, so a client that put `last_seq` on the URL may send an empty `resume`.
 */
export function parseResumeMessage(data: unknown, fallback?: ResumeRequest): ResumeRequest {
  const record =
    typeof data === "object" && data !== null && !Array.isArray(data)
      ? (data as Record<string, unknown>)
      : {};
  if (record.last_seq === undefined) {
    if (fallback !== undefined) return fallback;
    throw new ResumeError("RESUME_INVALID", "resume needs data.last_seq (the last seq you received)");
  }
  return {
    lastSeq: parseSeq(record.last_seq, "data.last_seq"),
    epoch: parseEpoch(record.epoch, "data.epoch"),
  };
}

/**
 * Decides how to answer a resume: replay from the ring when every event after `lastSeq` is still there, a
 * flagged snapshot when history was lost, an error when the client claims a seq the bridge never issued.
 */
export function planResume(request: ResumeRequest, ring: ReplayRing, position: StreamPosition): ResumePlan {
  const head = ring.headSeq();
  if (request.epoch !== undefined && request.epoch !== position.epoch)
    return { kind: "snapshot", reason: "epoch_changed" };
  if (request.lastSeq > head) {
    throw new ResumeError(
      "RESUME_SEQ_AHEAD",
      `last_seq ${request.lastSeq} is ahead of the newest seq ${head}`,
      {
        last_seq: request.lastSeq,
        head_seq: head,
        epoch: position.epoch,
      },
    );
  }
  // Seqs continue across restarts, so a seq before this epoch's first one came from an earlier epoch.
  if (request.epoch === undefined && request.lastSeq < position.epochStartSeq - 1) {
    return { kind: "snapshot", reason: "epoch_changed" };
  }
  if (request.lastSeq < ring.floorSeq()) return { kind: "snapshot", reason: "gap_too_old" };
  return { kind: "replay" };
}

export type CatchUpStep = "caught_up" | "paused" | "lost";

/**
 * Replays the ring to one connection from a seq, paced by the connection's queue: it emits while the queue
 * has room and pauses otherwise, so a resume never floods a queue past its bounds. It reads the ring itself,
 * so events that arrive while it runs are replayed in order too; it is caught up when it reaches the head
 * (then live delivery takes over with nothing missed and nothing twice). `lost` means the ring moved past
 * its position while it was paused (the connection needs a snapshot).
 */
export class CatchUp {
  private cursor: number;
  private replayed = 0;

  /**
   * @param before replay only events with a lower seq: the first live event this connection received, when
   *   live delivery already started before the resume (those were delivered live or did not match then).
   */
  constructor(
    private readonly ring: ReplayRing,
    fromSeq: number,
    private readonly matches: (event: BridgeEvent) => boolean,
    private readonly emit: (event: BridgeEvent) => void,
    private readonly hasRoom: () => boolean,
    private readonly before: number = Number.POSITIVE_INFINITY,
  ) {
    this.cursor = fromSeq;
  }

  /** Events emitted so far. */
  count(): number {
    return this.replayed;
  }

  pump(): CatchUpStep {
    for (;;) {
      if (this.cursor >= this.ring.headSeq() || this.cursor >= this.before - 1) return "caught_up";
      if (!this.hasRoom()) return "paused";
      const slice = this.ring.after(this.cursor, 64);
      if (slice === undefined) return "lost";
      for (const event of slice) {
        if (event.seq >= this.before) {
          this.cursor = this.before - 1;
          return "caught_up";
        }
        this.cursor = event.seq;
        if (this.matches(event)) {
          this.emit(event);
          this.replayed += 1;
          if (!this.hasRoom()) break;
        }
      }
      if (slice.length === 0) this.cursor = this.ring.headSeq();
    }
  }
}
