import { describe, expect, it } from "vitest";
import { configSchema } from "../../../src/config/schema.js";
import { endpointFromConfig, endpointFromService, MqttError } from "../../../src/sources/mqtt/broker.js";

const mqttConfig = (mqtt: Record<string, unknown>) => configSchema.parse({ mqtt }).mqtt;

describe("endpointFromService", () => {
  it("reads the Supervisor's answer with the port as a number or a string", () => {
    const data = {
      addon: "core_mosquitto",
      host: "core-mosquitto",
      port: 1883,
      ssl: false,
      protocol: "3.1.1",
      username: "addons",
      password: "p",
    };
    expect(endpointFromService(data)).toEqual({
      url: "mqtt://core-mosquitto:1883",
      username: "addons",
      password: "p",
      protocolVersion: 4,
      tls: undefined,
      origin: "supervisor",
    });
    expect(endpointFromService({ ...data, port: "1883" }).url).toBe("mqtt://core-mosquitto:1883");
  });

  it("maps protocol 3.1 to MQTT.js version 3 and ssl to mqtts", () => {
    const endpoint = endpointFromService({
      app: "core_mosquitto",
      host: "broker",
      port: 8883,
      ssl: true,
      protocol: "3.1",
    });
    expect(endpoint.protocolVersion).toBe(3);
    expect(endpoint.url).toBe("mqtts://broker:8883");
    expect(endpoint.tls?.rejectUnauthorized).toBe(true);
  });

  it.each([
    ["no host", { port: 1883 }],
    ["a port that is not a number", { host: "h", port: "eighteen" }],
    ["an out-of-range port", { host: "h", port: 70000 }],
    ["an unknown protocol", { host: "h", port: 1883, protocol: "4.0" }],
    ["not an object", "core-mosquitto:1883"],
  ])("refuses an answer with %s", (_name, data) => {
    expect(() => endpointFromService(data)).toThrow(MqttError);
  });
});

describe("endpointFromConfig", () => {
  it("is undefined without mqtt.url", () => {
    expect(endpointFromConfig(mqttConfig({}))).toBeUndefined();
  });

  it("uses the configured URL and credentials, without TLS for mqtt://", () => {
    expect(
      endpointFromConfig(mqttConfig({ url: "mqtt://broker:1883", username: "u", password: "p" })),
    ).toMatchObject({
      url: "mqtt://broker:1883",
      username: "u",
      password: "p",
      protocolVersion: 4,
      tls: undefined,
      origin: "config",
    });
  });

  it("reports an unreadable TLS file with its option name and a stable code", () => {
    const config = mqttConfig({ url: "mqtts://broker:8883", tls: { ca_file: "/nonexistent/ca.pem" } });
    expect(() => endpointFromConfig(config)).toThrow(
      expect.objectContaining({
        code: "MQTT_TLS_FILE_UNREADABLE",
        message: expect.stringContaining("mqtt.tls.ca_file"),
      }),
    );
  });
});
