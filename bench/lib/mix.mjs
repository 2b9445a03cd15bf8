/**
 * The client mix every fan-out run uses, for the bridge and the baselines alike: a few clients that take
 * every state change, most following a room or a handful of entities, in both dialects. Deterministic
 * (seeded), so the same plan can be rebuilt and checked against what was delivered.
 */

/** Share of connections per kind; the rest follow entities over the PMA dialect. */
export const MIX = { pma_all: 0.05, pma_rooms: 0.45, occupancy_room: 0.15, pma_entities: 0.35 };
export const ENTITIES_PER_CLIENT = 20;

/** Options for the simulator's home generator: about one room per 50 entities (40 rooms at 2,000). */
export function homeOptions(entities, seed = 1) {
  return { entities, areas: Math.min(60, Math.max(4, Math.round(entities / 50))), seed };
}

/** Small, fast, seeded PRNG (mulberry32) so plans are reproducible. */
export function random(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * One subscription spec per connection.
 * @param {number} count
 * @param {{ entities: { entity_id: string, room_id: string | null }[] }} home
 */
export function planClients(count, home, seed = 7) {
  const next = random(seed);
  const rooms = [...new Set(home.entities.map((e) => e.room_id).filter((r) => r !== null))].sort();
  const pick = (list) => list[Math.floor(next() * list.length)];
  const boundaries = [];
  let total = 0;
  for (const [kind, share] of Object.entries(MIX)) {
    total += share;
    boundaries.push([kind, total]);
  }
  const plan = [];
  for (let i = 0; i < count; i++) {
    // Interleave kinds (not blocks), so any stride through the plan samples every kind.
    const position = (i * 0.618033988749895) % 1;
    const kind = boundaries.find(([, upTo]) => position < upTo)?.[0] ?? "pma_entities";
    if (kind === "pma_all") plan.push({ kind });
    else if (kind === "pma_rooms") plan.push({ kind, rooms: [pick(rooms)] });
    else if (kind === "occupancy_room") plan.push({ kind, room: pick(rooms) });
    else {
      const entities = new Set();
      while (entities.size < Math.min(ENTITIES_PER_CLIENT, home.entities.length))
        entities.add(pick(home.entities).entity_id);
      plan.push({ kind, entities: [...entities] });
    }
  }
  return plan;
}

/**
 * Totals of emitted state changes: overall, per room, per entity.
 * @param {Record<string, number>} emitted changes per entity id
 * @param {Record<string, string | null>} roomOf
 */
export function emittedTotals(emitted, roomOf) {
  const perRoom = new Map();
  let all = 0;
  for (const [entityId, times] of Object.entries(emitted)) {
    all += times;
    const room = roomOf[entityId] ?? null;
    if (room !== null) perRoom.set(room, (perRoom.get(room) ?? 0) + times);
  }
  return { all, perRoom, perEntity: emitted };
}

/** How many of the emitted changes a connection with this spec should receive. */
export function expectedFor(spec, totals) {
  switch (spec.kind) {
    case "pma_all":
      return totals.all;
    case "pma_rooms":
      return spec.rooms.reduce((sum, room) => sum + (totals.perRoom.get(room) ?? 0), 0);
    case "occupancy_room":
      return totals.perRoom.get(spec.room) ?? 0;
    case "pma_entities":
      return spec.entities.reduce((sum, id) => sum + (totals.perEntity[id] ?? 0), 0);
    default:
      throw new Error(`unknown client kind ${spec.kind}`);
  }
}
