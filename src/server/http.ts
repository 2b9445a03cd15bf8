import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { errorMessage } from "../core/errors.js";
import type { HealthRegistry } from "../core/health.js";
import type { Service } from "../core/lifecycle.js";
import type { Logger } from "../core/logger.js";

export type RouteHandler = (req: IncomingMessage, res: ServerResponse, url: URL) => void | Promise<void>;
export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer, url: URL) => void;

export interface HttpListenerOptions {
  readonly name: string;
  readonly host: string;
  readonly port: number;
}

/**
 * One HTTP listener: exact-path GET routes, plus WebSocket upgrades handed to whoever registered for them.
 * The bridge runs one on the main port and, optionally, more (the seed 002 port, the add-on ingress port).
 */
export class HttpListener implements Service {
  readonly name: string;
  private server: Server | undefined;
  private readonly routes = new Map<string, RouteHandler>();
  private upgradeHandler: UpgradeHandler | undefined;

  constructor(
    private readonly options: HttpListenerOptions,
    private readonly log: Logger,
  ) {
    this.name = options.name;
  }

  route(path: string, handler: RouteHandler): void {
    this.routes.set(path, handler);
  }

  onUpgrade(handler: UpgradeHandler): void {
    this.upgradeHandler = handler;
  }

  async start(): Promise<void> {
    const server = createServer((req, res) => this.handle(req, res));
    server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) =>
      this.upgrade(req, socket, head),
    );
    server.on("clientError", (_error, socket) => {
      if (socket.writable) socket.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
      else socket.destroy();
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      const onError = (error: Error): void => reject(error);
      server.once("error", onError);
      server.listen(this.options.port, this.options.host, () => {
        server.off("error", onError);
        resolve();
      });
    });
    this.log.info({ url: `http://${this.displayHost()}:${this.port()}` }, `${this.name} listening`);
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (server === undefined) return;
    this.server = undefined;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  /** The bound port (useful when configured as 0). */
  port(): number {
    const address = this.server?.address();
    return typeof address === "object" && address !== null
      ? (address as AddressInfo).port
      : this.options.port;
  }

  private displayHost(): string {
    return this.options.host === "0.0.0.0" || this.options.host === "::" ? "localhost" : this.options.host;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = requestUrl(req);
    if (url === null) {
      sendJson(res, 400, { error: "bad_request", message: "the request target is not a valid path" });
      return;
    }
    const handler = this.routes.get(url.pathname);
    if (handler === undefined) {
      sendJson(res, 404, { error: "not_found", message: `no route ${url.pathname}` });
      return;
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.setHeader("Allow", "GET, HEAD");
      sendJson(res, 405, { error: "method_not_allowed", message: `${req.method} is not supported here` });
      return;
    }
    Promise.resolve()
      .then(() => handler(req, res, url))
      .catch((error: unknown) => {
        this.log.error({ path: url.pathname, err: error }, "request failed");
        if (!res.headersSent) sendJson(res, 500, { error: "internal_error", message: errorMessage(error) });
        else res.end();
      });
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    // Node takes its own error listener off an upgraded socket: without one, a reset before the handshake
    // finishes would be an uncaught 'error' event.
    socket.on("error", () => socket.destroy());
    const url = requestUrl(req);
    if (url === null) {
      refuseUpgrade(socket, "400 Bad Request");
      return;
    }
    if (this.upgradeHandler === undefined) {
      refuseUpgrade(socket, "404 Not Found");
      return;
    }
    try {
      this.upgradeHandler(req, socket, head, url);
    } catch (error) {
      this.log.error({ path: url.pathname, err: error }, "upgrade failed");
      refuseUpgrade(socket, "500 Internal Server Error");
    }
  }
}

/**
 * The request target as a URL, or null when it is none: `GET // HTTP/1.1` or `GET \\ …` get past Node's HTTP
 * parser but make `new URL` throw, which in a request listener would end the process.
 */
export function requestUrl(req: IncomingMessage): URL | null {
  return URL.parse(req.url ?? "/", "http://bridge.invalid");
}

function refuseUpgrade(socket: Duplex, status: string): void {
  if (socket.writable) socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  else socket.destroy();
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "Content-Type": "application/json; charset=utf-8",
    "Content-Length": Buffer.byteLength(text),
    "Cache-Control": "no-store",
  });
  res.end(text);
}

/** `GET /healthz`: 200 when every component is ready, else 503 with the reasons. */
export function healthRoute(health: HealthRegistry): RouteHandler {
  return (_req, res) => {
    const report = health.report();
    sendJson(res, report.ready ? 200 : 503, {
      status: report.ready ? "ok" : "unavailable",
      reasons: report.reasons,
      components: report.components,
    });
  };
}
