import type { HomeDirectory } from "../../core/home.js";
import { RESERVED_SEGMENTS } from "./topics.js";

export interface ResolvedRoom {
  /** The Home Assistant area id the predictor's room maps onto. */
  readonly roomId: string;
  /** The area's name, when Home Assistant knows it. */
  readonly name: string | undefined;
}

export type RoomResolution =
  | { readonly ok: true; readonly room: ResolvedRoom }
  | { readonly ok: false; readonly reason: "invalid_room" | "reserved_room" | "unknown_room" };

/** Room ids as predictors and HA use them: short, no MQTT wildcards or separators. */
const ROOM_ID = /^[\p{L}\p{N}_-]{1,64}$/u;

/**
 * Maps predictor room ids onto Home Assistant areas: the configured `room_map` first, then an area with the
 * same id, then an area whose name slugifies to the id. Without a home model (or before it has any area)
 * the id is taken as it is, so a bridge without Home Assistant still serves predictions.
 */
export class RoomResolver {
  /** A Map, not the config object: room ids come off the wire, and `constructor` must not find Object's. */
  private readonly roomMap: ReadonlyMap<string, string>;

  constructor(
    roomMap: Readonly<Record<string, string>>,
    private readonly home: HomeDirectory | undefined,
  ) {
    this.roomMap = new Map(Object.entries(roomMap));
  }

  resolve(predictorRoomId: string): RoomResolution {
    if (!ROOM_ID.test(predictorRoomId)) return { ok: false, reason: "invalid_room" };
    if (RESERVED_SEGMENTS.has(predictorRoomId)) return { ok: false, reason: "reserved_room" };
    const mapped = this.roomMap.get(predictorRoomId);
    const rooms = this.home?.rooms() ?? [];
    if (mapped !== undefined)
      return { ok: true, room: { roomId: mapped, name: this.home?.room(mapped)?.name } };
    const same = this.home?.room(predictorRoomId);
    if (same !== undefined) return { ok: true, room: { roomId: same.id, name: same.name } };
    const bySlug = rooms.find((room) => slugify(room.name) === predictorRoomId);
    if (bySlug !== undefined) return { ok: true, room: { roomId: bySlug.id, name: bySlug.name } };
    if (rooms.length === 0) return { ok: true, room: { roomId: predictorRoomId, name: undefined } };
    return { ok: false, reason: "unknown_room" };
  }
}

/** Home Assistant's slug rule: lower case ASCII, accents dropped, every other run of characters → `_`. */
export function slugify(text: string): string {
  return text
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "_")
    .replace(/^_+|_+$/g, "");
}
