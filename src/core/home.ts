import type {
  Attributes,
  EntityInfo,
  EventSourceName,
  FloorInfo,
  NewBridgeEvent,
  RoomInfo,
} from "./events.js";

/**
 * Read access to the home model (HA areas = rooms, floors = PMA areas, entities with their effective room).
 * The Home Assistant source owns and updates the model; the server, the MQTT source and the demo read it.
 */
export interface HomeDirectory {
  rooms(): readonly RoomInfo[];
  room(roomId: string): RoomInfo | undefined;
  floors(): readonly FloorInfo[];
  entities(): readonly EntityInfo[];
  entity(entityId: string): EntityInfo | undefined;
  /** Effective room of an entity: its own area, else its device's area, else null. */
  roomOf(entityId: string): string | null;
  /** Ids of the entities whose effective room this is (indexed: no scan of the whole home). */
  roomEntityIds(roomId: string): readonly string[];
}

/** A Home Assistant state object as `get_states`, `state_changed` and `mqtt_eventstream` carry it. */
export interface HaStateObject {
  readonly entity_id: string;
  readonly state: string;
  readonly attributes: Attributes;
  readonly last_changed?: string;
  readonly last_updated?: string;
  readonly context?: {
    readonly id: string;
    readonly parent_id?: string | null;
    readonly user_id?: string | null;
  } | null;
}

/**
 * Lets a source other than the HA WebSocket (e.g. HA's `mqtt_eventstream` over MQTT) feed state changes into
 * the same model and get the same normalised events back.
 */
export interface StateFeed {
  applyStateChange(
    entityId: string,
    newState: HaStateObject | null,
    source: EventSourceName,
  ): NewBridgeEvent[];
}
