import type {
  AdapterStatusData,
  EntityInfo,
  PmaMessage,
  PredictionUpdateData,
  RoomInfo,
  SystemStatusData,
} from "../../client/index.js";

/**
 * What the dashboard knows, folded from the bridge's PMA messages. Pure and DOM-free, so it is tested in
 * Node; the Lit components only render it.
 */

/** An entity as the dashboard shows it. */
export interface EntityView {
  readonly id: string;
  readonly name: string;
  readonly domain: string;
  readonly state: string | null;
  readonly unit: string | null;
  readonly deviceClass: string | null;
  readonly roomId: string | null;
  /** When the dashboard last saw it change (ms), for a brief highlight. */
  readonly changedAt: number;
}

export interface RoomView {
  readonly id: string;
  readonly name: string;
  readonly floor: string | null;
}

export interface TailEntry {
  readonly id: number;
  readonly at: number;
  readonly type: string;
  readonly category: TailCategory;
  readonly summary: string;
  readonly roomId: string | null;
  readonly entityId: string | null;
}

/** A tail line before it is numbered and timed. */
type TailInput = Omit<TailEntry, "id" | "at">;

function entry(
  type: string,
  category: TailCategory,
  summary: string,
  roomId: string | null,
  entityId: string | null,
): TailInput {
  return { type, category, summary, roomId, entityId };
}

export type TailCategory = "entities" | "rooms" | "automations" | "predictions" | "alerts" | "system";

export const TAIL_CATEGORIES: readonly TailCategory[] = [
  "entities",
  "rooms",
  "automations",
  "predictions",
  "alerts",
  "system",
];

/** Binary sensors whose `on` means someone is in the room (as the bridge itself derives occupancy). */
const PRESENCE_CLASSES = new Set(["motion", "occupancy", "presence"]);
const TAIL_SIZE = 200;

const domainOf = (entityId: string): string => entityId.slice(0, entityId.indexOf("."));

function text(value: unknown): string | null {
  return typeof value === "string" ? value : null;
}

export class DashboardState {
  readonly entities = new Map<string, EntityView>();
  readonly rooms = new Map<string, RoomView>();
  readonly predictions = new Map<string, PredictionUpdateData>();
  readonly adapters = new Map<string, AdapterStatusData>();
  systemStatus: SystemStatusData | null = null;
  readonly tail: TailEntry[] = [];
  /** Every message folded so far; the dashboard turns it into a rate. */
  messageCount = 0;
  private nextTailId = 1;

  constructor(private readonly now: () => number = Date.now) {}

  apply(message: PmaMessage): void {
    this.messageCount += 1;
    const line = this.fold(message);
    if (line !== null) this.log(line);
  }

  /**
   * Replaces what the dashboard knows with a snapshot's current state: entities, rooms, predictions and
   * statuses the snapshot does not name are gone. Its items are not events, so the tail gets one line.
   */
  private replace(snapshot: PmaMessage<"snapshot">): TailInput {
    const previous = new Map(this.entities);
    this.entities.clear();
    this.rooms.clear();
    this.predictions.clear();
    this.adapters.clear();
    this.systemStatus = null;
    for (const item of snapshot.data.events) this.fold(item);
    // Only what really changed while the dashboard was away is highlighted.
    for (const [id, entity] of this.entities) {
      const before = previous.get(id);
      if (before === undefined || before.state === entity.state)
        this.entities.set(id, { ...entity, changedAt: before?.changedAt ?? 0 });
    }
    return {
      type: "snapshot",
      category: "system",
      summary: `current state: ${this.rooms.size} rooms, ${this.entities.size} entities (${snapshot.data.reason})`,
      roomId: null,
      entityId: null,
    };
  }

  /** Folds one message into the state; returns the tail line it is worth, if any. */
  private fold(message: PmaMessage): TailInput | null {
    switch (message.type) {
      case "pma_entity_state_changed": {
        const d = message.data;
        const previous = this.entities.get(d.entity_id);
        this.entities.set(d.entity_id, {
          id: d.entity_id,
          name: text(d.attributes.friendly_name) ?? previous?.name ?? d.entity_id,
          domain: d.entity_type || domainOf(d.entity_id),
          state: d.new_state,
          unit: text(d.attributes.unit_of_measurement),
          deviceClass: text(d.attributes.device_class),
          roomId: d.room_id,
          changedAt: this.now(),
        });
        return entry(
          message.type,
          "entities",
          `${d.entity_id}: ${d.old_state ?? "–"} → ${d.new_state ?? "–"}`,
          d.room_id,
          d.entity_id,
        );
      }
      case "pma_entity_added":
      case "pma_entity_updated":
        this.putEntity(message.data.entity, message.data.room_id);
        if (message.type === "pma_entity_updated" && message.data.old_entity_id !== null) {
          this.entities.delete(message.data.old_entity_id);
        }
        return entry(
          message.type,
          "entities",
          `${message.data.entity.id} ${message.type === "pma_entity_added" ? "added" : "updated"}`,
          message.data.room_id,
          message.data.entity.id,
        );
      case "pma_entity_removed":
        this.entities.delete(message.data.entity_id);
        return entry(
          message.type,
          "entities",
          `${message.data.entity_id} removed`,
          message.data.room_id,
          message.data.entity_id,
        );
      case "pma_room_added":
      case "pma_room_updated":
        this.putRoom(message.data.room);
        return entry(
          message.type,
          "rooms",
          `room ${message.data.room.name} ${message.data.action}`,
          message.data.room.id,
          null,
        );
      case "pma_room_removed":
        this.rooms.delete(message.data.room.id);
        return entry(
          message.type,
          "rooms",
          `room ${message.data.room.name} removed`,
          message.data.room.id,
          null,
        );
      case "pma_area_updated":
        return entry(
          message.type,
          "rooms",
          `floor ${message.data.area.name} ${message.data.action}`,
          null,
          null,
        );
      case "pma_automation_triggered":
        return entry(
          message.type,
          "automations",
          `${message.data.rule_name} triggered (${message.data.trigger.value ?? message.data.trigger.type})`,
          null,
          message.data.rule_id,
        );
      case "pma_scene_activated":
        return entry(
          message.type,
          "automations",
          `scene ${message.data.scene_name} activated`,
          null,
          message.data.scene_id,
        );
      case "prediction_update": {
        const d = message.data;
        this.predictions.set(d.room_id, d);
        return entry(
          message.type,
          "predictions",
          `${d.room_name}: ${d.transition_type} at ${d.predicted_time.slice(11, 16)} (${Math.round(d.confidence_score * 100)}%)`,
          d.room_id,
          null,
        );
      }
      case "alert":
        return entry(
          message.type,
          "alerts",
          `${message.data.severity}: ${message.data.message}`,
          message.data.room_id,
          null,
        );
      case "drift":
        return entry(message.type, "alerts", `drift: ${message.data.message}`, message.data.room_id, null);
      case "system_status":
        this.systemStatus = message.data;
        return entry(message.type, "system", `system ${message.data.status}`, null, null);
      case "adapter_status":
        this.adapters.set(message.data.adapter_id, message.data);
        return entry(
          message.type,
          "system",
          `${message.data.adapter_name}: ${message.data.status}`,
          null,
          null,
        );
      case "sync_status":
        return entry(
          message.type,
          "system",
          `${message.data.source} sync ${message.data.status}: ${message.data.message}`,
          null,
          null,
        );
      case "connection_status":
        return entry(
          message.type,
          "system",
          `${message.data.source} ${message.data.status}: ${message.data.message}`,
          null,
          null,
        );
      case "source_event":
        return entry(message.type, "system", `${message.data.source} ${message.data.event_type}`, null, null);
      case "snapshot":
        return this.replace(message);
      case "welcome":
      case "authentication_success":
      case "authentication_failure":
      case "subscription_update":
      case "subscription_error":
      case "rate_limit_warning":
      case "pong":
      case "error":
      case "resume_status":
        return null;
    }
  }

  /** Rooms by floor then name, with the entities in each (entities without a room are left out). */
  roomList(): {
    room: RoomView;
    entities: EntityView[];
    occupied: boolean | null;
    prediction: PredictionUpdateData | undefined;
  }[] {
    const byRoom = new Map<string, EntityView[]>();
    for (const entity of this.entities.values()) {
      if (entity.roomId === null) continue;
      const list = byRoom.get(entity.roomId) ?? [];
      list.push(entity);
      byRoom.set(entity.roomId, list);
      if (!this.rooms.has(entity.roomId))
        this.rooms.set(entity.roomId, { id: entity.roomId, name: titleCase(entity.roomId), floor: null });
    }
    return [...this.rooms.values()]
      .sort((a, b) => (a.floor ?? "").localeCompare(b.floor ?? "") || a.name.localeCompare(b.name))
      .map((room) => {
        const entities = (byRoom.get(room.id) ?? []).sort(
          (a, b) => a.domain.localeCompare(b.domain) || a.name.localeCompare(b.name),
        );
        return { room, entities, occupied: occupancyOf(entities), prediction: this.predictions.get(room.id) };
      });
  }

  private putEntity(entity: EntityInfo, roomId: string | null): void {
    this.entities.set(entity.id, {
      id: entity.id,
      name: entity.name,
      domain: entity.type,
      state: entity.state,
      unit: text(entity.attributes.unit_of_measurement),
      deviceClass: text(entity.attributes.device_class),
      roomId,
      changedAt: this.now(),
    });
  }

  private putRoom(room: RoomInfo): void {
    this.rooms.set(room.id, { id: room.id, name: room.name, floor: room.area });
  }

  private log(entry: TailInput): void {
    this.tail.unshift({ id: this.nextTailId++, at: this.now(), ...entry });
    if (this.tail.length > TAIL_SIZE) this.tail.length = TAIL_SIZE;
  }
}

/** Timestamp states (scenes, buttons, `device_class: timestamp`) shown as a local time, not an ISO string. */
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/;

export function entityState(e: EntityView): string {
  if (e.state === null) return "–";
  if (ISO_TIME.test(e.state) && !Number.isNaN(Date.parse(e.state))) {
    return new Date(e.state).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }
  return e.unit ? `${e.state} ${e.unit}` : e.state;
}

/** `living_room` → `Living Room`: a readable name until the bridge names the room. */
export function titleCase(id: string): string {
  return id
    .split(/[_-]+/)
    .filter(Boolean)
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
    .join(" ");
}

/** Occupied when any presence sensor is on; null when the room has none with a known state. */
export function occupancyOf(entities: readonly EntityView[]): boolean | null {
  const sensors = entities.filter(
    (e) =>
      e.domain === "binary_sensor" &&
      e.deviceClass !== null &&
      PRESENCE_CLASSES.has(e.deviceClass) &&
      (e.state === "on" || e.state === "off"),
  );
  return sensors.length === 0 ? null : sensors.some((e) => e.state === "on");
}

/** Tail entries that pass the category set and the free-text filter (matched against summary, room and entity). */
export function filterTail(
  tail: readonly TailEntry[],
  categories: ReadonlySet<TailCategory>,
  query: string,
): TailEntry[] {
  const q = query.trim().toLowerCase();
  return tail.filter(
    (entry) =>
      categories.has(entry.category) &&
      (q === "" ||
        [entry.summary, entry.roomId ?? "", entry.entityId ?? "", entry.type].some((field) =>
          field.toLowerCase().includes(q),
        )),
  );
}

/** "in 12 min", "in 45 s", "2 min ago": the time to a predicted transition, relative to now. */
export function relativeTime(iso: string, now: number): string {
  const seconds = Math.round((Date.parse(iso) - now) / 1000);
  const abs = Math.abs(seconds);
  const amount =
    abs < 60
      ? `${abs} s`
      : abs < 3600
        ? `${Math.round(abs / 60)} min`
        : `${Math.floor(abs / 3600)} h ${Math.round((abs % 3600) / 60)} min`;
  return seconds >= 0 ? `in ${amount}` : `${amount} ago`;
}

/** A bounded series of samples for a sparkline. */
export class Series {
  readonly values: number[] = [];
  constructor(readonly capacity = 60) {}
  push(value: number): void {
    this.values.push(value);
    if (this.values.length > this.capacity) this.values.shift();
  }
  get last(): number | undefined {
    return this.values.at(-1);
  }
}
