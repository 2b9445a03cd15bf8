import { BridgeError } from "../core/errors.js";
import { Emitter, type EventMap } from "./emitter.js";
import {
  type CloseInfo,
  DEFAULT_RECONNECT,
  ReconnectingSocket,
  type ReconnectOptions,
  type WebSocketClass,
} from "./socket.js";
import { type ParseResult, parseJson } from "./validate.js";

/** Both dialects take the same `resume` message. */
interface ResumeMessage {
  readonly type: "resume";
  readonly data: { readonly last_seq: number; readonly epoch: string | null };
}

/** A position in the bridge's stream: a `seq` and the epoch it was numbered in (null: unknown). */
export interface Cursor {
  readonly seq: number;
  readonly epoch: string | null;
}

/** Errors the client raises, with a stable `code` (e.g. `AUTHENTICATION_FAILED`, `CLIENT_CLOSED`). */
export class ClientError extends BridgeError {}

export interface BaseClientOptions {
  /** Reconnect after drops (default on, with backoff from 0.5 s to 15 s); `false` to stay closed. */
  readonly reconnect?: boolean | Partial<ReconnectOptions>;
  /** Resume after a reconnect from the last `seq` seen, so no message is missed (default on). */
  readonly resume?: boolean;
  /**
   * Resume from here on the first connection too: a cursor the application kept from an earlier run, or
   * `{seq: 0, epoch: null}` for everything the bridge still has (a flagged snapshot when its history is gone).
   */
  readonly resumeFrom?: Cursor;
  /** The WebSocket class; defaults to the global one (browsers, Node 22+). */
  readonly WebSocket?: WebSocketClass;
}

export type LifecycleEvents<M> = {
  /** Every valid message, before its type's own listeners. */
  message: [message: M];
  /** The socket opened (before the welcome and authentication). */
  connected: [];
  /** Authenticated (when credentials were given) and subscriptions restored: messages flow. */
  ready: [];
  disconnected: [info: CloseInfo];
  /** A frame the parser rejected; the connection goes on. */
  invalid_frame: [error: string, raw: unknown];
};

/** Replies the server sends in request order, matched to their requests first-in, first-out. */
export class ReplyQueue<T> {
  private readonly pending: { resolve: (value: T) => void; reject: (error: Error) => void }[] = [];

  expect(): Promise<T> {
    return new Promise((resolve, reject) => this.pending.push({ resolve, reject }));
  }

  resolve(value: T): boolean {
    const next = this.pending.shift();
    next?.resolve(value);
    return next !== undefined;
  }

  reject(error: Error): boolean {
    const next = this.pending.shift();
    next?.reject(error);
    return next !== undefined;
  }

  rejectAll(error: Error): void {
    for (const entry of this.pending.splice(0)) entry.reject(error);
  }
}

/**
 * What both dialect clients share: the reconnecting socket, parsing, the `seq` cursor for resume, and the
 * ready/closed state that `connect()` and `whenReady()` wait on. Subclasses speak their dialect's handshake.
 */
export abstract class BaseClient<
  M extends { readonly seq: number | null },
  E extends EventMap,
> extends Emitter<E & LifecycleEvents<M>> {
  protected readonly socket: ReconnectingSocket;
  protected readonly resumeEnabled: boolean;
  private ready = false;
  private closed = false;
  private fatal: ClientError | undefined;
  private readyWaiters: { resolve: () => void; reject: (error: Error) => void }[] = [];
  /**
   * Where the next resume continues: the last event received and its epoch, or the position the last snapshot
   * or `resume_status` reported.
   */
  cursor: Cursor | null = null;
  /** The bridge's epoch on the current connection, from its greeting. */
  protected epoch: string | null = null;
  /** When the bridge was last heard from on this connection (any frame). */
  private lastHeard = 0;
  private watchTimer: ReturnType<typeof setInterval> | undefined;

  constructor(options: BaseClientOptions) {
    super();
    const reconnect =
      options.reconnect === false
        ? null
        : { ...DEFAULT_RECONNECT, ...(options.reconnect === true ? {} : options.reconnect) };
    const WebSocketImpl = options.WebSocket ?? globalThis.WebSocket;
    if (WebSocketImpl === undefined) {
      throw new ClientError(
        "NO_WEBSOCKET",
        "no global WebSocket here: pass one, e.g. { WebSocket: (await import('ws')).WebSocket }",
      );
    }
    this.resumeEnabled = options.resume !== false;
    this.cursor = options.resumeFrom ?? null;
    this.socket = new ReconnectingSocket(() => this.buildUrl(), reconnect, WebSocketImpl);
    this.socket.on("open", () => this.emitLifecycle("connected"));
    this.socket.on("text", (text) => {
      this.lastHeard = Date.now();
      this.receive(text);
    });
    this.socket.on("close", (info) => {
      this.stopWatching();
      this.ready = false;
      this.onDisconnect();
      this.emitLifecycle("disconnected", info);
      if (info.reconnectInMs === null)
        this.settleWaiters(
          this.fatal ?? new ClientError("CONNECTION_CLOSED", `connection closed (${info.code})`),
        );
    });
  }

  get isReady(): boolean {
    return this.ready;
  }

  /** Opens the connection; resolves once ready, rejects when the bridge refuses the credentials. */
  connect(): Promise<void> {
    this.closed = false;
    this.fatal = undefined;
    const ready = this.whenReady();
    this.socket.open();
    return ready;
  }

  /** Resolves when the client is (or next becomes) ready. */
  whenReady(): Promise<void> {
    if (this.ready) return Promise.resolve();
    if (this.closed) return Promise.reject(new ClientError("CLIENT_CLOSED", "the client was closed"));
    return new Promise((resolve, reject) => this.readyWaiters.push({ resolve, reject }));
  }

  close(): void {
    this.closed = true;
    this.ready = false;
    this.stopWatching();
    this.socket.close();
    this.settleWaiters(new ClientError("CLIENT_CLOSED", "the client was closed"));
  }

  /** The URL of the next connection attempt. */
  protected abstract buildUrl(): string;
  protected abstract parse(raw: unknown): ParseResult<M>;
  /** Dialect handling of one valid message (handshake, replies, acks); runs before listeners see it. */
  protected abstract handle(message: M): void;
  /** Emits the message to its type's listeners. */
  protected abstract dispatch(message: M): void;
  /** Called when a connection ends, to fail what waited on it. */
  protected abstract onDisconnect(): void;

  /**
   * Puts the cursor on the URL of the next connection (`?last_seq=&epoch=`), the strict-order form of resume:
   * the bridge holds live messages back until the replay ran. Returns the cursor it put there, if any.
   */
  protected resumeOnUrl(url: URL): Cursor | null {
    url.searchParams.delete("last_seq");
    url.searchParams.delete("epoch");
    const cursor = this.resumeEnabled ? this.cursor : null;
    if (cursor === null) return null;
    url.searchParams.set("last_seq", String(cursor.seq));
    if (cursor.epoch !== null) url.searchParams.set("epoch", cursor.epoch);
    return cursor;
  }

  /**
   * Sends `resume {last_seq, epoch}` from `from` (the cursor when omitted). Sent after the subscriptions are
   * restored, so the bridge replays exactly what they match (or a flagged snapshot when its history no longer
   * reaches back).
   */
  protected resume(from: Cursor | null = this.resumeEnabled ? this.cursor : null): void {
    if (from === null) return;
    this.send({ type: "resume", data: { last_seq: from.seq, epoch: from.epoch } } satisfies ResumeMessage);
  }

  /** The position a `snapshot` or `resume_status` reports (`last_seq`, `epoch`); null for other messages. */
  protected abstract reportedPosition(message: M): Cursor | null;

  protected send(message: unknown): boolean {
    return this.socket.send(JSON.stringify(message));
  }

  protected markReady(): void {
    this.ready = true;
    this.emitLifecycle("ready");
    const waiters = this.readyWaiters.splice(0);
    for (const waiter of waiters) waiter.resolve();
  }

  /** Stops for good: the bridge said something retrying cannot fix (e.g. bad credentials). */
  protected fail(error: ClientError): void {
    this.fatal = error;
    this.closed = true;
    this.socket.close(1000, error.code);
    this.settleWaiters(error);
  }

  /** Lifecycle events share the emitter with message types; this keeps their typing in one place. */
  protected emitLifecycle<K extends keyof LifecycleEvents<M>>(
    event: K,
    ...args: LifecycleEvents<M>[K]
  ): void {
    (this.emit as (event: K, ...args: LifecycleEvents<M>[K]) => void)(event, ...args);
  }

  /**
   * Moves the cursor past a message. An event moves it to its `seq`. A snapshot or `resume_status` moves it to
   * the position it reports, which also takes the cursor out of an epoch the bridge no longer has; within one
   * epoch it never moves back (a `resume` message answered after live messages reports an older position).
   */
  private advance(message: M): void {
    const reported = this.reportedPosition(message);
    if (reported === null) {
      if (message.seq !== null) this.cursor = { seq: message.seq, epoch: this.epoch };
      return;
    }
    const current = this.cursor;
    if (current === null || current.epoch !== reported.epoch || current.seq < reported.seq)
      this.cursor = reported;
  }

  /**
   * Watches the current connection for silence: every `intervalMs`, a connection not heard from for
   * `silenceMs` is dropped (and redialled); otherwise `tick` runs (e.g. to send a ping). Stops on disconnect.
   */
  protected watchForSilence(intervalMs: number, silenceMs: number, tick: () => void = () => undefined): void {
    this.stopWatching();
    if (intervalMs <= 0) return;
    this.lastHeard = Date.now();
    this.watchTimer = setInterval(() => {
      if (Date.now() - this.lastHeard > silenceMs) this.socket.drop("the bridge went silent");
      else tick();
    }, intervalMs);
  }

  private stopWatching(): void {
    if (this.watchTimer !== undefined) clearInterval(this.watchTimer);
    this.watchTimer = undefined;
  }

  private settleWaiters(error: Error): void {
    for (const waiter of this.readyWaiters.splice(0)) waiter.reject(error);
  }

  /** The dialect's parser, which must not throw; if it does (e.g. nesting too deep for the stack), a refusal. */
  private safeParse(value: unknown): ParseResult<M> {
    try {
      return this.parse(value);
    } catch (error) {
      return { ok: false, error: `unreadable frame: ${String(error)}`, raw: value };
    }
  }

  private receive(text: string): void {
    const json = parseJson(text);
    const parsed = json.ok
      ? this.safeParse(json.value)
      : { ok: false as const, error: json.error, raw: text };
    if (!parsed.ok) {
      this.emitLifecycle("invalid_frame", parsed.error, parsed.raw);
      return;
    }
    for (const item of parsed.rejected ?? []) this.emitLifecycle("invalid_frame", item.error, item.raw);
    const message = parsed.message;
    this.handle(message);
    this.advance(message);
    this.emitLifecycle("message", message);
    this.dispatch(message);
  }
}
