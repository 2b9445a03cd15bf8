import { describe, expect, it } from "vitest";
import {
  HomeAssistantConfigError,
  resolveEndpoint,
  SUPERVISOR_WS_URL,
} from "../../../src/sources/home-assistant/index.js";

describe("resolveEndpoint", () => {
  it("turns the URL users know into the WebSocket API URL", () => {
    expect(resolveEndpoint({ url: "http://homeassistant.local:8123", token: "t", addon: false })).toEqual({
      wsUrl: "ws://homeassistant.local:8123/api/websocket",
      token: "t",
      mode: "standalone",
    });
    expect(resolveEndpoint({ url: "https://ha.example.com/", token: "t", addon: false }).wsUrl).toBe(
      "wss://ha.example.com/api/websocket",
    );
    expect(resolveEndpoint({ url: "https://example.com/home/", token: "t", addon: false }).wsUrl).toBe(
      "wss://example.com/home/api/websocket",
    );
  });

  it("accepts a ws(s) URL as given, adding the API path only when there is none", () => {
    expect(resolveEndpoint({ url: "ws://10.0.0.2:8123/api/websocket", token: "t", addon: false }).wsUrl).toBe(
      "ws://10.0.0.2:8123/api/websocket",
    );
    expect(resolveEndpoint({ url: "wss://10.0.0.2:8123", token: "t", addon: false }).wsUrl).toBe(
      "wss://10.0.0.2:8123/api/websocket",
    );
  });

  it("uses the Supervisor proxy and SUPERVISOR_TOKEN in the add-on", () => {
    expect(resolveEndpoint({ addon: true, supervisorToken: "sup" })).toEqual({
      wsUrl: SUPERVISOR_WS_URL,
      token: "sup",
      mode: "addon",
    });
    expect(resolveEndpoint({ addon: true, supervisorToken: "sup", url: "http://other:8123" })).toMatchObject({
      wsUrl: "ws://other:8123/api/websocket",
      token: "sup",
    });
  });

  it("explains what is missing", () => {
    expect(() => resolveEndpoint({ addon: false })).toThrow(HomeAssistantConfigError);
    expect(() => resolveEndpoint({ addon: true })).toThrow(/SUPERVISOR_TOKEN/);
    expect(() => resolveEndpoint({ url: "http://ha:8123", addon: false })).toThrow(/homeassistant\.token/);
    expect(() => resolveEndpoint({ url: "mqtt://ha:1883", token: "t", addon: false })).toThrow(/http\(s\)/);
    expect(() => resolveEndpoint({ url: "nonsense", token: "t", addon: false })).toThrow(/not a URL/);
  });
});
