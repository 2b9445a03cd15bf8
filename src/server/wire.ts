import type { Duplex } from "node:stream";
import * as wsModule from "ws";
import { WebSocket } from "ws";

/**
 * Pre-framing (see ws#617): an event's payload is shared by every recipient, so its WebSocket frame can be
 * built once too and written to each socket as is, instead of ws framing it again per client.
 *
 * This reaches into ws internals (`Sender.frame`, `_socket`, `_sender`), so it is used only when writing the
 * bytes ourselves is exactly what `ws.send` would do: a server socket (no masking), permessage-deflate off (the
 * bridge never enables it), the connection OPEN (never after our close frame), and nothing waiting in ws's own
 * sender queue. `test/server/wire.test.ts` compares the bytes on the wire with `ws.send`'s; ws is pinned.
 */

/** What `Sender.frame` takes; ws's types do not declare it. */
interface FrameOptions {
  readonly fin: boolean;
  readonly rsv1: boolean;
  readonly opcode: number;
  readonly mask: boolean;
  readonly readOnly: boolean;
}

interface SenderStatics {
  frame(data: Buffer, options: FrameOptions): Buffer[];
}

/** The parts of a ws `WebSocket` this module relies on. */
interface WebSocketInternals {
  readonly _socket?: Duplex | null;
  readonly _sender?: { readonly _state?: number; readonly _queue?: readonly unknown[] } | null;
  readonly _extensions?: Readonly<Record<string, unknown>>;
}

const TEXT = 0x01;
// ws exports `Sender` at runtime (ws#617 made `Sender.frame` static for this use); its types omit it.
const frame = (wsModule as unknown as { Sender: SenderStatics }).Sender.frame;
const cache = new WeakMap<Buffer, Buffer>();

/** One unfragmented, unmasked, uncompressed text frame holding `payload`, built once per payload Buffer. */
export function textFrame(payload: Buffer): Buffer {
  let framed = cache.get(payload);
  if (framed === undefined) {
    framed = Buffer.concat(
      frame(payload, { fin: true, rsv1: false, opcode: TEXT, mask: false, readOnly: true }),
    );
    cache.set(payload, framed);
  }
  return framed;
}

/** The socket to write pre-framed bytes to, or null when only `ws.send` is safe. */
export function rawSocket(ws: WebSocket): Duplex | null {
  if (ws.readyState !== WebSocket.OPEN) return null;
  const internals = ws as unknown as WebSocketInternals;
  const socket = internals._socket;
  const sender = internals._sender;
  if (socket === undefined || socket === null || sender === undefined || sender === null) return null;
  // 0 is ws's DEFAULT sender state: not deflating, not reading a Blob, so nothing is queued ahead of us.
  if (sender._state !== 0 || (sender._queue?.length ?? 0) > 0) return null;
  for (const _ in internals._extensions) return null;
  return socket;
}

// Sockets written to during this tick; one shared callback uncorks those that were corked. A list and a mark
// on the socket rather than a Set: this runs for every delivery, and a Set cleared every tick reallocates
// its table as it refills.
const TOUCHED_IN = Symbol("pma-bridge.touchedIn");
type Marked = Duplex & { [TOUCHED_IN]?: number };
const touched: (Duplex | null)[] = [];
let touchedCount = 0;
/** Which tick's list the marks refer to. */
let tick = 0;

function endOfTick(): void {
  for (let i = 0; i < touchedCount; i++) {
    const socket = touched[i];
    touched[i] = null;
    if (socket !== null && socket !== undefined && socket.writableCorked > 0) socket.uncork();
  }
  touchedCount = 0;
  tick += 1;
}

/**
 * Past this many corked bytes the socket is flushed at once: corked bytes count in `bufferedAmount`, and the
 * outbound queue must not mistake a burst for a slow client.
 */
const CORK_FLUSH_BYTES = 64 * 1024;

/**
 * Sends a shared payload: pre-framed when safe, through `ws.send` otherwise. Same bytes either way. The first
 * frame of a tick is written at once; when more follow in the same tick (a burst of events) the socket is
 * corked, so they leave together in one system call at the end of the tick, or as soon as 64 KiB are
 * waiting. No completion callback: see `FrameSink`.
 */
export function sendShared(ws: WebSocket, payload: Buffer): void {
  const socket = rawSocket(ws);
  if (socket === null) {
    ws.send(payload, { binary: false });
    return;
  }
  const marked = socket as Marked;
  if (marked[TOUCHED_IN] !== tick) {
    if (touchedCount === 0) process.nextTick(endOfTick);
    marked[TOUCHED_IN] = tick;
    touched[touchedCount++] = socket;
  } else if (socket.writableCorked === 0) {
    socket.cork();
  }
  socket.write(textFrame(payload));
  if (socket.writableCorked > 0 && socket.writableLength >= CORK_FLUSH_BYTES) socket.uncork();
}

/**
 * Calls `wake` once the socket under `ws` has written out its buffer. Asked only while more than the
 * outbound queue's soft limit is buffered, which is past the socket's high-water mark, so Node emits `drain`.
 */
export function onceDrained(ws: WebSocket, wake: () => void): void {
  (ws as unknown as WebSocketInternals)._socket?.once("drain", wake);
}
