import type { BridgeEvent } from "../events.js";

/**
 * `compute`, remembered for the event it was last asked about. The hub hands one event to its recipients one
 * after another, so what every recipient needs to know about the event is worked out once, not per recipient.
 * `compute` must depend on the event alone (events are never modified).
 */
export function perEvent<T>(compute: (event: BridgeEvent) => T): (event: BridgeEvent) => T {
  let last: BridgeEvent | null = null;
  let value = undefined as T;
  return (event) => {
    if (event !== last) {
      value = compute(event);
      last = event;
    }
    return value;
  };
}
