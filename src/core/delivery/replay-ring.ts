import type { BridgeEvent } from "../events.js";

export interface RingEntry {
  readonly event: BridgeEvent;
  /** When the ring received it (epoch milliseconds); used for the age limit. */
  readonly atMs: number;
  /** Its estimated size, for the byte limit. */
  readonly bytes: number;
}

/**
 * Roughly the bytes an event's JSON takes: string lengths plus a few bytes per key and scalar. A walk, not a
 * serialization, so it costs little per event; deep nesting past a few levels is counted as one value.
 */
export function estimateBytes(value: unknown, depth = 0): number {
  if (typeof value === "string") return value.length + 2;
  if (typeof value !== "object" || value === null) return 8;
  if (depth > 6) return 64;
  let total = 2;
  if (Array.isArray(value)) {
    for (const item of value) total += estimateBytes(item, depth + 1) + 1;
    return total;
  }
  for (const key in value)
    total += key.length + 4 + estimateBytes((value as Record<string, unknown>)[key], depth + 1);
  return total;
}

/**
 * The last `capacity` events of this epoch, none older than `maxAgeMs` and together no larger than
 * `maxBytes`: what a reconnecting client can be given instead of a snapshot. A fixed-size circular buffer
 * with a byte budget, so memory stays bounded whatever the event rate and size; reads are a binary search.
 */
export class ReplayRing {
  private readonly slots: (RingEntry | undefined)[];
  private start = 0;
  private count = 0;
  private head: number;
  /** Every event with a seq above this one is still in the ring. */
  private floor: number;
  private bytes = 0;

  /**
   * @param lastSeq the seq before the first one this ring will receive (events up to it belong to the
   *   past and cannot be replayed).
   */
  constructor(
    private readonly capacity: number,
    private readonly maxAgeMs: number,
    lastSeq: number,
    private readonly now: () => number = Date.now,
    private readonly maxBytes: number = Number.POSITIVE_INFINITY,
  ) {
    this.slots = new Array<RingEntry | undefined>(capacity);
    this.head = lastSeq;
    this.floor = lastSeq;
  }

  /** The seq of the newest event received. */
  headSeq(): number {
    return this.head;
  }

  /** The newest seq that can no longer be replayed: a client that has seen it can be caught up. */
  floorSeq(): number {
    this.expire();
    return this.floor;
  }

  size(): number {
    return this.count;
  }

  /** Estimated bytes held. */
  sizeBytes(): number {
    return this.bytes;
  }

  /** Appends an event; seqs must increase (the hub numbers them). */
  push(event: BridgeEvent, atMs: number = this.now()): void {
    if (event.seq <= this.head) {
      throw new RangeError(`replay ring got seq ${event.seq} after ${this.head}; seqs must increase`);
    }
    this.head = event.seq;
    const bytes = this.capacity === 0 ? 0 : estimateBytes(event);
    if (this.capacity === 0 || bytes > this.maxBytes) {
      // Nothing before it can be replayed without it.
      while (this.count > 0) this.evictOldest();
      this.floor = event.seq;
      return;
    }
    if (this.count === this.capacity) this.evictOldest();
    while (this.count > 0 && this.bytes + bytes > this.maxBytes) this.evictOldest();
    this.slots[(this.start + this.count) % this.capacity] = { event, atMs, bytes };
    this.count += 1;
    this.bytes += bytes;
    this.expire();
  }

  /**
   * Every event after `lastSeq`, oldest first, or undefined when some of them are gone (too old or pushed
   * out). The caller checks `lastSeq <= headSeq()` first.
   */
  since(lastSeq: number): BridgeEvent[] | undefined {
    return this.after(lastSeq, this.count);
  }

  /**
   * Up to `max` events after `lastSeq`, oldest first, or undefined when some are gone. Lets a catch-up read
   * the ring in slices without copying all of it.
   */
  after(lastSeq: number, max: number): BridgeEvent[] | undefined {
    this.expire();
    if (lastSeq < this.floor) return undefined;
    const events: BridgeEvent[] = [];
    const first = this.firstIndexAfter(lastSeq);
    const end = Math.min(this.count, first + max);
    for (let i = first; i < end; i += 1) events.push(this.at(i).event);
    return events;
  }

  /** Everything in the ring, oldest first (for saving on a graceful stop). */
  entries(): RingEntry[] {
    this.expire();
    const out: RingEntry[] = [];
    for (let i = 0; i < this.count; i += 1) out.push(this.at(i));
    return out;
  }

  private at(index: number): RingEntry {
    const entry = this.slots[(this.start + index) % this.capacity];
    if (entry === undefined) throw new RangeError(`replay ring slot ${index} is empty`);
    return entry;
  }

  private firstIndexAfter(seq: number): number {
    let low = 0;
    let high = this.count;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (this.at(mid).event.seq <= seq) low = mid + 1;
      else high = mid;
    }
    return low;
  }

  private evictOldest(): void {
    const oldest = this.at(0);
    this.slots[this.start] = undefined;
    this.start = (this.start + 1) % this.capacity;
    this.count -= 1;
    this.bytes -= oldest.bytes;
    this.floor = oldest.event.seq;
  }

  private expire(): void {
    const cutoff = this.now() - this.maxAgeMs;
    while (this.count > 0 && this.at(0).atMs < cutoff) this.evictOldest();
  }
}
