/**
 * Where the broker is: the configured `mqtt.url`, or, in the add-on, the Supervisor's MQTT service
 * (`GET http://supervisor/services/mqtt`), which answers 400 "Service not enabled" until a broker add-on has
 * registered itself.
 */
import { readFileSync } from "node:fs";
import type { Config } from "../../config/schema.js";
import { BridgeError, errorMessage } from "../../core/errors.js";

export type MqttProtocolVersion = 3 | 4 | 5;

export interface BrokerEndpoint {
  readonly url: string;
  readonly username: string | undefined;
  readonly password: string | undefined;
  readonly protocolVersion: MqttProtocolVersion;
  readonly tls: TlsMaterial | undefined;
  /** Supervisor credentials are re-queried after the broker refuses them (they change on reinstall). */
  readonly origin: "config" | "supervisor";
}

export interface TlsMaterial {
  readonly ca: Buffer | undefined;
  readonly cert: Buffer | undefined;
  readonly key: Buffer | undefined;
  readonly rejectUnauthorized: boolean;
}

export type MqttErrorCode =
  | "MQTT_SERVICE_NOT_ENABLED"
  | "MQTT_SERVICE_FORBIDDEN"
  | "MQTT_SERVICE_UNREACHABLE"
  | "MQTT_SERVICE_INVALID"
  | "MQTT_TLS_FILE_UNREADABLE"
  | "MQTT_URL_UNUSABLE";

export class MqttError extends BridgeError {
  declare readonly code: MqttErrorCode;

  constructor(
    code: MqttErrorCode,
    message: string,
    details?: Record<string, unknown>,
    options?: ErrorOptions,
  ) {
    super(code, message, details, options);
  }

  /** Worth asking again later (the broker add-on may still be starting) rather than a configuration problem. */
  get retryable(): boolean {
    return this.code === "MQTT_SERVICE_NOT_ENABLED" || this.code === "MQTT_SERVICE_UNREACHABLE";
  }
}

type MqttConfig = Config["mqtt"];

/** The broker named in the configuration, or undefined when `mqtt.url` is not set. */
export function endpointFromConfig(config: MqttConfig): BrokerEndpoint | undefined {
  if (config.url === undefined) return undefined;
  const { tls } = config;
  const hasTlsFiles = tls.ca_file !== undefined || tls.cert_file !== undefined || tls.key_file !== undefined;
  const secure = config.url.startsWith("mqtts:") || config.url.startsWith("wss:");
  return {
    url: config.url,
    username: config.username,
    password: config.password,
    protocolVersion: 4,
    tls:
      secure || hasTlsFiles
        ? {
            ca: readTlsFile("mqtt.tls.ca_file", tls.ca_file),
            cert: readTlsFile("mqtt.tls.cert_file", tls.cert_file),
            key: readTlsFile("mqtt.tls.key_file", tls.key_file),
            rejectUnauthorized: tls.reject_unauthorized,
          }
        : undefined,
    origin: "config",
  };
}

function readTlsFile(option: string, path: string | undefined): Buffer | undefined {
  if (path === undefined) return undefined;
  try {
    return readFileSync(path);
  } catch (error) {
    throw new MqttError(
      "MQTT_TLS_FILE_UNREADABLE",
      `${option}: cannot read ${path}: ${errorMessage(error)}`,
      { path },
    );
  }
}

/** `data` of the Supervisor's answer, as the v1 (`addon`) and v2 (`app`) APIs send it. */
export function endpointFromService(data: unknown): BrokerEndpoint {
  if (typeof data !== "object" || data === null || Array.isArray(data))
    throw invalidService("data is not an object");
  const record = data as Record<string, unknown>;
  const host = record.host;
  const port = typeof record.port === "string" ? Number(record.port) : record.port;
  if (typeof host !== "string" || host === "") throw invalidService("host is missing");
  if (typeof port !== "number" || !Number.isInteger(port) || port < 1 || port > 65535)
    throw invalidService("port is not a port number");
  const protocol = record.protocol ?? "3.1.1";
  const protocolVersion: MqttProtocolVersion | undefined =
    protocol === "3.1.1"
      ? 4
      : protocol === "3.1"
        ? 3
        : protocol === "5" || protocol === "5.0"
          ? 5
          : undefined;
  if (protocolVersion === undefined) throw invalidService(`protocol ${String(protocol)} is not supported`);
  const ssl = record.ssl === true;
  return {
    url: `${ssl ? "mqtts" : "mqtt"}://${host.includes(":") ? `[${host}]` : host}:${port}`,
    username: typeof record.username === "string" ? record.username : undefined,
    password: typeof record.password === "string" ? record.password : undefined,
    protocolVersion,
    tls: ssl ? { ca: undefined, cert: undefined, key: undefined, rejectUnauthorized: true } : undefined,
    origin: "supervisor",
  };
}

function invalidService(detail: string): MqttError {
  return new MqttError("MQTT_SERVICE_INVALID", `the Supervisor's MQTT service answer is unusable: ${detail}`);
}

/** Asks the Supervisor once. Throws `MqttError`; `retryable` says whether asking again makes sense. */
export async function querySupervisorService(
  baseUrl: string,
  token: string,
  signal?: AbortSignal,
): Promise<BrokerEndpoint> {
  let response: Response;
  try {
    response = await fetch(new URL("/services/mqtt", baseUrl), {
      headers: { Authorization: `Bearer ${token}` },
      ...(signal === undefined ? {} : { signal }),
    });
  } catch (error) {
    throw new MqttError(
      "MQTT_SERVICE_UNREACHABLE",
      `the Supervisor is unreachable: ${errorMessage(error)}`,
      undefined,
      {
        cause: error,
      },
    );
  }
  let body: unknown;
  try {
    body = await response.json();
  } catch {
    body = undefined;
  }
  const envelope = typeof body === "object" && body !== null ? (body as Record<string, unknown>) : {};
  const message = typeof envelope.message === "string" ? envelope.message : `HTTP ${response.status}`;
  if (response.ok && envelope.result === "ok") return endpointFromService(envelope.data);
  if (response.status === 403) {
    throw new MqttError(
      "MQTT_SERVICE_FORBIDDEN",
      `the Supervisor refused the MQTT service (${message}); the add-on needs \`services: [mqtt:want]\``,
    );
  }
  if (response.status === 400 && /not enabled/i.test(message)) {
    throw new MqttError(
      "MQTT_SERVICE_NOT_ENABLED",
      "no MQTT broker is registered with the Supervisor yet (Service not enabled)",
    );
  }
  if (response.status >= 500) {
    throw new MqttError("MQTT_SERVICE_UNREACHABLE", `the Supervisor answered ${message}`);
  }
  throw new MqttError("MQTT_SERVICE_INVALID", `the Supervisor's MQTT service answered ${message}`);
}
