import { Emitter } from "./emitter.js";

export interface ReconnectOptions {
  /** First retry delay; doubles (by `factor`) up to `maxDelayMs`. */
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
  readonly factor: number;
  /** Random spread (0..1) so that many clients do not reconnect in lockstep after a bridge restart. */
  readonly jitter: number;
}

export const DEFAULT_RECONNECT: ReconnectOptions = {
  initialDelayMs: 500,
  maxDelayMs: 15_000,
  factor: 2,
  jitter: 0.25,
};

/** The delay before reconnect attempt `attempt` (0-based). */
export function backoffDelay(
  attempt: number,
  options: ReconnectOptions,
  random: () => number = Math.random,
): number {
  const base = Math.min(options.maxDelayMs, options.initialDelayMs * options.factor ** attempt);
  return Math.round(base * (1 - options.jitter + 2 * options.jitter * random()));
}

export interface CloseInfo {
  readonly code: number;
  readonly reason: string;
  /** When the next attempt starts, or null when the socket will stay closed. */
  readonly reconnectInMs: number | null;
}

export type SocketEvents = {
  open: [];
  text: [text: string];
  close: [info: CloseInfo];
};

/** The close code of a connection the client gave up on (e.g. no reply to its pings). */
const DROPPED = 4000;

/** `WebSocket` as browsers and Node 22+ provide it globally. */
export type WebSocketClass = typeof WebSocket;

/**
 * A WebSocket that reconnects with jittered exponential backoff until `close()` is called. It builds the URL
 * afresh for every attempt, so callers can add what changes between attempts (e.g. the last seen `seq`).
 */
export class ReconnectingSocket extends Emitter<SocketEvents> {
  private ws: WebSocket | undefined;
  private attempt = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private closedByUser = false;

  constructor(
    private readonly url: () => string,
    private readonly reconnect: ReconnectOptions | null,
    private readonly WebSocketImpl: WebSocketClass,
  ) {
    super();
  }

  get isOpen(): boolean {
    return this.ws?.readyState === this.WebSocketImpl.OPEN;
  }

  open(): void {
    this.closedByUser = false;
    this.dial();
  }

  /** Sends when open; returns false (and sends nothing) otherwise. */
  send(text: string): boolean {
    if (this.ws === undefined || !this.isOpen) return false;
    this.ws.send(text);
    return true;
  }

  /**
   * Drops the current connection without giving up: the next attempt follows the backoff schedule. The
   * socket is let go at once, since a peer that stopped answering would not finish a closing handshake either.
   */
  drop(reason: string): void {
    const ws = this.ws;
    if (ws === undefined) return;
    ws.onopen = null;
    ws.onmessage = null;
    ws.onclose = null;
    ws.close(DROPPED, reason);
    this.lost(ws, DROPPED, reason);
  }

  close(code = 1000, reason = "client closed"): void {
    this.closedByUser = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    const ws = this.ws;
    if (ws !== undefined && ws.readyState !== this.WebSocketImpl.CLOSED) ws.close(code, reason);
  }

  private dial(): void {
    this.timer = undefined;
    let ws: WebSocket;
    try {
      ws = new this.WebSocketImpl(this.url());
    } catch (error) {
      // From a timer, a throw would end the application: an attempt that cannot start is a failed attempt.
      this.retry(1006, `cannot connect: ${error instanceof Error ? error.message : String(error)}`);
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      this.attempt = 0;
      this.emit("open");
    };
    ws.onmessage = (event: MessageEvent) => {
      if (typeof event.data === "string") this.emit("text", event.data);
    };
    // Errors are always followed by a close event, which is where recovery happens.
    ws.onerror = () => undefined;
    ws.onclose = (event: CloseEvent) => this.lost(ws, event.code, event.reason);
  }

  /** The connection `ws` is over: schedule the next attempt (unless closed by the user) and say so. */
  private lost(ws: WebSocket, code: number, reason: string): void {
    if (this.ws !== ws) return;
    this.ws = undefined;
    this.retry(code, reason);
  }

  private retry(code: number, reason: string): void {
    let reconnectInMs: number | null = null;
    if (!this.closedByUser && this.reconnect !== null) {
      reconnectInMs = backoffDelay(this.attempt, this.reconnect);
      this.attempt += 1;
      this.timer = setTimeout(() => this.dial(), reconnectInMs);
    }
    this.emit("close", { code, reason, reconnectInMs });
  }
}
