import type { EntityInfo, RoomInfo } from "../../src/core/events.js";
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

/** One room's members with their states (and device classes): what per-room derivations read. */
export function homeWithRoom(
  roomId: string,
  members: Readonly<Record<string, { readonly state: string | null; readonly device_class?: string }>>,
): HomeDirectory {
  const ids = Object.keys(members);
  const entity = (id: string): EntityInfo | undefined => {
    const member = members[id];
    if (member === undefined) return undefined;
    return {
      id,
      name: id,
      type: id.slice(0, id.indexOf(".")),
      source: "homeassistant",
      state: member.state,
      attributes: member.device_class === undefined ? {} : { device_class: member.device_class },
      device_id: null,
      disabled: false,
      last_changed: null,
      last_updated: null,
    };
  };
  return {
    rooms: () => [],
    room: () => undefined,
    floors: () => [],
    entities: () => ids.flatMap((id) => entity(id) ?? []),
    entity,
    roomOf: (id) => (id in members ? roomId : null),
    roomEntityIds: (room) => (room === roomId ? ids : []),
  };
}
