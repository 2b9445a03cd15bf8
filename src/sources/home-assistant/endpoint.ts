import { HomeAssistantConfigError } from "./errors.js";

export interface HomeAssistantEndpoint {
  /** The WebSocket URL, e.g. `ws://homeassistant.local:8123/api/websocket`. */
  readonly wsUrl: string;
  readonly token: string;
  readonly mode: "addon" | "standalone";
}

/** Inside an add-on, the Supervisor proxies core's WebSocket API and accepts the add-on's own token. */
export const SUPERVISOR_WS_URL = "ws://supervisor/core/websocket";

/**
 * Where to connect: an explicit `homeassistant.url` wins (as users know it, `http://homeassistant.local:8123`,
 * or a full `ws(s)://…/api/websocket`); otherwise, in the add-on, the Supervisor proxy with `SUPERVISOR_TOKEN`.
 */
export function resolveEndpoint(input: {
  readonly url?: string | undefined;
  readonly token?: string | undefined;
  readonly addon: boolean;
  readonly supervisorToken?: string | undefined;
}): HomeAssistantEndpoint {
  if (input.url !== undefined) {
    const token = input.token ?? (input.addon ? input.supervisorToken : undefined);
    if (token === undefined || token === "") {
      throw new HomeAssistantConfigError(
        "homeassistant.token is required with homeassistant.url (a long-lived access token)",
      );
    }
    return { wsUrl: toWebSocketUrl(input.url), token, mode: input.addon ? "addon" : "standalone" };
  }
  if (input.addon && input.supervisorToken !== undefined && input.supervisorToken !== "") {
    return { wsUrl: SUPERVISOR_WS_URL, token: input.supervisorToken, mode: "addon" };
  }
  throw new HomeAssistantConfigError(
    input.addon
      ? "SUPERVISOR_TOKEN is not set; enable homeassistant_api for the add-on or set homeassistant.url and homeassistant.token"
      : "homeassistant.url is not set (e.g. http://homeassistant.local:8123, with homeassistant.token)",
  );
}

function toWebSocketUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new HomeAssistantConfigError(`homeassistant.url is not a URL: ${raw}`);
  }
  const path = url.pathname.replace(/\/+$/, "");
  switch (url.protocol) {
    case "http:":
    case "https:":
      // The path of an HTTP URL is where HA lives (e.g. behind a reverse proxy); the API hangs below it.
      url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
      url.pathname = `${path}/api/websocket`;
      return url.toString();
    case "ws:":
    case "wss:":
      url.pathname = path === "" ? "/api/websocket" : path;
      return url.toString();
    default:
      throw new HomeAssistantConfigError(
        `homeassistant.url must start with http(s):// or ws(s)://, got ${url.protocol}`,
      );
  }
}
