import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mqtt, { type MqttClient } from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startCli, waitHealthy } from "../helpers/cli.js";
import { startBroker, type TestBroker } from "../helpers/mosquitto.js";
import { TestClient } from "../helpers/ws-client.js";

const API_KEY = "shutdown-test-key-0123456789abcdef";

let broker: TestBroker;
let publisher: MqttClient;
let dataDir: string;
let configFile: string;

/** A PMA client following alerts as the identity `name`. */
async function alertFollower(port: number, name: string, query = ""): Promise<TestClient> {
  const client = await TestClient.connect(
    `ws://127.0.0.1:${port}/ws?token=${API_KEY}&client_id=${name}${query}`,
  );
  await client.nextOfType("authentication_success");
  client.send({ type: "subscribe_ha_events", data: { event_types: ["alert"] } });
  await client.nextOfType("subscription_update");
  return client;
}

function raise(alertId: string): Promise<unknown> {
  return publisher.publishAsync(
    "occupancy/alerts/warning",
    JSON.stringify({
      alert_id: alertId,
      severity: "warning",
      timestamp: new Date().toISOString(),
      title: alertId,
      message: `alert ${alertId}`,
      component: "predictor",
      room_id: null,
      resolved: false,
    }),
    { qos: 1 },
  );
}

describe("graceful shutdown of the bridge process", () => {
  beforeAll(async () => {
    broker = await startBroker();
    publisher = await mqtt.connectAsync(broker.url, { clientId: `shutdown-publisher-${process.pid}` });
    dataDir = mkdtempSync(join(tmpdir(), "pma-delivery-shutdown-"));
    configFile = join(dataDir, "config.json");
    writeFileSync(
      configFile,
      JSON.stringify({
        data_dir: dataDir,
        server: { host: "127.0.0.1", port: 0 },
        auth: { api_keys: [{ name: "panel", key: API_KEY }] },
        mqtt: { url: broker.url, client_id: `shutdown-${process.pid}`, discovery: false },
      }),
    );
  });

  afterAll(async () => {
    await publisher.endAsync();
    await broker.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("closes clients with 1012 on SIGTERM, exits 0, and keeps the epoch so a client resumes with a replay", async () => {
    const first = startCli(["run", "--config", configFile]);
    const port = await first.port;
    // Subscribed to the broker before anything is published, or the alerts would go to nobody.
    await waitHealthy(port);
    const panel = await alertFollower(port, "panel");
    const observer = await alertFollower(port, "observer");
    const epoch = panel.ofType("welcome")[0]?.data?.epoch;

    await raise("seen");
    const seen = await panel.nextOfType("alert", 15_000);
    panel.send({ type: "acknowledge", data: { message_id: seen.message_id } });
    await panel.close();
    await raise("missed");
    const missed = await observer.next((m) => m.type === "alert" && m.data?.alert_id === "missed", 15_000);

    first.child.kill("SIGTERM");
    await observer.closed;
    expect(observer.closeCode).toBe(1012);
    expect(await first.exited).toBe(0);

    const second = startCli(["run", "--config", configFile]);
    try {
      const again = await alertFollower(
        await second.port,
        "panel",
        `&last_seq=${String(seen.seq)}&epoch=${String(epoch)}`,
      );
      expect(again.ofType("welcome")[0]?.data?.epoch).toBe(epoch);
      again.send({ type: "resume", data: {} });
      const status = await again.nextOfType("resume_status", 15_000);
      expect(status.data).toMatchObject({ result: "replayed", from_seq: seen.seq, epoch });
      // Besides the alert it missed, the replay holds the system messages every client gets (the MQTT
      // adapter going down with the bridge and up again), all in seq order.
      expect(again.ofType("alert").map((m) => [m.seq, m.data?.alert_id])).toEqual([[missed.seq, "missed"]]);
      const replayed = again.received
        .slice(0, again.received.indexOf(status))
        .filter((m) => typeof m.seq === "number")
        .map((m) => Number(m.seq));
      expect(replayed).toHaveLength(Number(status.data?.replayed));
      expect(replayed).toEqual([...replayed].sort((a, b) => a - b));
      expect(replayed[0]).toBeGreaterThan(Number(seen.seq));
      expect(again.ofType("snapshot")).toEqual([]);
      await again.close();
    } finally {
      second.child.kill("SIGTERM");
      expect(await second.exited).toBe(0);
    }
  });
});
