import type { BridgeEvent } from "../events.js";

/**
 * Index keys an event can be found under. A subscriber registers the keys it could possibly match; on publish
 * the hub looks only at the subscribers under the event's keys, so an event costs work proportional to the
 * clients it may reach, never to every connected client.
 */
export function eventKeys(event: BridgeEvent): string[] {
  const keys = [kindKey(event.kind)];
  if (event.ha_event_type !== undefined) keys.push(typeKey(event.ha_event_type));
  if (event.entity_id !== undefined) keys.push(entityKey(event.entity_id));
  const room = eventRoom(event);
  if (room !== null) keys.push(roomKey(room));
  return keys;
}

export const kindKey = (kind: string): string => `kind:${kind}`;
export const typeKey = (haEventType: string): string => `type:${haEventType}`;
export const entityKey = (entityId: string): string => `entity:${entityId}`;
export const roomKey = (roomId: string): string => `room:${roomId}`;

/** The room an event concerns: its own `room_id`, or the room a room event describes. */
export function eventRoom(event: BridgeEvent): string | null {
  if (event.room_id !== undefined && event.room_id !== null) return event.room_id;
  if (event.kind === "room_added" || event.kind === "room_updated" || event.kind === "room_removed") {
    return event.data.room.id;
  }
  return null;
}

function inAny<S>(sets: readonly ReadonlySet<S>[], item: S): boolean {
  for (const set of sets) if (set.has(item)) return true;
  return false;
}

/**
 * How many distinct key combinations the index remembers the subscribers of (about one per entity that
 * changes; a 2,000-entity home needs 2,000). Past this the memory starts over.
 */
const MEMO_LIMIT = 8192;

/** The subscribers under one key. */
interface Bucket<S> {
  readonly key: string;
  readonly members: Set<S>;
}

const NO_BUCKETS: readonly never[] = [];

/**
 * key → subscribers, with the reverse map so that re-indexing a subscriber touches only its own keys. The
 * reverse map points at the buckets themselves: a subscriber keeps no key strings of its own (each key
 * string exists once, in its bucket), which is most of an idle connection's index cost.
 */
export class SubscriptionIndex<S> {
  private readonly buckets = new Map<string, Bucket<S>>();
  private readonly bucketsOf = new Map<S, readonly Bucket<S>[]>();
  /**
   * Candidates by the event's keys: subscriptions change rarely and the same entities change again and
   * again, so most events find their candidate list here. Any change to the index forgets it all.
   */
  private readonly memo = new Map<string, readonly S[]>();

  /** Replaces the keys a subscriber is indexed under. */
  set(subscriber: S, keys: Iterable<string>): void {
    const wanted = new Set(keys);
    const next: Bucket<S>[] = [];
    for (const bucket of this.bucketsOf.get(subscriber) ?? NO_BUCKETS) {
      if (wanted.delete(bucket.key)) next.push(bucket);
      else this.leave(bucket, subscriber);
    }
    for (const key of wanted) {
      let bucket = this.buckets.get(key);
      if (bucket === undefined) {
        bucket = { key, members: new Set() };
        this.buckets.set(key, bucket);
      }
      bucket.members.add(subscriber);
      next.push(bucket);
    }
    this.bucketsOf.set(subscriber, next);
    this.memo.clear();
  }

  delete(subscriber: S): void {
    const previous = this.bucketsOf.get(subscriber);
    if (previous === undefined) return;
    for (const bucket of previous) this.leave(bucket, subscriber);
    this.bucketsOf.delete(subscriber);
    this.memo.clear();
  }

  /**
   * Every subscriber indexed under any of `keys`, each once, in the order of the first key that holds it: a
   * snapshot that is never modified, so subscribing or unsubscribing while the caller walks it changes
   * nothing for this walk.
   */
  candidates(keys: readonly string[]): readonly S[] {
    const id = keys.join("\n");
    let found = this.memo.get(id);
    if (found === undefined) {
      found = this.collect(keys);
      if (this.memo.size >= MEMO_LIMIT) this.memo.clear();
      this.memo.set(id, found);
    }
    return found;
  }

  get size(): number {
    return this.bucketsOf.size;
  }

  /** Number of index buckets; exposed so tests can prove that unsubscribing leaves nothing behind. */
  get bucketCount(): number {
    return this.buckets.size;
  }

  /** An event has at most four keys, so asking the earlier buckets is cheaper than building a `Set`. */
  private collect(keys: readonly string[]): S[] {
    let found: S[] | undefined;
    let earlier: Set<S>[] | undefined;
    for (const key of keys) {
      const members = this.buckets.get(key)?.members;
      if (members === undefined) continue;
      if (found === undefined || earlier === undefined) {
        found = Array.from(members);
        earlier = [members];
        continue;
      }
      for (const subscriber of members) if (!inAny(earlier, subscriber)) found.push(subscriber);
      earlier.push(members);
    }
    return found ?? [];
  }

  private leave(bucket: Bucket<S>, subscriber: S): void {
    bucket.members.delete(subscriber);
    if (bucket.members.size === 0) this.buckets.delete(bucket.key);
  }
}
