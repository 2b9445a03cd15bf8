import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mqtt from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningCli, startCli, waitHealthy } from "../helpers/cli.js";
import { startBroker, type TestBroker } from "../helpers/mosquitto.js";
import { TestClient } from "../helpers/ws-client.js";

const API_KEY = "crash-test-key-0123456789abcdef";

let broker: TestBroker;
let dataDir: string;
let configFile: string;

/** Connects to /ws/alerts as the same client identity every time. */
async function alertsClient(port: number): Promise<TestClient> {
  const client = await TestClient.connect(`ws://127.0.0.1:${port}/ws/alerts`);
  await client.nextOfType("connection");
  client.send({ type: "authentication", data: { api_key: API_KEY, client_name: "night-watch" } });
  await client.nextOfType("subscription_status");
  return client;
}

async function startBridge(): Promise<{ bridge: RunningCli; port: number }> {
  const bridge = startCli(["run", "--config", configFile]);
  const port = await bridge.port;
  // Subscribed to the broker before anything is published, or the alerts would go to nobody.
  await waitHealthy(port);
  return { bridge, port };
}

describe("pending acknowledgements survive a crash of the bridge", () => {
  beforeAll(async () => {
    broker = await startBroker();
    dataDir = mkdtempSync(join(tmpdir(), "pma-delivery-crash-"));
    configFile = join(dataDir, "config.json");
    writeFileSync(
      configFile,
      JSON.stringify({
        data_dir: dataDir,
        log_level: "info",
        server: { host: "127.0.0.1", port: 0 },
        auth: { api_keys: [{ name: "watch", key: API_KEY }] },
        // Long enough that nothing is redelivered before the crash: what arrives after it comes from disk.
        acks: { timeout_seconds: 300 },
        mqtt: { url: broker.url, client_id: `crash-${process.pid}`, discovery: false },
      }),
    );
  });

  afterAll(async () => {
    await broker.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("redelivers unacknowledged alerts with the same message_id after kill -9 and a restart", async () => {
    const first = await startBridge();
    const before = await alertsClient(first.port);
    const publisher = await mqtt.connectAsync(broker.url, { clientId: `crash-publisher-${process.pid}` });
    for (const [i, severity] of ["warning", "critical", "error"].entries()) {
      await publisher.publishAsync(
        `occupancy/alerts/${severity}`,
        JSON.stringify({
          alert_id: `crash-${i}`,
          severity,
          timestamp: new Date().toISOString(),
          title: `Alert ${i}`,
          message: `Something needs attention (${i})`,
          component: "predictor",
          room_id: null,
          resolved: false,
        }),
        { qos: 1 },
      );
    }
    const sent = [];
    for (let i = 0; i < 3; i += 1) sent.push(await before.nextOfType("alert_notification", 15_000));
    expect(sent.map((m) => m.data?.alert_id).sort()).toEqual(["crash-0", "crash-1", "crash-2"]);

    first.bridge.child.kill("SIGKILL");
    await first.bridge.exited;
    await before.closed;

    const second = await startBridge();
    try {
      const after = await alertsClient(second.port);
      const again = [];
      for (let i = 0; i < 3; i += 1) again.push(await after.nextOfType("alert_notification", 15_000));
      expect(again.map((m) => m.message_id).sort()).toEqual(sent.map((m) => m.message_id).sort());
      expect(again.every((m) => m.redelivery_count === 1 && m.requires_ack === true)).toBe(true);
      expect(again.map((m) => m.data?.alert_id).sort()).toEqual(["crash-0", "crash-1", "crash-2"]);

      for (const message of again)
        after.send({ type: "acknowledge", data: { message_id: message.message_id } });
      await after.settle(300);
      expect(after.ofType("error")).toEqual([]);
      await after.close();
    } finally {
      await publisher.endAsync();
      second.bridge.child.kill("SIGTERM");
      expect(await second.bridge.exited).toBe(0);
    }
  });
});
