/**
 * The client load: many WebSocket connections in one process, each authenticating and subscribing as its
 * plan says, then counting what arrives. Per delivery it does only what latency needs: find the
 * `bench_t` stamp (when the simulated HA emitted the change) in the raw frame; it never parses the JSON.
 * Driven over IPC by bench/run.mjs.
 */
import WebSocket from "ws";
import { emittedTotals, expectedFor } from "./lib/mix.mjs";
import { latencySummary } from "./lib/report.mjs";
import { nowMs, serve } from "./lib/rpc.mjs";

const STAMP = Buffer.from('"bench_t":');
const HANDSHAKE_TIMEOUT_MS = 60_000;

/** @type {{ ws: WebSocket, spec: any, stamped: number, slow: boolean }[]} */
let connections = [];
let window = newWindow();

function newWindow() {
  return { deliveries: 0, slowDeliveries: 0, bytes: 0, other: 0, latencies: [], first: null, last: null };
}

/** Every `bench_t` in the frame (one per delivered change; a coalesced frame may hold several). */
function onFrame(connection, data) {
  const at = nowMs();
  let found = 0;
  let from = data.indexOf(STAMP);
  while (from >= 0) {
    let end = from + STAMP.length;
    while (end < data.length && isNumberByte(data[end])) end++;
    const emitted = Number(data.toString("latin1", from + STAMP.length, end));
    found++;
    if (!connection.slow) window.latencies.push(at - emitted);
    from = data.indexOf(STAMP, end);
  }
  if (found === 0) {
    window.other++;
    return;
  }
  connection.stamped += found;
  if (connection.slow) window.slowDeliveries += found;
  else window.deliveries += found;
  window.bytes += data.length;
  window.first ??= at;
  window.last = at;
}

function isNumberByte(c) {
  return (c >= 48 && c <= 57) || c === 46 || c === 45 || c === 43 || c === 101 || c === 69;
}

/** Opens one connection and completes its dialect's handshake and subscription. */
function open(baseUrl, spec, token) {
  const path =
    spec.kind === "occupancy_room"
      ? `/ws/room/${encodeURIComponent(spec.room)}`
      : `/ws?token=${encodeURIComponent(token)}`;
  const ws = new WebSocket(baseUrl + path, { perMessageDeflate: false });
  const connection = { ws, spec, stamped: 0, slow: false };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => fail(new Error(`handshake timed out (${spec.kind})`)),
      HANDSHAKE_TIMEOUT_MS,
    );
    function fail(error) {
      clearTimeout(timer);
      ws.terminate();
      reject(error);
    }
    function done() {
      clearTimeout(timer);
      ws.off("message", onHandshake);
      ws.on("message", (data) => onFrame(connection, data));
      resolve(connection);
    }
    function onHandshake(data) {
      const message = JSON.parse(data.toString());
      const type = message.type ?? message.message_type;
      if (type === "error" || type === "subscription_error" || type === "authentication_failure") {
        fail(new Error(`${spec.kind}: ${data.toString().slice(0, 300)}`));
      } else if (spec.kind === "occupancy_room") {
        if (type === "connection") {
          const data = { token, client_name: "bench", capabilities: ["room_specific"], room_filters: [] };
          ws.send(JSON.stringify({ type: "authentication", data }));
        } else if (type === "authentication") {
          if (message.data?.success === false)
            fail(new Error(`authentication refused: ${JSON.stringify(message.data)}`));
          else done();
        }
      } else if (type === "authentication_success") {
        ws.send(JSON.stringify(subscribeMessage(spec)));
      } else if (type === "subscription_update") {
        done();
      }
    }
    ws.on("message", onHandshake);
    ws.once("error", fail);
    ws.once("close", (code, reason) => fail(new Error(`closed during handshake: ${code} ${reason}`)));
  });
}

function subscribeMessage(spec) {
  switch (spec.kind) {
    case "pma_all":
      return { type: "subscribe_ha_events", data: { event_types: ["state_changed"] } };
    case "pma_rooms":
      return { type: "subscribe_ha_rooms", data: { room_ids: spec.rooms } };
    case "pma_entities":
      return { type: "subscribe_ha_entities", data: { entity_ids: spec.entities } };
    default:
      throw new Error(`no PMA subscription for ${spec.kind}`);
  }
}

serve({
  /** Opens every planned connection (adding to those already open), `parallel` handshakes at a time. */
  async connect({ baseUrl, plan, token, parallel = 100 }) {
    const started = nowMs();
    const opened = new Array(plan.length);
    let next = 0;
    let failure;
    async function worker() {
      while (next < plan.length && failure === undefined) {
        const index = next++;
        try {
          opened[index] = await open(baseUrl, plan[index], token);
        } catch (error) {
          failure ??= error;
        }
      }
    }
    await Promise.all(Array.from({ length: parallel }, worker));
    const added = opened.filter(Boolean);
    for (const connection of added) connection.ws.on("close", () => (connection.closed = true));
    connections.push(...added);
    if (failure !== undefined) throw failure;
    return { connected: connections.length, ms: nowMs() - started };
  },

  /** Starts a measurement window. */
  begin() {
    window = newWindow();
    for (const connection of connections) connection.stamped = 0;
  },

  /** Ends the window: deliveries, bytes and the latency summary (healthy clients only). */
  end() {
    const { latencies, ...counts } = window;
    window = newWindow();
    return {
      ...counts,
      latency: latencySummary(latencies),
      closed: connections.filter((c) => c.closed).length,
    };
  },

  /** Deliveries to healthy clients so far in this window, for waiting until the stream has drained. */
  count() {
    return window.deliveries;
  },

  /**
   * Compares each healthy connection's deliveries with what its subscription should have received.
   * @param {{ emitted: Record<string, number>, roomOf: Record<string, string | null> }} params
   */
  check({ emitted, roomOf }) {
    let expected = 0;
    let received = 0;
    let short = 0;
    let over = 0;
    const totals = emittedTotals(emitted, roomOf);
    for (const connection of connections) {
      if (connection.slow) continue;
      const want = expectedFor(connection.spec, totals);
      expected += want;
      received += connection.stamped;
      if (connection.stamped < want) short++;
      if (connection.stamped > want) over++;
    }
    return { expected, received, missing: Math.max(0, expected - received), short, over };
  },

  /** Stops reading on every `stride`-th connection: the kernel buffers fill and the server sees a slow client. */
  pause({ stride }) {
    let paused = 0;
    connections.forEach((connection, index) => {
      if (index % stride !== 0) return;
      connection.slow = true;
      connection.ws._socket.pause();
      paused++;
    });
    return { paused };
  },

  /** Makes the paused connections read again (what they missed arrives now). */
  resume() {
    for (const connection of connections) {
      if (!connection.slow) continue;
      connection.slow = false;
      connection.ws._socket.resume();
    }
  },

  async closeAll() {
    await Promise.all(
      connections.map(
        (connection) =>
          new Promise((resolve) => {
            if (connection.ws.readyState === WebSocket.CLOSED) return resolve();
            connection.ws.once("close", resolve);
            connection.ws.terminate();
          }),
      ),
    );
    connections = [];
  },
});
