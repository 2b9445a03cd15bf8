import type { RoomInfo } from "../../src/core/events.js";
import type { HomeDirectory } from "../../src/core/home.js";

/** A home that has these rooms and no entities: what room mapping needs. */
export function homeWithRooms(rooms: readonly RoomInfo[]): HomeDirectory {
  return {
    rooms: () => rooms,
    room: (id) => rooms.find((room) => room.id === id),
    floors: () => [],
    entities: () => [],
    entity: () => undefined,
    roomOf: () => null,
    roomEntityIds: () => [],
  };
}
