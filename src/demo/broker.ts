import type { AddressInfo } from "node:net";
import { createServer, type Server, type Socket } from "node:net";
import type { Aedes } from "aedes";
import { BridgeError } from "../core/errors.js";
import type { Service } from "../core/lifecycle.js";
import type { Logger } from "../core/logger.js";

export interface EmbeddedBrokerOptions {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
}

/**
 * An in-process MQTT broker (aedes) for the demo, so `npm start` needs no mosquitto. It is a plain broker on a
 * TCP socket: the bridge connects to it with its ordinary MQTT source, exactly as it would to any other.
 */
export class EmbeddedBroker implements Service {
  readonly name = "embedded-mqtt-broker";
  private broker: Aedes | undefined;
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();

  constructor(
    private readonly options: EmbeddedBrokerOptions,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    // aedes is a development dependency, only needed by the demo: loaded lazily, so that an installation
    // without it (the add-on image) runs every other command and says clearly why the demo cannot start.
    const aedes = await import("aedes").catch((error: unknown) => {
      throw new BridgeError(
        "DEMO_UNAVAILABLE",
        "the demo needs the development dependencies (aedes): run `npm ci` in a checkout of pma-bridge",
        undefined,
        { cause: error },
      );
    });
    const broker = await aedes.Aedes.createBroker();
    this.broker = broker;
    const server = createServer((socket) => {
      this.sockets.add(socket);
      socket.once("close", () => this.sockets.delete(socket));
      broker.handle(socket);
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.options.port, this.options.host, () => {
        server.off("error", reject);
        resolve();
      });
    });
    this.log.info({ url: this.url() }, "embedded MQTT broker listening");
  }

  async stop(): Promise<void> {
    const { server, broker } = this;
    this.server = undefined;
    this.broker = undefined;
    for (const socket of this.sockets) socket.destroy();
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
    if (broker !== undefined) await new Promise<void>((resolve) => broker.close(() => resolve()));
  }

  port(): number {
    const address = this.server?.address();
    return typeof address === "object" && address !== null
      ? (address as AddressInfo).port
      : this.options.port;
  }

  url(): string {
    return `mqtt://${this.options.host}:${this.port()}`;
  }
}
