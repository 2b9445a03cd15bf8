import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Writable } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { type Config, configSchema } from "../../../src/config/schema.js";
import { EventKind, type NewBridgeEvent } from "../../../src/core/events.js";
import type { HaStateObject, StateFeed } from "../../../src/core/home.js";
import { createLogger, type Logger } from "../../../src/core/logger.js";
import { canMakeCertificates, startBroker, type TestBroker } from "../../helpers/mosquitto.js";
import {
  connectPeer,
  makeSource,
  type SourceUnderTest,
  uniqueMqttConfig,
  waitFor,
} from "../../helpers/mqtt-harness.js";

const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function broker(options?: Parameters<typeof startBroker>[0]): Promise<TestBroker> {
  const started = await startBroker(options);
  cleanups.push(() => started.stop());
  return started;
}

function track(entry: SourceUnderTest): SourceUnderTest {
  cleanups.push(() => entry.source.stop());
  return entry;
}

/** A JSON logger whose lines the test can read. */
function capturedLog(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const log = createLogger({
    level: "info",
    format: "json",
    destination: new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    }),
  });
  return { log, lines };
}

/**
 * The MQTT options with a URL the config schema refuses: the source must cope with one all the same (the
 * Supervisor's answer, for one, never goes through the schema).
 */
function withUnusableUrl(url: string): Config["mqtt"] {
  return { ...configSchema.parse({ mqtt: uniqueMqttConfig("mqtt://127.0.0.1:1883") }).mqtt, url };
}

type SupervisorAnswer = { status: number; body: unknown };

/** A stand-in for `http://supervisor`: answers `/services/mqtt` from a script, recording the requests. */
async function fakeSupervisor(
  answers: () => SupervisorAnswer,
): Promise<{ url: string; requests: IncomingMessage[] }> {
  const requests: IncomingMessage[] = [];
  const server: Server = createServer((req, res) => {
    requests.push(req);
    const answer =
      req.url === "/services/mqtt"
        ? answers()
        : { status: 404, body: { result: "error", message: "not found" } };
    res.writeHead(answer.status, { "content-type": "application/json" });
    res.end(JSON.stringify(answer.body));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  cleanups.push(() => new Promise((resolve) => server.close(() => resolve())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests };
}

const notEnabled: SupervisorAnswer = {
  status: 400,
  body: { result: "error", message: "Service not enabled" },
};

function serviceData(port: number, password: string): SupervisorAnswer {
  return {
    status: 200,
    body: {
      result: "ok",
      // The Supervisor documents the port as a string; the real one sends a number. Both must work.
      data: {
        addon: "core_mosquitto",
        host: "127.0.0.1",
        port: String(port),
        ssl: false,
        protocol: "3.1.1",
        username: "addons",
        password,
      },
    },
  };
}

describe("MqttSource connection", () => {
  it("loses no QoS 1 message when the broker restarts in the middle of a stream", async () => {
    const mqttBroker = await broker();
    const config = uniqueMqttConfig(mqttBroker.url);
    const entry = track(makeSource(config));
    await entry.source.start();
    await waitFor(() => entry.source.connected(), "connection");
    const publisher = await connectPeer(mqttBroker.url, {
      clientId: `${config?.client_id}_pub`,
      clean: false,
    });
    cleanups.push(() => publisher.endAsync(true));
    // The subscription must exist in the broker's session before the stream starts.
    const probeTopic = `${config?.discovery_prefix}/status`;
    await waitFor(() => {
      publisher.publish(probeTopic, "probe", { qos: 1 });
      return entry.stats.receivedByKind.get("ha_status");
    }, "the subscription");

    const total = 300;
    const topic = `${config?.alerts_topic_prefix}/warning`;
    const send = (i: number) =>
      publisher.publishAsync(topic, JSON.stringify({ alert_id: `a${i}`, message: `alert ${i}` }), { qos: 1 });
    for (let i = 0; i < total / 2; i++) await send(i);
    // Restart while the second half is being published: some are queued by the publisher, some by the broker.
    const restarting = mqttBroker.restart();
    const rest = Array.from({ length: total / 2 }, (_, k) => send(total / 2 + k));
    await restarting;
    await Promise.all(rest);

    const ids = () => new Set(entry.sink.of(EventKind.Alert).map((event) => event.data.alert_id));
    await waitFor(() => ids().size === total, `all ${total} alerts`, 15_000);
    expect([...ids()].sort()).toEqual(Array.from({ length: total }, (_, i) => `a${i}`).sort());
    expect(entry.sink.of(EventKind.ConnectionStatus).map((e) => e.data.status)).toContain("reconnecting");
    expect(entry.source.connected()).toBe(true);
  });

  it("subscribes again when the broker comes back without its session", async () => {
    const mqttBroker = await broker({ persistence: false });
    const config = uniqueMqttConfig(mqttBroker.url);
    const entry = track(makeSource(config));
    await entry.source.start();
    await waitFor(() => entry.source.connected(), "connection");
    await mqttBroker.restart();
    await waitFor(
      () =>
        entry.sink.of(EventKind.ConnectionStatus).at(-1)?.data.status === "connected" &&
        entry.source.connected(),
      "reconnection",
    );
    const publisher = await connectPeer(mqttBroker.url);
    cleanups.push(() => publisher.endAsync(true));
    const topic = `${config?.alerts_topic_prefix}/info`;
    await waitFor(() => {
      publisher.publish(topic, JSON.stringify({ alert_id: "after-restart", message: "still listening" }), {
        qos: 1,
      });
      return entry.sink.of(EventKind.Alert).length > 0;
    }, "an alert after the broker forgot the session");
    expect(entry.sink.of(EventKind.Alert)[0]?.data.alert_id).toBe("after-restart");
  });

  it("asks the Supervisor for the broker, retrying while it answers 'Service not enabled'", async () => {
    const mqttBroker = await broker();
    let calls = 0;
    const supervisor = await fakeSupervisor(() =>
      ++calls <= 2 ? notEnabled : serviceData(mqttBroker.port, "secret"),
    );
    const config = uniqueMqttConfig(mqttBroker.url, { url: undefined });
    const entry = track(
      makeSource(config, { addon: true, supervisorToken: "supervisor-token", supervisorUrl: supervisor.url }),
    );
    const reasons: string[] = [];
    entry.health.onChange((_name, health) => reasons.push(health.reason ?? "ready"));
    await entry.source.start();
    await waitFor(
      () => entry.health.get("mqtt")?.ready === true,
      "connection through the Supervisor's broker",
    );
    expect(supervisor.requests).toHaveLength(3);
    expect(supervisor.requests[0]?.headers.authorization).toBe("Bearer supervisor-token");
    expect(reasons).toContain("no MQTT broker is registered with the Supervisor yet (Service not enabled)");
    expect(entry.health.get("mqtt")?.ready).toBe(true);
  });

  it("asks the Supervisor again when the broker refuses the credentials it gave", async () => {
    const mqttBroker = await broker({ auth: { username: "addons", password: "new-password" } });
    let calls = 0;
    const supervisor = await fakeSupervisor(() =>
      serviceData(mqttBroker.port, ++calls === 1 ? "old-password" : "new-password"),
    );
    const entry = track(
      makeSource(uniqueMqttConfig(mqttBroker.url, { url: undefined }), {
        addon: true,
        supervisorToken: "t",
        supervisorUrl: supervisor.url,
      }),
    );
    await entry.source.start();
    await waitFor(() => entry.source.connected(), "connection with the new credentials");
    expect(supervisor.requests).toHaveLength(2);
  });

  it("keeps retrying, unready and without crashing, while a configured broker refuses its credentials", async () => {
    const mqttBroker = await broker({ auth: { username: "u", password: "right" } });
    const { log, lines } = capturedLog();
    const entry = track(
      makeSource(uniqueMqttConfig(mqttBroker.url, { username: "u", password: "wrong" }), { log }),
    );
    await entry.source.start();
    await waitFor(
      () => entry.health.get("mqtt")?.reason?.includes("refused the credentials"),
      "the refusal in health",
    );
    await waitFor(
      () => lines.filter((line) => line.includes("refused the connection")).length >= 3,
      "further attempts",
    );
    expect(lines.join("")).not.toContain('"wrong"');
    expect(entry.source.connected()).toBe(false);
    expect(entry.sink.of(EventKind.ConnectionStatus).at(-1)?.data.status).toBe("reconnecting");
  });

  it("logs the broker URL without the credentials in it", async () => {
    const mqttBroker = await broker({ auth: { username: "bridge", password: "url-secret-42" } });
    const { log, lines } = capturedLog();
    const url = `mqtt://bridge:url-secret-42@127.0.0.1:${mqttBroker.port}`;
    const entry = track(makeSource(uniqueMqttConfig(url), { log }));
    await entry.source.start();
    await waitFor(() => entry.source.connected(), "a connection with the URL's credentials");
    const connecting = lines.find((line) => line.includes("connecting to the MQTT broker"));
    expect(JSON.parse(connecting ?? "{}")).toMatchObject({ url: `mqtt://***@127.0.0.1:${mqttBroker.port}` });
    expect(lines.join("")).not.toContain("url-secret-42");
  });

  it.each([
    ["a bad percent-escape in the password", "mqtt://bridge:50%off@127.0.0.1:1883", "50%off"],
    ["an IPv6 zone id", "mqtts://bridge:zone-secret@[fe80::1%25eth0]:8883", "zone-secret"],
  ])(
    "reports a broker URL with %s as unusable, retries with backoff and still stops",
    async (_what, url, secret) => {
      const { log, lines } = capturedLog();
      const entry = track(makeSource(undefined, { log, config: withUnusableUrl(url) }));
      await entry.source.start();
      await waitFor(
        () => lines.filter((line) => line.includes("cannot be used")).length >= 3,
        "repeated attempts",
      );
      expect(entry.health.get("mqtt")).toMatchObject({
        ready: false,
        reason: expect.stringMatching(/^the MQTT broker URL mqtts?:\/\/\*\*\*@.* cannot be used \(.+\)$/),
      });
      expect(entry.sink.of(EventKind.ConnectionStatus).at(-1)?.data.status).toBe("reconnecting");
      expect(lines.join("") + JSON.stringify(entry.health.report())).not.toContain(secret);
      await entry.source.stop();
      expect(entry.health.get("mqtt")).toBeUndefined();
    },
  );

  it("asks the Supervisor again when the broker host it gave cannot be used, and connects once it is fixed", async () => {
    const mqttBroker = await broker();
    let calls = 0;
    const supervisor = await fakeSupervisor(() => {
      const answer = serviceData(mqttBroker.port, "secret");
      const data = (answer.body as { data: Record<string, unknown> }).data;
      // A host with a NUL in it: WHATWG URL and Node's legacy url.parse (inside mqtt.js) both refuse it.
      return ++calls === 1
        ? { ...answer, body: { result: "ok", data: { ...data, host: "127.0.0.1\u0000x" } } }
        : answer;
    });
    const entry = track(
      makeSource(uniqueMqttConfig(mqttBroker.url, { url: undefined }), {
        addon: true,
        supervisorToken: "t",
        supervisorUrl: supervisor.url,
      }),
    );
    const reasons: string[] = [];
    entry.health.onChange((_name, health) => reasons.push(health.reason ?? "ready"));
    await entry.source.start();
    await waitFor(() => entry.health.get("mqtt")?.ready === true, "a connection to the corrected broker");
    expect(supervisor.requests).toHaveLength(2);
    expect(reasons).toContain(
      `the MQTT broker URL mqtt://127.0.0.1\\u0000x:${mqttBroker.port} cannot be used (invalid URL)`,
    );
  });

  it("is ready only once its subscriptions stand, and says so when the broker refuses them", async () => {
    const open = await broker();
    const entry = track(makeSource(uniqueMqttConfig(open.url)));
    const states: (string | undefined)[] = [];
    entry.health.onChange((_name, health) => states.push(health.ready ? "ready" : health.reason));
    await entry.source.start();
    await waitFor(() => entry.health.get("mqtt")?.ready === true, "readiness");
    expect(entry.sink.of(EventKind.ConnectionStatus).map((e) => e.data.status)).toEqual([
      "reconnecting",
      "connected",
    ]);

    const locked = await broker({ denySubscriptions: true });
    const refused = track(makeSource(uniqueMqttConfig(locked.url)));
    await refused.source.start();
    await waitFor(
      () => refused.health.get("mqtt")?.reason?.startsWith("subscribing failed"),
      "the refused subscription in health",
    );
    expect(refused.source.connected()).toBe(true);
    expect(refused.health.get("mqtt")?.ready).toBe(false);
    expect(refused.sink.of(EventKind.ConnectionStatus).map((e) => e.data.status)).not.toContain("connected");
  });

  it.skipIf(!canMakeCertificates())(
    "connects over TLS with the configured CA, and refuses a broker it cannot verify",
    async () => {
      const mqttBroker = await broker({ tls: true });
      expect(mqttBroker.url).toMatch(/^mqtts:/);
      const trusted = track(
        makeSource(uniqueMqttConfig(mqttBroker.url, { tls: { ca_file: mqttBroker.caFile } })),
      );
      await trusted.source.start();
      await waitFor(() => trusted.source.connected(), "a verified TLS connection");

      const untrusted = track(makeSource(uniqueMqttConfig(mqttBroker.url)));
      await untrusted.source.start();
      await waitFor(
        () => untrusted.health.get("mqtt")?.reason?.includes("certificate"),
        "the TLS failure in health",
      );
      expect(untrusted.source.connected()).toBe(false);
    },
  );

  it("is off, and not a health component, without a broker URL outside the add-on", async () => {
    const entry = track(makeSource({ url: undefined }));
    expect(entry.source.enabled()).toBe(false);
    await entry.source.start();
    expect(entry.health.get("mqtt")).toBeUndefined();
    expect(entry.sink.events).toEqual([]);
  });

  it("feeds Home Assistant's mqtt_eventstream into the home model and forwards other events as source events", async () => {
    const mqttBroker = await broker();
    const applied: [string, HaStateObject | null][] = [];
    const feed: StateFeed = {
      applyStateChange(entityId, newState, source): NewBridgeEvent[] {
        applied.push([entityId, newState]);
        return [
          {
            kind: EventKind.EntityRemoved,
            time: "2026-03-04T22:31:02.117Z",
            source,
            entity_id: entityId,
            critical: false,
            data: { entity_id: entityId, source, room_id: null, area_id: null },
          },
        ];
      },
    };
    const config = uniqueMqttConfig(mqttBroker.url, {
      eventstream_topic: `es_${Date.now()}/homeassistant/events`,
    });
    const entry = track(makeSource(config, { stateFeed: feed }));
    await entry.source.start();
    await waitFor(() => entry.source.connected(), "connection");
    const peer = await connectPeer(mqttBroker.url);
    cleanups.push(() => peer.endAsync(true));
    const stateChanged = readFileSync(
      new URL("../../fixtures/mqtt/eventstream-state-changed.json", import.meta.url),
      "utf8",
    );
    const topic = config?.eventstream_topic ?? "";
    await waitFor(() => {
      peer.publish(topic, stateChanged, { qos: 1 });
      return applied.length > 0;
    }, "the state change to reach the feed");
    await peer.publishAsync(
      topic,
      JSON.stringify({ event_type: "call_service", event_data: { domain: "light", service: "turn_on" } }),
      { qos: 1 },
    );
    await peer.publishAsync(
      topic,
      JSON.stringify({ event_type: "state_changed", event_data: { entity_id: "not an id" } }),
      { qos: 1 },
    );
    await waitFor(() => entry.sink.of(EventKind.SourceEvent).length === 1, "the forwarded call_service");
    await waitFor(
      () => entry.stats.rejectedByReason.get("invalid_payload"),
      "the refused malformed state change",
    );

    expect(applied[0]).toEqual([
      "binary_sensor.bedroom_presence",
      {
        entity_id: "binary_sensor.bedroom_presence",
        state: "on",
        attributes: { device_class: "occupancy", friendly_name: "Bedroom presence" },
        last_changed: "2026-03-04T22:31:02.117000+00:00",
        last_updated: "2026-03-04T22:31:02.117000+00:00",
        context: { id: "01B", parent_id: null, user_id: null },
      },
    ]);
    expect(entry.sink.of(EventKind.EntityRemoved)[0]?.entity_id).toBe("binary_sensor.bedroom_presence");
    expect(entry.sink.of(EventKind.SourceEvent)[0]).toMatchObject({
      ha_event_type: "call_service",
      data: {
        source: "homeassistant",
        event_type: "call_service",
        event_data: { domain: "light", service: "turn_on" },
      },
    });
  });

  it("refuses an eventstream state change nested thousands of levels deep before it reaches the home model", async () => {
    const mqttBroker = await broker();
    const applied: string[] = [];
    const feed: StateFeed = {
      applyStateChange(entityId) {
        applied.push(entityId);
        return [];
      },
    };
    const config = uniqueMqttConfig(mqttBroker.url, {
      eventstream_topic: `es_${Date.now()}/homeassistant/events`,
    });
    const entry = track(makeSource(config, { stateFeed: feed }));
    await entry.source.start();
    await waitFor(() => entry.health.get("mqtt")?.ready === true, "connection");
    const peer = await connectPeer(mqttBroker.url);
    cleanups.push(() => peer.endAsync(true));
    // 12 KB, far below max_payload_bytes; JSON.stringify of it overflows the stack when sent to clients.
    const deep = `${"[".repeat(6000)}${"]".repeat(6000)}`;
    const payload = `{"event_type":"state_changed","event_data":{"entity_id":"sensor.deep","new_state":{"state":"on","attributes":{"deep":${deep}}}}}`;
    const topic = config?.eventstream_topic ?? "";
    await waitFor(() => {
      peer.publish(topic, payload, { qos: 1 });
      return entry.stats.rejectedByReason.get("payload_too_deep");
    }, "the refusal of the deep payload");
    expect(applied).toEqual([]);

    // The next sane message still goes through.
    await waitFor(() => {
      peer.publish(
        topic,
        JSON.stringify({
          event_type: "state_changed",
          event_data: { entity_id: "sensor.flat", new_state: { state: "on", attributes: {} } },
        }),
        { qos: 1 },
      );
      return applied.length > 0;
    }, "the next state change");
    expect(applied[0]).toBe("sensor.flat");
  });
});
