import type { AddressInfo, Socket } from "node:net";
import { type WebSocket, WebSocketServer } from "ws";

/**
 * A WebSocket server on a real loopback port that speaks just enough of a dialect for client tests: it
 * records what each connection sent and lets the test answer and push frames. The bridge's own server is
 * tested elsewhere; this isolates the client's behaviour (handshake, restore, resume, acks).
 */
export class ScriptedPeer {
  private readonly server: WebSocketServer;
  readonly connections: PeerConnection[] = [];
  private waiters: { count: number; resolve: (c: PeerConnection) => void }[] = [];

  private constructor(
    server: WebSocketServer,
    private readonly greet: (connection: PeerConnection) => void,
  ) {
    this.server = server;
    server.on("connection", (ws, req) => {
      const connection = new PeerConnection(ws, req.url ?? "/");
      this.connections.push(connection);
      this.greet(connection);
      this.waiters = this.waiters.filter((w) => {
        if (this.connections.length < w.count) return true;
        w.resolve(connection);
        return false;
      });
    });
  }

  static async start(greet: (connection: PeerConnection) => void): Promise<ScriptedPeer> {
    const server = new WebSocketServer({ port: 0, host: "127.0.0.1" });
    await new Promise<void>((resolve) => server.once("listening", () => resolve()));
    return new ScriptedPeer(server, greet);
  }

  url(path: string): string {
    return `ws://127.0.0.1:${(this.server.address() as AddressInfo).port}${path}`;
  }

  /** Resolves with the `n`th connection (1-based) once it exists. */
  connection(n: number): Promise<PeerConnection> {
    const existing = this.connections[n - 1];
    if (existing !== undefined) return Promise.resolve(existing);
    return new Promise((resolve) => this.waiters.push({ count: n, resolve }));
  }

  async stop(): Promise<void> {
    for (const client of this.server.clients) client.terminate();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

export interface Inbound {
  readonly type: string;
  readonly data: Record<string, unknown>;
}

export class PeerConnection {
  readonly received: Inbound[] = [];
  private waiters: { test: (m: Inbound) => boolean; resolve: (m: Inbound) => void }[] = [];
  private readonly handlers = new Map<string, (data: Record<string, unknown>) => void>();

  constructor(
    readonly ws: WebSocket,
    readonly path: string,
  ) {
    ws.on("message", (raw) => {
      const message = JSON.parse(String(raw)) as Inbound;
      this.received.push(message);
      this.handlers.get(message.type)?.(message.data);
      this.waiters = this.waiters.filter((w) => {
        if (!w.test(message)) return true;
        w.resolve(message);
        return false;
      });
    });
  }

  /** Stops reading, as a frozen process does: nothing sent to it is handled, not even a close frame. */
  freeze(): void {
    (this.ws as unknown as { _socket: Socket })._socket.pause();
  }

  /** Answers every inbound message of `type`. */
  reply(type: string, handler: (data: Record<string, unknown>) => void): void {
    this.handlers.set(type, handler);
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === "string" ? frame : JSON.stringify(frame));
  }

  /** Resolves with the first message of `type` (already received or still to come). */
  next(type: string, timeoutMs = 5_000): Promise<Inbound> {
    const test = (m: Inbound): boolean => m.type === type;
    const seen = this.received.find(test);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${type} from the client`)), timeoutMs);
      this.waiters.push({
        test,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
      });
    });
  }

  types(): string[] {
    return this.received.map((m) => m.type);
  }
}
