import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../src/core/logger.js";
import { type Demo, startDemo } from "../../src/demo/index.js";
import { ExampleProcess, PYTHON, pythonWebsocketsMissing } from "./example-process.js";

/** Generous bounds: the demo runs 20× faster than its own pace, so each awaited message comes within seconds. */
const TEST_TIMEOUT = 60_000;

describe("example clients against the demo", () => {
  let demo: Demo;
  let dataDir: string;
  let running: ExampleProcess[] = [];

  const run = (command: string, ...args: string[]): ExampleProcess => {
    const example = new ExampleProcess(command, args);
    running.push(example);
    return example;
  };

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), "pma-examples-"));
    demo = await startDemo({ port: 0, dataDir, speed: 20, seed: 7, logLevel: "silent" }, silentLogger());
  }, 60_000);
  afterEach(async () => {
    await Promise.all(running.map((example) => example.stop()));
    running = [];
  });
  afterAll(async () => {
    await demo?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  /** The bridge's client list, as an admin sees it. */
  async function clientRows(): Promise<{ subject: string | null; endpoint: string; pending_acks: number }[]> {
    const response = await fetch(`${demo.urls.http}/api/v1/websocket/clients`, {
      headers: { Authorization: `Bearer ${demo.token}` },
    });
    return (
      (await response.json()) as {
        clients: { subject: string | null; endpoint: string; pending_acks: number }[];
      }
    ).clients;
  }

  it(
    "the printed command runs the seed's Node PMA client: welcome, authentication, subscription, state changes, predictions",
    async () => {
      const [command, ...args] = demo.exampleCommand.split(" ");
      const example = run(process.execPath, ...args);
      expect(command).toBe("node");
      await example.waitFor(/^Welcome message: client_id=\S+ protocol=1\.0$/);
      await example.waitFor(/^Authenticated as demo-admin /);
      await example.waitFor(
        /^Subscription update: subscribed ha_events \[state_changed, automation_triggered, prediction_update\]/,
      );
      await example.waitFor(/^Entity state changed: \w+\.\w+: \S+ -> \S+ \(room \w+\)$/);
      await example.waitFor(/^Prediction: .+ becomes (occupied|vacant) in .+ \(confidence 0\.\d+\)$/);
      expect(example.lines.filter((line) => line.startsWith("Error:"))).toEqual([]);
    },
    TEST_TIMEOUT,
  );

  it(
    "the seed's Node occupancy client authenticates with the API key, gets predictions, and acknowledges alerts",
    async () => {
      const example = run(
        process.execPath,
        "examples/node/occupancy-client.mjs",
        demo.urls.occupancy,
        demo.apiKey,
      );
      await example.waitFor(/^Connection: client \S+, API 1\.0\.0$/);
      await example.waitFor(/^Authentication: successful \(predictions, alerts\)$/);
      await example.waitFor(/^Subscription: subscribe \/ws\/predictions ok$/);
      await example.waitFor(/^Subscription: subscribe \/ws\/alerts ok$/);
      await example.waitFor(/^Prediction for .+: (occupied|vacant) in .+$/);
      await example.waitFor(/^Alert: /);
      await example.waitFor(/^Acknowledged \S+:\d+:\/ws\/alerts$/);
      // The bridge knew the message id (an unknown one is answered with an error) and cleared it.
      await expect
        .poll(
          async () => (await clientRows()).some((row) => row.subject === "demo" && row.pending_acks === 0),
          { timeout: 15_000 },
        )
        .toBe(true);
      expect(example.lines.filter((line) => line.startsWith("Error:"))).toEqual([]);
    },
    TEST_TIMEOUT,
  );

  it(
    "the package's typed client example follows both dialects",
    async () => {
      if (!existsSync("dist/client/index.js"))
        throw new Error("dist/client is missing: run `npm run build` (npm test does it)");
      const example = run(process.execPath, "examples/node/typed-client.mjs", demo.urls.http, demo.token);
      await example.waitFor(/^\[pma\] ready as client \S+$/);
      await example.waitFor(/^\[occupancy\] ready on \/ws\/alerts$/);
      await example.waitFor(/^\[pma\] \w+\.\w+: \S+ -> \S+$/);
      await example.waitFor(/^\[pma\] .+ (occupied|vacant) in .+$/);
      await example.waitFor(/^\[occupancy\] alert (warning|error): .+ \(acknowledged\)$/);
    },
    TEST_TIMEOUT,
  );

  describe.skipIf(pythonWebsocketsMissing())("Python", () => {
    it(
      "the seed's Python PMA client authenticates, subscribes to entities and prints their changes",
      async () => {
        const example = run(PYTHON, "examples/python/pma_client.py", demo.urls.pma, demo.token);
        await example.waitFor(/^Connected to PMA WebSocket server$/);
        await example.waitFor(/^Welcome: client_id=\S+$/);
        await example.waitFor(/^Authenticated as demo-admin$/);
        await example.waitFor(/^Subscription update: subscribed ha_entities /);
        await example.waitFor(
          /^Entity (light\.living_room_ceiling|binary_sensor\.hallway_motion|sensor\.bedroom_temperature) changed: \S+ -> \S+$/,
        );
      },
      TEST_TIMEOUT,
    );

    it(
      "the seed's Python quick-start receives the connection, authentication, subscription and predictions",
      async () => {
        const example = run(
          PYTHON,
          "examples/python/occupancy_quickstart.py",
          demo.urls.occupancy,
          demo.apiKey,
        );
        await example.waitFor(/^Received: connection$/);
        await example.waitFor(/^Received: authentication$/);
        await example.waitFor(/^Received: subscription_status$/);
        await example.waitFor(/^Received: prediction_update$/);
        await example.waitFor(/^ {2}.+: (occupied|vacant) in .+$/);
      },
      TEST_TIMEOUT,
    );
  });
});
