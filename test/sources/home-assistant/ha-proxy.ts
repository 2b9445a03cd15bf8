import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { type RawData, WebSocket, WebSocketServer } from "ws";

/** Raw JSON text of the event to send instead of a snapshot, or `undefined` to drop the snapshot. */
export type SnapshotRewrite = (snapshot: unknown) => string | undefined;

function text(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString("utf8");
  if (Array.isArray(data)) return Buffer.concat(data).toString("utf8");
  return Buffer.from(data).toString("utf8");
}

/**
 * A WebSocket proxy in front of the simulated Home Assistant, standing in for a broken proxy (or an HA bug)
 * that spoils the state snapshot, which the simulator itself always sends intact. Everything else passes
 * through unchanged, frame by frame.
 */
export class HaProxy {
  /** Where connections go: the simulator's `ws://…/api/websocket`, known only once it has started. */
  target = "";
  /**
   * Applied in order to the first event of each `subscribe_entities` subscription (the snapshot); once
   * used up, snapshots pass unchanged. Rewrites produce text because JSON.stringify cannot write some
   * payloads a peer can send (thousands of nested lists).
   */
  readonly snapshotRewrites: SnapshotRewrite[] = [];
  readonly httpUrl: string;
  private readonly sockets = new Set<WebSocket>();

  private constructor(
    private readonly server: Server,
    private readonly wss: WebSocketServer,
  ) {
    const { port } = server.address() as AddressInfo;
    this.httpUrl = `http://127.0.0.1:${port}`;
    wss.on("connection", (client: WebSocket) => this.accept(client));
  }

  static async start(): Promise<HaProxy> {
    const server = createServer();
    const wss = new WebSocketServer({ server });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return new HaProxy(server, wss);
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: WebSocket): void {
    const upstream = new WebSocket(this.target);
    const early: string[] = [];
    /** Ids of this connection's entity subscriptions whose snapshot has not passed yet. */
    const awaitingSnapshot = new Set<number>();
    for (const socket of [client, upstream]) {
      this.sockets.add(socket);
      socket.on("error", () => socket.terminate());
      socket.on("close", () => {
        this.sockets.delete(socket);
        client.close();
        upstream.close();
      });
    }
    upstream.on("open", () => {
      for (const message of early) upstream.send(message);
      early.length = 0;
    });
    client.on("message", (data) => {
      const message = text(data);
      const parsed: unknown = JSON.parse(message);
      if (isMessage(parsed) && parsed.type === "subscribe_entities" && typeof parsed.id === "number")
        awaitingSnapshot.add(parsed.id);
      if (upstream.readyState === WebSocket.OPEN) upstream.send(message);
      else early.push(message);
    });
    upstream.on("message", (data) => {
      const frame = this.rewrite(text(data), awaitingSnapshot);
      if (frame !== undefined && client.readyState === WebSocket.OPEN) client.send(frame);
    });
  }

  /** The frame as text, with a snapshot in it rewritten; undefined when nothing is left to send. */
  private rewrite(frame: string, awaitingSnapshot: Set<number>): string | undefined {
    const parsed: unknown = JSON.parse(frame);
    const messages = Array.isArray(parsed) ? parsed : [parsed];
    let changed = false;
    const out: string[] = [];
    for (const message of messages) {
      if (
        isMessage(message) &&
        message.type === "event" &&
        typeof message.id === "number" &&
        awaitingSnapshot.delete(message.id)
      ) {
        const rewriteSnapshot = this.snapshotRewrites.shift();
        if (rewriteSnapshot !== undefined) {
          changed = true;
          const event = rewriteSnapshot(message.event);
          if (event !== undefined) out.push(`{"id":${message.id},"type":"event","event":${event}}`);
          continue;
        }
      }
      out.push(JSON.stringify(message));
    }
    if (!changed) return frame;
    if (out.length === 0) return undefined;
    return Array.isArray(parsed) ? `[${out.join(",")}]` : out.join("");
  }
}

function isMessage(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
