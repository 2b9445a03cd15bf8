import { connectAsync } from "mqtt";
import { describe, expect, it } from "vitest";
import { silentLogger } from "../../src/core/logger.js";
import { EmbeddedBroker } from "../../src/demo/broker.js";

describe("EmbeddedBroker", () => {
  it("relays messages between MQTT clients on a free loopback port, retained ones included", async () => {
    const broker = new EmbeddedBroker({ host: "127.0.0.1", port: 0 }, silentLogger());
    await broker.start();
    try {
      expect(broker.url()).toMatch(/^mqtt:\/\/127\.0\.0\.1:\d+$/);
      expect(broker.port()).toBeGreaterThan(0);
      const publisher = await connectAsync(broker.url(), { clientId: "pub" });
      await publisher.publishAsync("occupancy/predictions/kitchen/prediction", "{}", {
        qos: 1,
        retain: true,
      });
      const subscriber = await connectAsync(broker.url(), { clientId: "sub" });
      const received = new Promise<{ topic: string; retain: boolean }>((resolve) =>
        subscriber.once("message", (topic, _payload, packet) => resolve({ topic, retain: packet.retain })),
      );
      await subscriber.subscribeAsync("occupancy/#", { qos: 1 });
      expect(await received).toEqual({ topic: "occupancy/predictions/kitchen/prediction", retain: true });
      await Promise.all([publisher.endAsync(), subscriber.endAsync()]);
    } finally {
      await broker.stop();
    }
  });

  it("closes its clients' connections when it stops", async () => {
    const broker = new EmbeddedBroker({ host: "127.0.0.1", port: 0 }, silentLogger());
    await broker.start();
    const client = await connectAsync(broker.url(), { clientId: "c", reconnectPeriod: 0 });
    const closed = new Promise<void>((resolve) => client.once("close", () => resolve()));
    await broker.stop();
    await closed;
    await client.endAsync();
  });
});
