import { EventKind } from "../core/events.js";
import { kindKey, typeKey } from "../core/hub/subscription-index.js";

/**
 * Hub index keys for names from a fixed set (event kinds, the HA event types the bridge knows), built once.
 * The hub keeps each client's keys, so a fresh concatenation per connection would cost one string per key
 * per idle connection; these are shared.
 */
const KIND_KEYS: ReadonlyMap<string, string> = new Map(
  Object.values(EventKind).map((kind) => [kind, kindKey(kind)]),
);

/** The key for events of this bridge kind. */
export function sharedKindKey(kind: string): string {
  return KIND_KEYS.get(kind) ?? kindKey(kind);
}

/** The key for events of this HA event type: shared for the types in `known`, built for any other name. */
export function typeKeyIn(known: ReadonlyMap<string, string>, haEventType: string): string {
  return known.get(haEventType) ?? typeKey(haEventType);
}

/** A table for `typeKeyIn`. */
export function typeKeyTable(haEventTypes: Iterable<string>): ReadonlyMap<string, string> {
  return new Map([...haEventTypes].map((type) => [type, typeKey(type)]));
}
