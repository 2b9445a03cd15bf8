import { randomBytes } from "node:crypto";
import { connect, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type WebSocket, WebSocketServer } from "ws";
import { onceDrained, rawSocket, sendShared, textFrame } from "../../src/server/wire.js";

/** A WebSocket client made by hand on a TCP socket, so the test sees the exact bytes the server wrote. */
class RawPeer {
  private buffer = Buffer.alloc(0);
  private headerDone = false;
  constructor(readonly socket: Socket) {
    socket.on("data", (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      if (!this.headerDone) {
        const end = this.buffer.indexOf("\r\n\r\n");
        if (end >= 0) {
          this.headerDone = true;
          this.buffer = this.buffer.subarray(end + 4);
        }
      }
    });
  }

  static open(port: number): RawPeer {
    const socket = connect(port, "127.0.0.1");
    socket.write(
      "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        `Sec-WebSocket-Key: ${randomBytes(16).toString("base64")}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
    return new RawPeer(socket);
  }

  /** Frame bytes received and not taken yet. */
  get pending(): number {
    return this.buffer.length;
  }

  /** Waits for `length` frame bytes and consumes them. */
  async take(length: number): Promise<Buffer> {
    const deadline = Date.now() + 10_000;
    while (!this.headerDone || this.buffer.length < length) {
      if (Date.now() > deadline) throw new Error(`only ${this.buffer.length} of ${length} bytes arrived`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const taken = this.buffer.subarray(0, length);
    this.buffer = this.buffer.subarray(length);
    return Buffer.from(taken);
  }
}

describe("pre-framed sends", () => {
  let wss: WebSocketServer;
  const serverSide: WebSocket[] = [];
  const peers: RawPeer[] = [];

  beforeAll(async () => {
    wss = new WebSocketServer({ host: "127.0.0.1", port: 0, perMessageDeflate: false });
    await new Promise((resolve) => wss.once("listening", resolve));
    wss.on("connection", (ws) => serverSide.push(ws));
    const address = wss.address();
    const port = typeof address === "object" && address !== null ? address.port : 0;
    peers.push(RawPeer.open(port));
    while (serverSide.length < 1) await new Promise((resolve) => setTimeout(resolve, 5));
    peers.push(RawPeer.open(port));
    while (serverSide.length < 2) await new Promise((resolve) => setTimeout(resolve, 5));
  });

  afterAll(async () => {
    for (const peer of peers) peer.socket.destroy();
    await new Promise((resolve) => wss.close(resolve));
  });

  it.each([
    ["a 7-bit length", 20],
    ["a 16-bit length", 300],
    ["a 64-bit length", 70_000],
  ])("writes the same bytes as ws.send for a payload with %s", async (_name, size) => {
    const [viaWs, viaFrame] = serverSide;
    const [peerWs, peerFrame] = peers;
    if (viaWs === undefined || viaFrame === undefined || peerWs === undefined || peerFrame === undefined) {
      throw new Error("setup failed");
    }
    expect(rawSocket(viaFrame)).not.toBeNull();
    const payload = Buffer.from(JSON.stringify({ type: "x", data: "y".repeat(size) }));
    const expectedLength = textFrame(payload).length;
    viaWs.send(payload, { binary: false });
    sendShared(viaFrame, payload);
    const [a, b] = await Promise.all([peerWs.take(expectedLength), peerFrame.take(expectedLength)]);
    expect(b.equals(a)).toBe(true);
  });

  it("keeps bytes and order for a burst sent in one tick, past the cork flush threshold", async () => {
    const [viaWs, viaFrame] = serverSide;
    const [peerWs, peerFrame] = peers;
    if (viaWs === undefined || viaFrame === undefined || peerWs === undefined || peerFrame === undefined) {
      throw new Error("setup failed");
    }
    const payloads = Array.from({ length: 40 }, (_, i) =>
      Buffer.from(JSON.stringify({ i, pad: "p".repeat(i * 500) })),
    );
    let total = 0;
    for (const payload of payloads) {
      viaWs.send(payload, { binary: false });
      sendShared(viaFrame, payload);
      total += textFrame(payload).length;
    }
    const [a, b] = await Promise.all([peerWs.take(total), peerFrame.take(total)]);
    expect(b.equals(a)).toBe(true);
  });

  it("frames each payload once, however many sockets it goes to", () => {
    const payload = Buffer.from('{"type":"shared"}');
    expect(textFrame(payload)).toBe(textFrame(payload));
  });

  it("falls back to ws once the socket is closing, so nothing follows the close frame", async () => {
    const socket = serverSide[1];
    const peer = peers[1];
    if (socket === undefined || peer === undefined) throw new Error("setup failed");
    socket.close(1000, "bye");
    expect(rawSocket(socket)).toBeNull();
    expect(() => sendShared(socket, Buffer.from("{}"))).not.toThrow();
    // The close frame (opcode 0x8, status 1000, "bye") is all the peer gets.
    const close = await peer.take(7);
    expect(close.equals(Buffer.from([0x88, 0x05, 0x03, 0xe8, ...Buffer.from("bye")]))).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(peer.pending).toBe(0);
  });

  it("wakes a waiting sender once the socket has drained what it buffered", async () => {
    const socket = serverSide[0];
    const peer = peers[0];
    if (socket === undefined || peer === undefined) throw new Error("setup failed");
    peer.socket.pause();
    const payload = Buffer.from(JSON.stringify({ pad: "z".repeat(64 * 1024) }));
    let sent = 0;
    while (socket.bufferedAmount < 512 * 1024) {
      sendShared(socket, payload);
      sent += textFrame(payload).length;
      await new Promise((resolve) => setImmediate(resolve));
    }
    const woken = new Promise<void>((resolve) => onceDrained(socket, resolve));
    peer.socket.resume();
    await peer.take(sent);
    await woken;
    expect(socket.bufferedAmount).toBe(0);
  });
});
