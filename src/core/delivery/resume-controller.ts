import type { BridgeEvent } from "../events.js";
import type { HomeDirectory } from "../home.js";
import type { Delivery } from "./delivery.js";
import { ResumeError } from "./errors.js";
import { type CatchUp, planResume, type ResumeRequest, type SnapshotReason } from "./resume.js";

/** What a resume reports when it ends with a replay. */
export interface ResumedInfo {
  readonly from_seq: number;
  /** The seq the connection is now current with; live messages continue after it. */
  readonly last_seq: number;
  readonly replayed: number;
  readonly epoch: string;
}

/** The connection side of a resume: its selection, its delivery path and its queue. */
export interface ResumeTarget {
  /** Does the connection's current selection (subscriptions and permissions) include the event? */
  matches(event: BridgeEvent): boolean;
  /** Delivers one replayed event exactly like a live one (encoding, ack tracking, the outbound queue). */
  replay(event: BridgeEvent): void;
  /** True while the outbound queue can take more without having to conflate or drop. */
  hasRoom(): boolean;
  /** Sends one flagged snapshot message made of these (already matching) events. */
  sendSnapshot(reason: SnapshotReason, events: readonly BridgeEvent[], seq: number, epoch: string): void;
  sendResumed(info: ResumedInfo): void;
  sendResumeError(error: ResumeError): void;
}

type State =
  | { readonly kind: "live" }
  /** `?last_seq=` was on the URL: live delivery waits until the resume runs, so nothing comes out of order. */
  | { readonly kind: "holding"; readonly request: ResumeRequest; readonly since: number }
  | {
      readonly kind: "catching_up";
      readonly request: ResumeRequest;
      readonly catchUp: CatchUp;
      readonly gatesLive: boolean;
    };

/** Shared by every controller: most connections never leave it (one object less per idle connection). */
const LIVE: State = { kind: "live" };

/**
 * Runs one connection's resume: a paced replay from the ring, or a flagged snapshot when history was lost,
 * with live delivery gated so that nothing is missed and nothing arrives twice.
 *
 * - With `?last_seq=` on the URL the connection holds live delivery from the start; the replay runs when
 *   the dialect says the connection's subscriptions are in place (`run`), then live takes over.
 * - With a `resume` message after live messages already arrived, the replay covers only the events before
 *   the first live one (later ones were delivered live, or did not match the subscriptions of the time).
 * One resume per connection.
 */
export class ResumeController {
  private state: State = LIVE;
  private firstLiveSeq: number | undefined;
  private urlRequest: ResumeRequest | undefined;
  private done = false;

  constructor(
    private readonly delivery: Delivery,
    private readonly home: HomeDirectory | undefined,
    private readonly target: ResumeTarget,
  ) {}

  /**
   * Remembers a resume asked for on the URL. Live delivery is held back only when a replay is possible;
   * when the answer will be a snapshot there is nothing to keep in order.
   */
  hold(request: ResumeRequest, now: number = Date.now()): void {
    if (this.done || this.state.kind !== "live") return;
    this.urlRequest = request;
    let replayable = false;
    try {
      // Only a look ahead (not counted): `run` decides again with the ring as it is then.
      replayable = planResume(request, this.delivery.ring, this.delivery.numbering()).kind === "replay";
    } catch (error) {
      if (!(error instanceof ResumeError)) throw error;
    }
    if (replayable) this.state = { kind: "holding", request, since: now };
  }

  /** The request from the URL, until a resume ran (a `resume` message without `last_seq` uses it). */
  pendingRequest(): ResumeRequest | undefined {
    return this.done ? undefined : this.urlRequest;
  }

  /**
   * Runs a held resume that waited longer than `maxHoldMs` for the dialect's go (e.g. a PMA client that put
   * `last_seq` on the URL but never sent `resume`), so that live delivery cannot stay blocked.
   */
  expireHold(now: number, maxHoldMs: number): void {
    if (this.state.kind === "holding" && now - this.state.since >= maxHoldMs) this.run(this.state.request);
  }

  /** Whether a resume already ran (or is running) on this connection. */
  get resumed(): boolean {
    return this.done;
  }

  /** The gate for live delivery: false means "not now", the replay will bring the event in order. */
  admitLive(event: BridgeEvent): boolean {
    if (this.state.kind === "holding") return false;
    if (this.state.kind === "catching_up" && this.state.gatesLive) return false;
    this.firstLiveSeq ??= event.seq;
    return true;
  }

  /** Runs the resume: replay, snapshot or error. */
  run(request: ResumeRequest): void {
    if (this.done) {
      this.target.sendResumeError(new ResumeError("RESUME_INVALID", "this connection already resumed"));
      return;
    }
    this.done = true;
    let plan: ReturnType<Delivery["plan"]>;
    try {
      plan = this.delivery.plan(request);
    } catch (error) {
      this.state = LIVE;
      if (!(error instanceof ResumeError)) throw error;
      this.target.sendResumeError(error);
      return;
    }
    if (plan.kind === "snapshot") {
      this.state = LIVE;
      this.snapshot(plan.reason);
      return;
    }
    const before = this.firstLiveSeq;
    const catchUp = this.delivery.catchUp(
      request.lastSeq,
      (event) => this.target.matches(event),
      (event) => this.target.replay(event),
      () => this.target.hasRoom(),
      before,
    );
    this.state = { kind: "catching_up", request, catchUp, gatesLive: before === undefined };
    this.pump();
  }

  /** Continues a paused replay; call whenever the connection's queue drained. */
  pump(): void {
    const state = this.state;
    if (state.kind !== "catching_up") return;
    const step = state.catchUp.pump();
    switch (step) {
      case "paused":
        return;
      case "caught_up": {
        this.state = LIVE;
        const replayed = state.catchUp.count();
        this.delivery.metrics?.countResume(replayed === 0 ? "up_to_date" : "replayed");
        const lastSeq = state.gatesLive
          ? this.delivery.ring.headSeq()
          : Math.max(state.request.lastSeq, (this.firstLiveSeq ?? 1) - 1);
        this.target.sendResumed({
          from_seq: state.request.lastSeq,
          last_seq: lastSeq,
          replayed,
          epoch: this.delivery.numbering().epoch,
        });
        return;
      }
      case "lost":
        // The ring moved past a replay that waited too long for the client: state instead of history.
        this.state = LIVE;
        this.snapshot("gap_too_old");
        return;
    }
  }

  private snapshot(reason: SnapshotReason): void {
    this.delivery.metrics?.countResume(
      reason === "gap_too_old" ? "snapshot_gap_too_old" : "snapshot_epoch_changed",
    );
    const events = this.delivery.snapshot(this.home).filter((event) => this.target.matches(event));
    this.target.sendSnapshot(reason, events, this.delivery.ring.headSeq(), this.delivery.numbering().epoch);
  }
}
