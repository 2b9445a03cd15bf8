import { type BridgeEvent, EventKind } from "../events.js";
import type { StoredEvent } from "./store.js";

const KINDS: ReadonlySet<string> = new Set(Object.values(EventKind));

/**
 * Reads an event kept as JSON back, or undefined when the text is damaged: not JSON, or not an event with
 * the seq it is filed under. History saved to disk can be damaged (an SD card flipping bits); a damaged
 * entry must cost a snapshot, never an exception on every resume.
 */
export function parseStoredEvent(entry: StoredEvent): BridgeEvent | undefined {
  let value: unknown;
  try {
    value = JSON.parse(entry.json);
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
  const event = value as Record<string, unknown>;
  const intact =
    event.seq === entry.seq &&
    typeof event.kind === "string" &&
    KINDS.has(event.kind) &&
    typeof event.epoch === "string" &&
    typeof event.time === "string" &&
    typeof event.data === "object" &&
    event.data !== null;
  return intact ? (value as BridgeEvent) : undefined;
}

/**
 * The last `capacity` events of this epoch, none older than `maxAgeMs` and together no larger than
 * `maxBytes`: what a reconnecting client can be given instead of a snapshot. A fixed-size circular buffer
 * with a byte budget, so memory stays bounded whatever the event rate and size; reads are a binary search.
 *
 * Events are kept as their JSON text: the byte budget is exact, a long history is a few large strings the
 * garbage collector does not have to walk (instead of many small objects kept alive), and saving it on
 * stop costs nothing more. Reading back parses, which only resumes do.
 */
export class ReplayRing {
  private readonly slots: (StoredEvent | undefined)[];
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
    this.slots = new Array<StoredEvent | undefined>(capacity);
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

  /** Bytes of JSON held (UTF-16 code units, close enough for a budget). */
  sizeBytes(): number {
    return this.bytes;
  }

  /** Appends an event; seqs must increase (the hub numbers them). */
  push(event: BridgeEvent, atMs: number = this.now()): void {
    this.append({ seq: event.seq, timeMs: atMs, json: this.capacity === 0 ? "" : JSON.stringify(event) });
  }

  /** Appends an event saved by an earlier run. */
  append(entry: StoredEvent): void {
    if (entry.seq <= this.head) {
      throw new RangeError(`replay ring got seq ${entry.seq} after ${this.head}; seqs must increase`);
    }
    this.head = entry.seq;
    if (this.capacity === 0 || entry.json.length > this.maxBytes) {
      // Nothing before it can be replayed without it.
      while (this.count > 0) this.evictOldest();
      this.floor = entry.seq;
      return;
    }
    if (this.count === this.capacity) this.evictOldest();
    while (this.count > 0 && this.bytes + entry.json.length > this.maxBytes) this.evictOldest();
    this.slots[(this.start + this.count) % this.capacity] = entry;
    this.count += 1;
    this.bytes += entry.json.length;
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
   * Up to `max` events after `lastSeq`, oldest first, or undefined when some are gone (or damaged: an entry
   * that cannot be read back is history lost like one pushed out). Lets a catch-up read the ring in slices
   * without copying all of it.
   */
  after(lastSeq: number, max: number): BridgeEvent[] | undefined {
    this.expire();
    if (lastSeq < this.floor) return undefined;
    const events: BridgeEvent[] = [];
    const first = this.firstIndexAfter(lastSeq);
    const end = Math.min(this.count, first + max);
    for (let i = first; i < end; i += 1) {
      const event = parseStoredEvent(this.at(i));
      if (event === undefined) return undefined;
      events.push(event);
    }
    return events;
  }

  /** Everything in the ring, oldest first (for saving on a graceful stop). */
  entries(): StoredEvent[] {
    this.expire();
    const out: StoredEvent[] = [];
    for (let i = 0; i < this.count; i += 1) out.push(this.at(i));
    return out;
  }

  private at(index: number): StoredEvent {
    const entry = this.slots[(this.start + index) % this.capacity];
    if (entry === undefined) throw new RangeError(`replay ring slot ${index} is empty`);
    return entry;
  }

  private firstIndexAfter(seq: number): number {
    let low = 0;
    let high = this.count;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (this.at(mid).seq <= seq) low = mid + 1;
      else high = mid;
    }
    return low;
  }

  private evictOldest(): void {
    const oldest = this.at(0);
    this.slots[this.start] = undefined;
    this.start = (this.start + 1) % this.capacity;
    this.count -= 1;
    this.bytes -= oldest.json.length;
    this.floor = oldest.seq;
  }

  private expire(): void {
    const cutoff = this.now() - this.maxAgeMs;
    while (this.count > 0 && this.at(0).timeMs < cutoff) this.evictOldest();
  }
}
