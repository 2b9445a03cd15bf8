import { ERR_CANNOT_CONNECT, ERR_INVALID_AUTH, type HaWebSocket } from "home-assistant-js-websocket";
import WebSocket from "ws";
import { isRecord } from "../../config/schema.js";
import type { Logger } from "../../core/logger.js";

/** Why the last socket attempt failed, kept beside the bare error number the client library expects. */
export type AttemptFailure =
  | { readonly kind: "invalid_auth"; readonly message: string }
  | { readonly kind: "auth_timeout" }
  | { readonly kind: "network"; readonly message: string };

export interface SocketFactoryOptions {
  readonly url: string;
  readonly token: string;
  readonly handshakeTimeoutMs: number;
  /** From the upgrade until `auth_ok` or `auth_invalid`; the client library itself would wait forever. */
  readonly authTimeoutMs: number;
  readonly maxPayloadBytes: number;
  readonly log: Logger;
  /** A frame that is not JSON, or not an object or a list of objects, was dropped. */
  readonly onBadFrame: (reason: string) => void;
  /** Handling a well-formed frame threw (a bug); the frame's remaining messages were not handled. */
  readonly onHandlerError: (error: unknown) => void;
}

/** Versions from 2022.9 understand `supported_features`; the client library numbers it 1. */
function supportsFeatures(version: string): boolean {
  const [year, month] = version.split(".").map((part) => Number.parseInt(part, 10));
  return year !== undefined && month !== undefined && (year > 2022 || (year === 2022 && month >= 9));
}

function isFrame(value: unknown): boolean {
  return isRecord(value) || (Array.isArray(value) && value.every((item) => isRecord(item)));
}

type Listener = (event: object) => void;

/**
 * The subset of a browser WebSocket the client library uses, over a `ws` socket. Incoming frames are
 * checked before the library sees them: it parses every frame without a guard, so one bad frame from
 * upstream would otherwise throw out of a socket callback and take the process down. For the same reason
 * an exception from handling a frame (the library calls the source's subscription callbacks synchronously)
 * is caught here and reported instead of ending the process.
 */
class GuardedSocket {
  readonly OPEN = WebSocket.OPEN;
  private readonly wrapped = new Map<Listener, (event: WebSocket.MessageEvent) => void>();

  constructor(
    private readonly ws: WebSocket,
    readonly haVersion: string,
    private readonly report: Pick<SocketFactoryOptions, "onBadFrame" | "onHandlerError">,
  ) {}

  get readyState(): number {
    return this.ws.readyState;
  }

  addEventListener(type: "message" | "close" | "error" | "open", listener: Listener): void {
    if (type !== "message") {
      this.ws.addEventListener(type, listener);
      return;
    }
    const guarded = (event: WebSocket.MessageEvent): void => {
      if (typeof event.data !== "string") {
        this.report.onBadFrame("binary frame");
        return;
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(event.data);
      } catch {
        this.report.onBadFrame("frame is not JSON");
        return;
      }
      if (!isFrame(parsed)) {
        this.report.onBadFrame("frame is not an object or a list of objects");
        return;
      }
      try {
        listener({ data: event.data });
      } catch (error) {
        this.report.onHandlerError(error);
      }
    };
    this.wrapped.set(listener, guarded);
    this.ws.addEventListener("message", guarded);
  }

  removeEventListener(type: "message" | "close" | "error" | "open", listener: Listener): void {
    if (type !== "message") {
      this.ws.removeEventListener(type, listener);
      return;
    }
    const guarded = this.wrapped.get(listener);
    if (guarded !== undefined) {
      this.ws.removeEventListener("message", guarded);
      this.wrapped.delete(listener);
    }
  }

  send(data: string): void {
    this.ws.send(data);
  }

  /** A graceful close; a peer that never answers it is cut off shortly after. */
  close(): void {
    this.ws.close();
    setTimeout(() => this.ws.terminate(), 1000).unref();
  }
}

/**
 * Builds the `createSocket` the client library calls on every (re)connect: opens a `ws` socket, runs the
 * auth phase with a deadline, and hands back an authenticated socket. Failures are the library's numbers
 * (`ERR_INVALID_AUTH` stops its reconnect loop; anything else keeps it going); the detail is in `lastFailure`.
 */
export class SocketFactory {
  lastFailure: AttemptFailure | undefined;
  private current: WebSocket | undefined;

  constructor(private readonly options: SocketFactoryOptions) {}

  readonly createSocket = (): Promise<HaWebSocket> =>
    new Promise<HaWebSocket>((resolve, reject) => {
      const { url, token, log } = this.options;
      const ws = new WebSocket(url, {
        handshakeTimeout: this.options.handshakeTimeoutMs,
        maxPayload: this.options.maxPayloadBytes,
        perMessageDeflate: false,
      });
      this.current = ws;
      let settled = false;
      const fail = (failure: AttemptFailure): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.lastFailure = failure;
        ws.removeAllListeners();
        ws.on("error", () => {});
        ws.terminate();
        reject(failure.kind === "invalid_auth" ? ERR_INVALID_AUTH : ERR_CANNOT_CONNECT);
      };
      const timer = setTimeout(() => fail({ kind: "auth_timeout" }), this.options.authTimeoutMs);
      ws.on("open", () => ws.send(JSON.stringify({ type: "auth", access_token: token })));
      ws.on("error", (error) => fail({ kind: "network", message: error.message }));
      ws.on("close", (code) => fail({ kind: "network", message: `closed during auth (code ${code})` }));
      ws.on("message", (data, isBinary) => {
        let message: unknown;
        try {
          message = isBinary ? undefined : JSON.parse(data.toString());
        } catch {
          message = undefined;
        }
        if (!isRecord(message)) {
          fail({ kind: "network", message: "unexpected frame during auth" });
          return;
        }
        if (message.type === "auth_invalid") {
          const text = typeof message.message === "string" ? message.message : "invalid access token";
          fail({ kind: "invalid_auth", message: text });
          return;
        }
        if (message.type !== "auth_ok") return; // `auth_required` may come before or after our `auth`.
        settled = true;
        clearTimeout(timer);
        this.lastFailure = undefined;
        ws.removeAllListeners();
        // Errors after auth surface as a close, which the library handles; an unhandled 'error' would throw.
        ws.on("error", (error: Error & { code?: string }) => {
          if (error.code === "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH") {
            this.options.onBadFrame(
              "frame larger than homeassistant.max_payload_mib; the connection is dropped",
            );
          } else {
            log.debug({ err: error }, "Home Assistant socket error");
          }
        });
        const haVersion = typeof message.ha_version === "string" ? message.ha_version : "0.0.0";
        if (supportsFeatures(haVersion)) {
          ws.send(JSON.stringify({ type: "supported_features", id: 1, features: { coalesce_messages: 1 } }));
        }
        // The library types its socket as a DOM WebSocket but uses only what GuardedSocket provides.
        resolve(new GuardedSocket(ws, haVersion, this.options) as unknown as HaWebSocket);
      });
    });

  /** Cuts the current socket, whatever state it is in (used on stop). */
  terminate(): void {
    this.current?.terminate();
    this.current = undefined;
  }
}
