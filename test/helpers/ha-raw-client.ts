import WebSocket from "ws";
import { waitFor } from "./ha-harness.js";

export type Frame = Record<string, unknown>;

/** A bare `ws` client for checking the simulator's wire behaviour message by message. */
export class RawHaClient {
  /** Every message received, arrays flattened, with whether it came inside an array frame. */
  readonly received: { readonly message: Frame; readonly inArray: boolean }[] = [];
  closed = false;
  private cursor = 0;

  private constructor(readonly ws: WebSocket) {
    ws.on("message", (data) => {
      const parsed = JSON.parse(data.toString()) as Frame | Frame[];
      if (Array.isArray(parsed)) for (const message of parsed) this.received.push({ message, inArray: true });
      else this.received.push({ message: parsed, inArray: false });
    });
    ws.on("close", () => {
      this.closed = true;
    });
  }

  static async connect(url: string): Promise<RawHaClient> {
    const ws = new WebSocket(url);
    const client = new RawHaClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
    });
    return client;
  }

  /** Connects and authenticates; returns after `auth_ok`. */
  static async authenticated(url: string, token: string): Promise<RawHaClient> {
    const client = await RawHaClient.connect(url);
    client.send({ type: "auth", access_token: token });
    await client.next((m) => m.type === "auth_ok");
    return client;
  }

  send(message: unknown): void {
    this.ws.send(typeof message === "string" ? message : JSON.stringify(message));
  }

  /** The next message (after those already taken) that matches. */
  async next(match: (message: Frame) => boolean = () => true, what = "a message"): Promise<Frame> {
    let found: Frame | undefined;
    await waitFor(() => {
      for (let i = this.cursor; i < this.received.length; i++) {
        const entry = this.received[i];
        if (entry !== undefined && match(entry.message)) {
          found = entry.message;
          this.cursor = i + 1;
          return true;
        }
      }
      return false;
    }, what);
    if (found === undefined) throw new Error(`no ${what}`);
    return found;
  }

  /** Sends a command and waits for the reply with its id. */
  command(message: Frame & { id: number }): Promise<Frame> {
    this.send(message);
    return this.next(
      (m) => m.id === message.id && (m.type === "result" || m.type === "pong"),
      `reply ${message.id}`,
    );
  }

  waitClosed(): Promise<void> {
    return waitFor(() => this.closed, "the close");
  }

  close(): void {
    this.ws.terminate();
  }
}
