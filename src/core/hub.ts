import { randomUUID } from "node:crypto";
import type { BridgeEvent, EventSink, NewBridgeEvent } from "./events.js";
import type { EncodedEvent, EventEncoder, HubClient } from "./hub/encoded-event.js";
import { eventKeys, SubscriptionIndex } from "./hub/subscription-index.js";
import type { Service } from "./lifecycle.js";
import type { Logger } from "./logger.js";

export interface HubStats {
  readonly published: number;
  readonly delivered: number;
  /** `encode` calls per dialect: at most one per event and dialect. */
  readonly encodes: Readonly<Record<string, number>>;
  /** Distinct frames rendered per dialect (one per event and view). */
  readonly renders: Readonly<Record<string, number>>;
}

export type EventListener = (event: BridgeEvent) => void;

export interface HubOptions {
  readonly log: Logger;
  /** For tests: a fixed epoch. Normally a random id per bridge start. */
  readonly epoch?: string;
}

/**
 * Numbers every event (`seq`, strictly increasing within an `epoch`), finds its recipients through the
 * subscription index, and hands each dialect's encoding of it (made once) to every recipient of that dialect.
 */
export class Hub implements EventSink, Service {
  readonly name = "hub";
  private epochValue: string;
  private seq = 0;
  private readonly index = new SubscriptionIndex<HubClient>();
  private readonly listeners = new Set<EventListener>();
  private readonly log: Logger;
  private published = 0;
  private delivered = 0;
  private readonly encodes: Record<string, number> = {};
  private readonly renders: Record<string, number> = {};

  constructor(options: HubOptions) {
    this.log = options.log;
    this.epochValue = options.epoch ?? randomUUID();
  }

  /** Changes when history is lost; `seq` values compare only within one epoch. */
  get epoch(): string {
    return this.epochValue;
  }

  /**
   * Continues the numbering of an earlier run (the delivery state's epoch and last seq), so that seqs never
   * go back across restarts. Only before the first event.
   */
  continueFrom(epoch: string, lastSeq: number): void {
    if (this.published > 0)
      throw new Error("the hub already numbered events; it cannot change its numbering");
    this.epochValue = epoch;
    this.seq = lastSeq;
  }

  start(): Promise<void> {
    return Promise.resolve();
  }

  stop(): Promise<void> {
    this.listeners.clear();
    return Promise.resolve();
  }

  /** The last `seq` assigned (0 before the first event of a first run). */
  lastSeq(): number {
    return this.seq;
  }

  /** Adds or re-indexes a client under the keys it may match (see `subscription-index.ts`). */
  subscribe(client: HubClient, keys: Iterable<string>): void {
    this.index.set(client, keys);
  }

  unsubscribe(client: HubClient): void {
    this.index.delete(client);
  }

  /** Observers of every numbered event (the replay ring, MQTT out), called before delivery. */
  onEvent(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  publish(input: NewBridgeEvent): void {
    this.seq += 1;
    const event = { ...input, seq: this.seq, epoch: this.epochValue } as BridgeEvent;
    this.published += 1;
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (error) {
        this.log.error({ err: error, seq: event.seq }, "event listener failed");
      }
    }
    // Each dialect's encoding, made on first use. Consecutive recipients mostly share an encoder, and there
    // are only as many encoders as dialects: two short arrays, not a map per event.
    let lastEncoder: EventEncoder | undefined;
    let lastEncoded: EncodedEvent<unknown> | null = null;
    const encoders: EventEncoder[] = [];
    const encodings: (EncodedEvent<unknown> | null)[] = [];
    // An indexed loop: no iterator protocol per recipient (the list is a snapshot, never modified).
    const candidates = this.index.candidates(eventKeys(event));
    for (let i = 0; i < candidates.length; i++) {
      const client = candidates[i] as HubClient;
      if (!client.matches(event)) continue;
      let encoded: EncodedEvent<unknown> | null | undefined;
      if (client.encoder === lastEncoder) encoded = lastEncoded;
      else {
        const known = encoders.indexOf(client.encoder);
        if (known >= 0) encoded = encodings[known] ?? null;
        else {
          encoded = this.encode(client.encoder, event);
          encoders.push(client.encoder);
          encodings.push(encoded);
        }
        lastEncoder = client.encoder;
        lastEncoded = encoded;
      }
      if (encoded === null) continue;
      try {
        client.deliver(encoded);
        this.delivered += 1;
      } catch (error) {
        this.log.error({ err: error, seq: event.seq }, "delivery failed");
      }
    }
  }

  /** Lets dialects report rendered frames into the hub's counters. */
  countRender(dialect: string): void {
    this.renders[dialect] = (this.renders[dialect] ?? 0) + 1;
  }

  stats(): HubStats {
    return {
      published: this.published,
      delivered: this.delivered,
      encodes: { ...this.encodes },
      renders: { ...this.renders },
    };
  }

  get subscriberCount(): number {
    return this.index.size;
  }

  get indexBucketCount(): number {
    return this.index.bucketCount;
  }

  private encode(encoder: EventEncoder, event: BridgeEvent): EncodedEvent<unknown> | null {
    this.encodes[encoder.dialect] = (this.encodes[encoder.dialect] ?? 0) + 1;
    try {
      return encoder.encode(event);
    } catch (error) {
      this.log.error({ err: error, seq: event.seq, dialect: encoder.dialect }, "encoding failed");
      return null;
    }
  }
}
