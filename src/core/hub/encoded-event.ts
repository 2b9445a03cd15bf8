import type { BridgeEvent } from "../events.js";

/**
 * One event as one dialect puts it on the wire. A dialect renders each distinct *view* (e.g. the occupancy
 * dialect's endpoint label) at most once; every recipient of that view gets the same rendering (`V`: the
 * frame, or the queue entry around it), so nothing is built per recipient.
 */
export class EncodedEvent<V = Buffer> {
  // Most events have one view: the first is kept in fields, further ones in a map made on demand.
  private firstName: string | undefined;
  private firstValue: V | undefined;
  private more: Map<string, V> | undefined;

  constructor(
    readonly event: BridgeEvent,
    private readonly render: (view: string) => V,
    private readonly onRender: () => void,
  ) {}

  view(name = ""): V {
    if (name === this.firstName) return this.firstValue as V;
    let value = this.more?.get(name);
    if (value === undefined) {
      value = this.render(name);
      this.onRender();
      if (this.firstName === undefined) {
        this.firstName = name;
        this.firstValue = value;
      } else {
        this.more ??= new Map();
        this.more.set(name, value);
      }
    }
    return value;
  }
}

/** A wire dialect's encoder. `encode` is called at most once per event and dialect. */
export interface EventEncoder<V = unknown> {
  readonly dialect: string;
  /** Returns the encoded event, or null when this dialect has no message for the event. */
  encode(event: BridgeEvent): EncodedEvent<V> | null;
}

/** What the hub needs from a connected client. */
export interface HubClient<V = unknown> {
  readonly encoder: EventEncoder<V>;
  /** The exact selection: index keys only narrow the candidates, this decides. */
  matches(event: BridgeEvent): boolean;
  deliver(encoded: EncodedEvent<V>): void;
}
