import { WebSocket } from "ws";

export type Message = Record<string, unknown> & { data?: Record<string, unknown> };

/**
 * A real `ws` client that records what it receives, so tests can wait for a message matching a condition
 * (with a generous upper bound) instead of sleeping.
 */
export class TestClient {
  readonly received: Message[] = [];
  readonly raw: Buffer[] = [];
  private cursor = 0;
  private waiters: (() => void)[] = [];
  closeCode: number | null = null;
  closeReason = "";
  readonly closed: Promise<void>;

  private constructor(readonly ws: WebSocket) {
    ws.on("message", (data: Buffer) => {
      this.raw.push(data);
      this.received.push(JSON.parse(data.toString("utf8")) as Message);
      this.wake();
    });
    this.closed = new Promise((resolve) => {
      ws.on("close", (code, reason) => {
        this.closeCode = code;
        this.closeReason = reason.toString();
        this.wake();
        resolve();
      });
    });
    ws.on("error", () => {});
  }

  static async connect(
    url: string,
    options: { autoPong?: boolean; headers?: Record<string, string> } = {},
  ): Promise<TestClient> {
    const ws = new WebSocket(url, { autoPong: options.autoPong ?? true, headers: options.headers ?? {} });
    const client = new TestClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
      ws.once("unexpected-response", (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    });
    return client;
  }

  send(value: unknown): void {
    this.ws.send(typeof value === "string" ? value : JSON.stringify(value));
  }

  /** Waits for the next message (after those already consumed) that satisfies `test`. */
  async next(test: (m: Message) => boolean = () => true, timeoutMs = 5000): Promise<Message> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      while (this.cursor < this.received.length) {
        const message = this.received[this.cursor++] as Message;
        if (test(message)) return message;
      }
      if (this.closeCode !== null)
        throw new Error(`socket closed (${this.closeCode} ${this.closeReason}) while waiting`);
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(
          `no matching message within ${timeoutMs} ms; got ${JSON.stringify(this.received.slice(-5))}`,
        );
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Next message whose `type` (pma) or `message_type` (occupancy) is `type`. */
  nextOfType(type: string, timeoutMs?: number): Promise<Message> {
    return this.next((m) => m.type === type || m.message_type === type, timeoutMs);
  }

  /** Resolves once no further message arrived for `quietMs` (used to show something was NOT delivered). */
  async settle(quietMs = 100): Promise<void> {
    let count = -1;
    while (count !== this.received.length) {
      count = this.received.length;
      await new Promise((resolve) => setTimeout(resolve, quietMs));
    }
  }

  /** Messages received so far of a type, consumed or not. */
  ofType(type: string): Message[] {
    return this.received.filter((m) => m.type === type || m.message_type === type);
  }

  async close(): Promise<void> {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.close();
    await this.closed;
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }
}
