/** One queued frame and what the queue needs to know to conflate or keep it. */
export interface OutboundMessage {
  readonly frame: Buffer;
  readonly seq: number | null;
  /** Messages with the same key replace each other under congestion (latest entity state wins). */
  readonly conflationKey: string | null;
  /** Never dropped. */
  readonly requiresAck: boolean;
  /** The frame is an event's payload shared by many recipients (worth pre-framing once). */
  readonly shared: boolean;
}

/**
 * The socket side of the queue. Writes take no completion callback: a callback per write costs Node an
 * allocation and a `nextTick` each, for nothing while the client keeps up. Only a queue that holds frames asks
 * to be woken, once, when the socket has written out what it buffers.
 */
export interface FrameSink {
  readonly bufferedAmount: number;
  send(message: OutboundMessage): void;
  /** Calls `wake` once when the socket's buffer has drained (the socket's `drain` event). */
  onceDrained(wake: () => void): void;
  /** Everything queued has been written: a paused replay may continue. */
  drained(): void;
}

export interface QueueLimits {
  readonly maxMessages: number;
  readonly maxBytes: number;
  /** Frames are written while the socket buffers less than this. */
  readonly softLimitBytes: number;
}

export interface QueueCounters {
  sent: number;
  bytesSent: number;
  dropped: number;
  conflated: number;
}

/**
 * A client's outbound queue; every frame to a client goes through it. It writes while the socket's buffer is
 * below the soft limit and holds the rest. Under congestion an entity's older state is replaced by the newer
 * (order of everything else kept); when still over its bounds it drops the oldest droppable messages;
 * `requires_ack` messages are never dropped. A slow client only ever slows itself.
 */
export class OutboundQueue {
  private readonly items: OutboundMessage[] = [];
  private bytes = 0;
  private closed = false;
  /** When the queue last could not write everything, or null when it is keeping up. */
  private blockedSince: number | null = null;
  /** A wake-up on the socket's drain is pending. */
  private waiting = false;
  readonly counters: QueueCounters = { sent: 0, bytesSent: 0, dropped: 0, conflated: 0 };

  constructor(
    private readonly sink: FrameSink,
    private readonly limits: QueueLimits,
    private readonly onCount: (what: "dropped" | "conflated") => void = () => {},
    private readonly now: () => number = Date.now,
  ) {}

  push(message: OutboundMessage): void {
    if (this.closed) return;
    // The common case, a client that keeps up: straight to the socket, nothing queued or searched.
    if (this.items.length === 0 && this.sink.bufferedAmount < this.limits.softLimitBytes) {
      this.write(message);
      this.blockedSince = null;
      return;
    }
    if (this.items.length > 0 && message.conflationKey !== null) {
      const index = this.items.findIndex((m) => m.conflationKey === message.conflationKey);
      if (index >= 0) {
        const [old] = this.items.splice(index, 1);
        if (old !== undefined) this.bytes -= old.frame.length;
        this.count("conflated");
      }
    }
    this.items.push(message);
    this.bytes += message.frame.length;
    this.enforceBounds();
    this.flush();
  }

  get depth(): number {
    return this.items.length;
  }

  get queuedBytes(): number {
    return this.bytes;
  }

  /** How long queued messages have waited without a single frame being written, in ms (0 when none wait). */
  stuckFor(): number {
    return this.blockedSince === null ? 0 : this.now() - this.blockedSince;
  }

  close(): void {
    this.closed = true;
    this.items.length = 0;
    this.bytes = 0;
  }

  /** Writes what the socket can take now. Also called by the server's sweep as a safety net. */
  flush(): void {
    if (this.closed) return;
    let wrote = false;
    while (this.items.length > 0 && this.sink.bufferedAmount < this.limits.softLimitBytes) {
      const message = this.items.shift();
      if (message === undefined) break;
      this.bytes -= message.frame.length;
      this.write(message);
      wrote = true;
    }
    // "Stuck" means no progress at all, not merely a queue that never empties under steady load.
    if (this.items.length === 0) {
      this.blockedSince = null;
      if (wrote) this.sink.drained();
      return;
    }
    if (wrote) this.blockedSince = this.now();
    else this.blockedSince ??= this.now();
    if (!this.waiting) {
      this.waiting = true;
      // Made on the first congestion only: most connections never need it (idle memory).
      this.wake ??= () => {
        this.waiting = false;
        this.flush();
      };
      this.sink.onceDrained(this.wake);
    }
  }

  /** The socket drained: the queue gets its next chance to move (no timers, no polling). */
  private wake: (() => void) | undefined;

  private write(message: OutboundMessage): void {
    this.counters.sent += 1;
    this.counters.bytesSent += message.frame.length;
    this.sink.send(message);
  }

  private enforceBounds(): void {
    while (this.items.length > this.limits.maxMessages || this.bytes > this.limits.maxBytes) {
      const index = this.items.findIndex((m) => !m.requiresAck);
      if (index < 0) return;
      const [dropped] = this.items.splice(index, 1);
      if (dropped !== undefined) this.bytes -= dropped.frame.length;
      this.count("dropped");
    }
  }

  private count(what: "dropped" | "conflated"): void {
    this.counters[what] += 1;
    this.onCount(what);
  }
}
