import { describe, expect, it } from "vitest";
import type { RoomInfo } from "../../../src/core/events.js";
import { RoomResolver, slugify } from "../../../src/sources/mqtt/rooms.js";
import { homeWithRooms } from "../../helpers/home-directory.js";

const room = (id: string, name: string): RoomInfo => ({ id, name, area: null, entity_count: 0 });

describe("RoomResolver", () => {
  const home = homeWithRooms([
    room("living_room", "Living room"),
    room("bedroom", "Bedroom"),
    room("a1b2c3", "Kinder Zimmer"),
  ]);

  it("prefers room_map, then an area with the same id, then an area whose name slugifies to the id", () => {
    const resolver = new RoomResolver({ living_kitchen: "living_room" }, home);
    expect(resolver.resolve("living_kitchen")).toEqual({
      ok: true,
      room: { roomId: "living_room", name: "Living room" },
    });
    expect(resolver.resolve("bedroom")).toEqual({ ok: true, room: { roomId: "bedroom", name: "Bedroom" } });
    expect(resolver.resolve("kinder_zimmer")).toEqual({
      ok: true,
      room: { roomId: "a1b2c3", name: "Kinder Zimmer" },
    });
  });

  it("refuses rooms Home Assistant does not have, reserved words and ids with separators", () => {
    const resolver = new RoomResolver({}, home);
    expect(resolver.resolve("attic")).toEqual({ ok: false, reason: "unknown_room" });
    expect(resolver.resolve("system")).toEqual({ ok: false, reason: "reserved_room" });
    expect(resolver.resolve("a/b")).toEqual({ ok: false, reason: "invalid_room" });
    expect(resolver.resolve("")).toEqual({ ok: false, reason: "invalid_room" });
  });

  it("takes the predictor's id as it is when there is no home model or it has no areas yet", () => {
    expect(new RoomResolver({}, undefined).resolve("office")).toEqual({
      ok: true,
      room: { roomId: "office", name: undefined },
    });
    expect(new RoomResolver({}, homeWithRooms([])).resolve("office").ok).toBe(true);
  });
});

describe("RoomResolver with ids that name Object.prototype members", () => {
  it.each(["constructor", "valueOf", "toString", "hasOwnProperty", "__proto__"])(
    "maps %s through room_map only when room_map has it",
    (id) => {
      const home = homeWithRooms([room("living_room", "Living room")]);
      expect(new RoomResolver({ living_kitchen: "living_room" }, home).resolve(id)).toEqual({
        ok: false,
        reason: "unknown_room",
      });
      expect(new RoomResolver({}, undefined).resolve(id)).toEqual({
        ok: true,
        room: { roomId: id, name: undefined },
      });
      expect(new RoomResolver({ [id]: "living_room" }, home).resolve(id)).toEqual({
        ok: true,
        room: { roomId: "living_room", name: "Living room" },
      });
    },
  );
});

describe("slugify", () => {
  it("follows Home Assistant's slug rule", () => {
    expect(slugify("Küche & Essen")).toBe("kuche_essen");
    expect(slugify("  Living Room ")).toBe("living_room");
  });
});
