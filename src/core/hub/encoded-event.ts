import type { BridgeEvent } from "../events.js";

/**
 * One event as one dialect puts it on the wire. A dialect renders each distinct *view* (e.g. the occupancy
 * dialect's endpoint label) at most once; every recipient of that view gets the same Buffer.
 */
export class EncodedEvent {
  private readonly frames = new Map<string, Buffer>();

  constructor(
    readonly event: BridgeEvent,
    private readonly render: (view: string) => Buffer,
    private readonly onRender: () => void,
  ) {}

  frame(view = ""): Buffer {
    let frame = this.frames.get(view);
    if (frame === undefined) {
      frame = this.render(view);
      this.onRender();
      this.frames.set(view, frame);
    }
    return frame;
  }
}

/** A wire dialect's encoder. `encode` is called at most once per event and dialect. */
export interface EventEncoder {
  readonly dialect: string;
  /** Returns the encoded event, or null when this dialect has no message for the event. */
  encode(event: BridgeEvent): EncodedEvent | null;
}

/** What the hub needs from a connected client. */
export interface HubClient {
  readonly encoder: EventEncoder;
  /** The exact selection: index keys only narrow the candidates, this decides. */
  matches(event: BridgeEvent): boolean;
  deliver(encoded: EncodedEvent): void;
}
