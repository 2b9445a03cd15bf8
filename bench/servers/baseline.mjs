/**
 * The two reference servers the bridge is compared with, in the same run and against the same clients and
 * the same Home Assistant event stream. Both read HA with the minimal client, answer the handshakes and
 * subscriptions the client load sends (both dialects), and route with plain maps. They differ only in
 * how one event reaches its recipients:
 *   - `ceiling`: serialize once per dialect, frame once (`Sender.frame`), write the same bytes to every
 *     recipient socket: the least work this stack (Node + ws) can do per delivery;
 *   - `naive`: build and `JSON.stringify` the message for each recipient, then `ws.send` it.
 * Usage: node bench/servers/baseline.mjs ceiling|naive  (driven over IPC by bench/run.mjs)
 */
import { createServer } from "node:http";
import { Sender, WebSocketServer } from "ws";
import { HaConnection, readHome } from "../lib/ha-client.mjs";
import { serve } from "../lib/rpc.mjs";

const mode = process.argv[2];
if (mode !== "ceiling" && mode !== "naive") throw new Error("usage: baseline.mjs ceiling|naive");

const pmaAll = new Set();
const pmaByEntity = new Map();
const pmaByRoom = new Map();
const occupancyByRoom = new Map();
const home = { roomOf: new Map(), floorOf: new Map() };
let seq = 0;
let clientIds = 0;
let ha;

function addTo(index, key, ws) {
  const set = index.get(key) ?? new Set();
  index.set(key, set);
  set.add(ws);
}

function removeEverywhere(ws) {
  pmaAll.delete(ws);
  for (const index of [pmaByEntity, pmaByRoom, occupancyByRoom])
    for (const set of index.values()) set.delete(ws);
}

const iso = () => new Date().toISOString();

function onPmaCommand(ws, message) {
  const data = message.data ?? {};
  let type;
  let items;
  switch (message.type) {
    case "subscribe_ha_events":
      pmaAll.add(ws);
      [type, items] = ["ha_events", data.event_types];
      break;
    case "subscribe_ha_entities":
      for (const id of data.entity_ids) addTo(pmaByEntity, id, ws);
      [type, items] = ["ha_entities", data.entity_ids];
      break;
    case "subscribe_ha_rooms":
      for (const id of data.room_ids) addTo(pmaByRoom, id, ws);
      [type, items] = ["ha_rooms", data.room_ids];
      break;
    default:
      return;
  }
  const reply = { action: "subscribed", type, items, total_subscriptions: items.length };
  ws.send(JSON.stringify({ type: "subscription_update", data: reply, timestamp: iso(), seq: 0 }));
}

function onOccupancyCommand(ws, message, room) {
  if (message.type !== "authentication") return;
  addTo(occupancyByRoom, room, ws);
  const reply = {
    success: true,
    message: "Authentication successful",
    capabilities: ["room_specific"],
    room_filters: [],
  };
  ws.send(JSON.stringify({ message_type: "authentication", timestamp: iso(), data: reply }));
}

function onConnection(ws, req) {
  const path = new URL(req.url, "http://bench.invalid").pathname;
  const clientId = `client-${++clientIds}`;
  ws.on("close", () => removeEverywhere(ws));
  if (path === "/ws") {
    const welcome = {
      client_id: clientId,
      server_time: iso(),
      message: "welcome",
      features: [],
      protocol_version: "1",
    };
    ws.send(JSON.stringify({ type: "welcome", data: welcome, timestamp: iso(), seq: 0 }));
    const success = { client_id: clientId, subject: "bench", capabilities: ["entities"], rooms: [] };
    ws.send(JSON.stringify({ type: "authentication_success", data: success, timestamp: iso(), seq: 0 }));
    ws.on("message", (data) => onPmaCommand(ws, JSON.parse(data.toString())));
    return;
  }
  const room = /^\/ws\/room\/([^/]+)$/.exec(path)?.[1];
  if (room === undefined) {
    ws.close(1008, "unknown path");
    return;
  }
  const hello = {
    client_id: clientId,
    server_version: "bench",
    api_version: "1.0.0",
    endpoint: path,
    authentication_required: true,
  };
  ws.send(JSON.stringify({ message_type: "connection", timestamp: iso(), data: hello }));
  ws.on("message", (data) => onOccupancyCommand(ws, JSON.parse(data.toString()), room));
}

function changedAttributes(oldAttributes, newAttributes) {
  const keys = new Set([...Object.keys(oldAttributes), ...Object.keys(newAttributes)]);
  return [...keys].filter((key) => JSON.stringify(oldAttributes[key]) !== JSON.stringify(newAttributes[key]));
}

/** The two wire messages for one HA `state_changed`, as plain objects. */
function messagesFor(event) {
  const { entity_id: entityId, old_state: oldState, new_state: newState } = event.data;
  const room = home.roomOf.get(entityId) ?? null;
  const timestamp = iso();
  const data = {
    entity_id: entityId,
    entity_type: entityId.slice(0, entityId.indexOf(".")),
    source: "homeassistant",
    old_state: oldState?.state ?? null,
    new_state: newState?.state ?? null,
    attributes: newState?.attributes ?? {},
    changed_attributes: changedAttributes(oldState?.attributes ?? {}, newState?.attributes ?? {}),
    room_id: room,
    area_id: room === null ? null : (home.floorOf.get(room) ?? null),
    last_changed: newState?.last_changed ?? null,
    last_updated: newState?.last_updated ?? null,
    user_id: event.context?.user_id ?? null,
  };
  seq += 1;
  const pma = { type: "pma_entity_state_changed", data, timestamp, seq };
  const occupancy =
    room === null
      ? null
      : {
          message_id: `m-${seq}`,
          message_type: "room_state_update",
          timestamp,
          endpoint: `/ws/room/${room}`,
          room_id: room,
          requires_ack: false,
          data,
          seq,
        };
  return { pma, occupancy, entityId, room };
}

function pmaRecipients(entityId, room) {
  const out = new Set(pmaAll);
  for (const ws of pmaByEntity.get(entityId) ?? []) out.add(ws);
  if (room !== null) for (const ws of pmaByRoom.get(room) ?? []) out.add(ws);
  return out;
}

const frameOptions = { fin: true, opcode: 1, mask: false, readOnly: true, rsv1: false };
const preFrame = (message) => Buffer.concat(Sender.frame(Buffer.from(JSON.stringify(message)), frameOptions));

function deliverCeiling({ pma, occupancy, entityId, room }) {
  const pmaFrame = [preFrame(pma)];
  for (const ws of pmaRecipients(entityId, room)) ws._sender.sendFrame(pmaFrame);
  const occupants = room === null ? undefined : occupancyByRoom.get(room);
  if (occupants === undefined || occupants.size === 0) return;
  const occupancyFrame = [preFrame(occupancy)];
  for (const ws of occupants) ws._sender.sendFrame(occupancyFrame);
}

function deliverNaive({ pma, occupancy, entityId, room }) {
  for (const ws of pmaRecipients(entityId, room)) ws.send(JSON.stringify(pma));
  for (const ws of (room === null ? undefined : occupancyByRoom.get(room)) ?? []) {
    ws.send(JSON.stringify(occupancy));
  }
}

const deliver = mode === "ceiling" ? deliverCeiling : deliverNaive;
const http = createServer((_req, res) => res.end("ok"));
const wss = new WebSocketServer({ server: http, perMessageDeflate: false, clientTracking: false });
wss.on("connection", onConnection);

serve(
  {
    /** Connects to the simulated HA, reads the home, starts listening; resolves with the port. */
    async start({ haUrl, haToken }) {
      ha = await HaConnection.open(haUrl, haToken);
      const read = await readHome(ha);
      for (const entity of read.entities) {
        home.roomOf.set(entity.entity_id, entity.room_id);
        if (entity.room_id !== null) home.floorOf.set(entity.room_id, entity.area_id);
      }
      await ha.subscribeEvents("state_changed", (event) => deliver(messagesFor(event)));
      await new Promise((resolve) => http.listen(0, "127.0.0.1", resolve));
      return { port: http.address().port };
    },
  },
  () => {
    ha?.close();
    http.closeAllConnections();
  },
);
