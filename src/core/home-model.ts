import type { EntityInfo, EventSourceName, FloorInfo, NewBridgeEvent, RoomInfo } from "./events.js";
import type { HaStateObject, HomeDirectory, StateFeed } from "./home.js";
import { domainOf, type EntityView, entityEvents, floorEvents, roomEvents } from "./home-model/normalize.js";
import { isoFromMs } from "./iso-time.js";

/** Registry records as the model keeps them: only the fields the bridge derives something from. */
export interface FloorRecord {
  readonly floor_id: string;
  readonly name: string;
  readonly level: number | null;
}

export interface AreaRecord {
  readonly area_id: string;
  readonly name: string;
  readonly floor_id: string | null;
}

export interface DeviceRecord {
  readonly id: string;
  /** `name_by_user ?? name`. */
  readonly name: string | null;
  readonly area_id: string | null;
}

export interface EntityRecord {
  /** The registry's stable id (survives renames). */
  readonly id: string;
  readonly entity_id: string;
  readonly name: string | null;
  readonly original_name: string | null;
  readonly device_id: string | null;
  readonly area_id: string | null;
  readonly disabled_by: string | null;
}

export interface RegistrySnapshot {
  readonly floors: readonly FloorRecord[];
  readonly areas: readonly AreaRecord[];
  readonly devices: readonly DeviceRecord[];
  readonly entities: readonly EntityRecord[];
}

interface DerivedIndex {
  readonly rooms: ReadonlyMap<string, RoomInfo>;
  readonly floors: ReadonlyMap<string, FloorInfo>;
  /** Every entity (enabled or not) whose effective room is the key. */
  readonly members: ReadonlyMap<string, string[]>;
}

/** An entity's registry-derived facets (the parts of its view no state change can alter). */
interface Placement {
  readonly registered: boolean;
  readonly type: string;
  /** The registry's own name override. */
  readonly registry_name: string | null;
  /** The name when neither the registry override nor `friendly_name` gives one. */
  readonly fallback_name: string;
  readonly device_id: string | null;
  readonly disabled: boolean;
  readonly room_id: string | null;
  readonly area_id: string | null;
}

interface StoredState {
  readonly state: HaStateObject;
  readonly source: EventSourceName;
}

export interface ModelCounts {
  readonly entities: number;
  readonly states: number;
  readonly rooms: number;
  readonly floors: number;
  /** Registry references to areas, floors or devices that do not exist (treated as none). */
  readonly dangling_references: number;
}

const NO_MEMBERS: readonly string[] = [];

/**
 * The home as the bridge knows it: HA floors (PMA areas), areas (rooms), devices, registry entries and
 * states. An entity exists while it has a registry entry or a state. Every mutation returns the events
 * that describe it, computed by the pure functions in `home-model/normalize.ts`; the model itself is pure
 * in-memory state with no I/O.
 */
export class HomeModel implements HomeDirectory, StateFeed {
  private floorMap = new Map<string, FloorRecord>();
  private areaMap = new Map<string, AreaRecord>();
  private deviceMap = new Map<string, DeviceRecord>();
  private entryMap = new Map<string, EntityRecord>();
  private readonly stateMap = new Map<string, StoredState>();
  /**
   * Rooms, floors and room membership derived from the maps above. Live state changes of known entities (the
   * hot path) leave it valid; anything that adds, removes or re-homes an entity drops it.
   */
  private derivedIndex: DerivedIndex | undefined;
  /**
   * Each entity's view and its registry part, built when first asked for. A view depends on the registries
   * and the entity's own state only, so a state change rebuilds just that entity's view from its cached
   * placement; any registry change drops both caches.
   */
  private readonly views = new Map<string, EntityView>();
  private readonly placements = new Map<string, Placement>();
  private stampMs = Number.NaN;
  private stamp = "";

  constructor(private readonly now: () => Date = () => new Date()) {}

  // ---- HomeDirectory -----------------------------------------------------------------------------------

  rooms(): readonly RoomInfo[] {
    return [...this.roomInfos().values()];
  }

  room(roomId: string): RoomInfo | undefined {
    return this.roomInfos().get(roomId);
  }

  floors(): readonly FloorInfo[] {
    return [...this.floorInfos().values()];
  }

  entities(): readonly EntityInfo[] {
    return this.entityIds().flatMap((id) => this.view(id)?.info ?? []);
  }

  entity(entityId: string): EntityInfo | undefined {
    return this.view(entityId)?.info;
  }

  roomOf(entityId: string): string | null {
    return this.view(entityId)?.room_id ?? null;
  }

  roomEntityIds(roomId: string): readonly string[] {
    return this.derived().members.get(roomId) ?? NO_MEMBERS;
  }

  /** The current HA state object of an entity, as last applied. */
  state(entityId: string): HaStateObject | undefined {
    return this.stateMap.get(entityId)?.state;
  }

  counts(): ModelCounts {
    let dangling = 0;
    for (const area of this.areaMap.values()) {
      if (area.floor_id !== null && !this.floorMap.has(area.floor_id)) dangling++;
    }
    for (const device of this.deviceMap.values()) {
      if (device.area_id !== null && !this.areaMap.has(device.area_id)) dangling++;
    }
    for (const entry of this.entryMap.values()) {
      if (entry.area_id !== null && !this.areaMap.has(entry.area_id)) dangling++;
      if (entry.device_id !== null && !this.deviceMap.has(entry.device_id)) dangling++;
    }
    return {
      entities: this.entityIds().length,
      states: this.stateMap.size,
      rooms: this.areaMap.size,
      floors: this.floorMap.size,
      dangling_references: dangling,
    };
  }

  // ---- mutations ---------------------------------------------------------------------------------------

  /** One live state change (`newState` null = the state went away). */
  applyStateChange(
    entityId: string,
    newState: HaStateObject | null,
    source: EventSourceName,
  ): NewBridgeEvent[] {
    const time = this.timestamp();
    const before = this.view(entityId);
    const roomsBefore = before === undefined || newState === null ? this.roomInfos() : undefined;
    if (newState === null || !this.stateMap.has(entityId)) this.derivedIndex = undefined;
    if (newState === null) this.stateMap.delete(entityId);
    else this.stateMap.set(entityId, { state: newState, source });
    const after = this.buildView(entityId);
    if (after === undefined) this.views.delete(entityId);
    else this.views.set(entityId, after);
    const events = entityEvents(before, after, time);
    // Only an entity appearing or disappearing changes a room's entity count.
    if (roomsBefore !== undefined && (before === undefined) !== (after === undefined)) {
      const rooms = roomEvents(roomsBefore, this.roomInfos(), time);
      events.push(...rooms.upserts, ...rooms.removals);
    }
    return events;
  }

  /**
   * Replaces whatever is given (any registries, and/or every state at once, e.g. after a reconnect) and
   * returns everything that changed, removals included: entities gone while the bridge was away are
   * reported here.
   */
  resync(input: {
    readonly registries?: Partial<RegistrySnapshot>;
    readonly states?: readonly HaStateObject[];
    readonly source?: EventSourceName;
  }): NewBridgeEvent[] {
    const time = this.timestamp();
    const viewsBefore = this.allViews();
    const roomsBefore = this.roomInfos();
    const floorsBefore = this.floorInfos();
    const { registries } = input;
    this.registriesChanged();
    if (registries?.floors) this.floorMap = new Map(registries.floors.map((f) => [f.floor_id, f]));
    if (registries?.areas) this.areaMap = new Map(registries.areas.map((a) => [a.area_id, a]));
    if (registries?.devices) this.deviceMap = new Map(registries.devices.map((d) => [d.id, d]));
    if (registries?.entities) this.entryMap = new Map(registries.entities.map((e) => [e.entity_id, e]));
    if (input.states) {
      const source = input.source ?? "homeassistant";
      this.stateMap.clear();
      for (const state of input.states) this.stateMap.set(state.entity_id, { state, source });
    }
    const viewsAfter = this.allViews();
    const floors = floorEvents(floorsBefore, this.floorInfos(), time);
    const rooms = roomEvents(roomsBefore, this.roomInfos(), time);
    const entityChanges: NewBridgeEvent[] = [];
    for (const [id, after] of viewsAfter)
      entityChanges.push(...entityEvents(viewsBefore.get(id), after, time));
    for (const [id, before] of viewsBefore) {
      if (!viewsAfter.has(id)) entityChanges.push(...entityEvents(before, undefined, time));
    }
    return [...floors.upserts, ...rooms.upserts, ...entityChanges, ...rooms.removals, ...floors.removals];
  }

  /**
   * An entity id changed (`entity_registry_updated` with `old_entity_id`): the entity keeps its history
   * and clients get one `entity_updated` naming the old id, not a removal and an addition.
   */
  renameEntity(oldEntityId: string, newEntityId: string): NewBridgeEvent[] {
    const before = this.view(oldEntityId);
    if (before === undefined || oldEntityId === newEntityId) return [];
    const time = this.timestamp();
    this.registriesChanged();
    const entry = this.entryMap.get(oldEntityId);
    if (entry !== undefined) {
      this.entryMap.delete(oldEntityId);
      this.entryMap.set(newEntityId, { ...entry, entity_id: newEntityId });
    }
    const stored = this.stateMap.get(oldEntityId);
    if (stored !== undefined) {
      this.stateMap.delete(oldEntityId);
      // A state already reported under the new id is newer than the old one.
      if (!this.stateMap.has(newEntityId)) {
        this.stateMap.set(newEntityId, { ...stored, state: { ...stored.state, entity_id: newEntityId } });
      }
    }
    return entityEvents(before, this.view(newEntityId), time);
  }

  // ---- derivation --------------------------------------------------------------------------------------

  /** `now()` as ISO text; formatted once per millisecond, since bursts of changes share one. */
  private timestamp(): string {
    const ms = this.now().getTime();
    if (ms !== this.stampMs) {
      this.stamp = isoFromMs(ms);
      this.stampMs = ms;
    }
    return this.stamp;
  }

  private registriesChanged(): void {
    this.derivedIndex = undefined;
    this.views.clear();
    this.placements.clear();
  }

  private entityIds(): string[] {
    const ids = new Set(this.entryMap.keys());
    for (const id of this.stateMap.keys()) ids.add(id);
    return [...ids];
  }

  private allViews(): Map<string, EntityView> {
    const views = new Map<string, EntityView>();
    for (const id of this.entityIds()) {
      const view = this.view(id);
      if (view !== undefined) views.set(id, view);
    }
    return views;
  }

  /** Effective room: the entity's own area, else its device's; references to missing areas count as none. */
  private roomIdOf(entry: EntityRecord | undefined): string | null {
    if (entry === undefined) return null;
    const own =
      entry.area_id ??
      (entry.device_id === null ? null : (this.deviceMap.get(entry.device_id)?.area_id ?? null));
    return own !== null && this.areaMap.has(own) ? own : null;
  }

  private floorIdOf(roomId: string | null): string | null {
    if (roomId === null) return null;
    const floorId = this.areaMap.get(roomId)?.floor_id ?? null;
    return floorId !== null && this.floorMap.has(floorId) ? floorId : null;
  }

  private view(entityId: string): EntityView | undefined {
    const cached = this.views.get(entityId);
    if (cached !== undefined) return cached;
    const view = this.buildView(entityId);
    if (view !== undefined) this.views.set(entityId, view);
    return view;
  }

  private buildView(entityId: string): EntityView | undefined {
    const stored = this.stateMap.get(entityId);
    // Before `placement`, which caches: clients ask about ids of their choosing, and a cache entry per
    // made-up id would grow for as long as the registries do not change.
    if (stored === undefined && !this.entryMap.has(entityId)) return undefined;
    const placement = this.placement(entityId);
    const state = stored?.state;
    const friendly = state?.attributes.friendly_name;
    const info: EntityInfo = {
      id: entityId,
      name:
        placement.registry_name ??
        (typeof friendly === "string" ? friendly : null) ??
        placement.fallback_name,
      type: placement.type,
      source: stored?.source ?? "homeassistant",
      state: state?.state ?? null,
      attributes: state?.attributes ?? {},
      device_id: placement.device_id,
      disabled: placement.disabled,
      last_changed: state?.last_changed ?? null,
      last_updated: state?.last_updated ?? state?.last_changed ?? null,
    };
    return {
      info,
      room_id: placement.room_id,
      area_id: placement.area_id,
      registry_name: placement.registry_name,
      user_id: state?.context?.user_id ?? null,
    };
  }

  /** What the registries say about an entity, kept until they change (state changes do not touch it). */
  private placement(entityId: string): Placement {
    const cached = this.placements.get(entityId);
    if (cached !== undefined) return cached;
    const entry = this.entryMap.get(entityId);
    const device = entry?.device_id == null ? undefined : this.deviceMap.get(entry.device_id);
    const roomId = this.roomIdOf(entry);
    const placement: Placement = {
      registered: entry !== undefined,
      type: domainOf(entityId),
      registry_name: entry?.name ?? null,
      fallback_name: entry?.original_name ?? device?.name ?? entityId,
      device_id: entry?.device_id ?? null,
      disabled: entry?.disabled_by != null,
      room_id: roomId,
      area_id: this.floorIdOf(roomId),
    };
    this.placements.set(entityId, placement);
    return placement;
  }

  private derived(): DerivedIndex {
    this.derivedIndex ??= this.buildIndex();
    return this.derivedIndex;
  }

  private roomInfos(): ReadonlyMap<string, RoomInfo> {
    return this.derived().rooms;
  }

  private floorInfos(): ReadonlyMap<string, FloorInfo> {
    return this.derived().floors;
  }

  /** Rooms with their entity counts (enabled entities whose effective room it is), floors, and room members. */
  private buildIndex(): DerivedIndex {
    const counts = new Map<string, number>();
    const members = new Map<string, string[]>();
    for (const id of this.entityIds()) {
      const entry = this.entryMap.get(id);
      const room = this.roomIdOf(entry);
      if (room === null) continue;
      const list = members.get(room);
      if (list === undefined) members.set(room, [id]);
      else list.push(id);
      if (entry?.disabled_by == null) counts.set(room, (counts.get(room) ?? 0) + 1);
    }
    const rooms = new Map<string, RoomInfo>();
    const roomsByFloor = new Map<string, string[]>();
    for (const area of this.areaMap.values()) {
      rooms.set(area.area_id, {
        id: area.area_id,
        name: area.name,
        area: this.floorIdOf(area.area_id),
        entity_count: counts.get(area.area_id) ?? 0,
      });
      if (area.floor_id !== null)
        roomsByFloor.set(area.floor_id, [...(roomsByFloor.get(area.floor_id) ?? []), area.area_id]);
    }
    const floors = new Map<string, FloorInfo>();
    for (const floor of this.floorMap.values()) {
      floors.set(floor.floor_id, {
        id: floor.floor_id,
        name: floor.name,
        level: floor.level,
        room_ids: roomsByFloor.get(floor.floor_id) ?? [],
      });
    }
    return { rooms, floors, members };
  }
}
