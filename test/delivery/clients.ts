import type { Config } from "../../src/config/schema.js";
import type { TestClient } from "../helpers/ws-client.js";
import { ADMIN_KEY, type TestServer } from "../helpers/ws-server.js";

/** An occupancy client on `path`, authenticated as `clientName` and subscribed to its path's endpoint. */
export async function occupancyClient(
  t: TestServer,
  path: string,
  clientName: string,
  options: { query?: string; apiKey?: string } = {},
): Promise<TestClient> {
  const client = await t.connect(`${path}${options.query ?? ""}`);
  await client.nextOfType("connection");
  client.send({
    type: "authentication",
    data: { api_key: options.apiKey ?? ADMIN_KEY, client_name: clientName },
  });
  await client.nextOfType("subscription_status");
  return client;
}

/** A PMA client with the admin key, following the rooms given. */
export async function pmaClient(t: TestServer, rooms: string[], query = ""): Promise<TestClient> {
  const client = await t.connect(`/ws?token=${ADMIN_KEY}${query}`);
  await client.nextOfType("authentication_success");
  client.send({ type: "subscribe_ha_rooms", data: { room_ids: rooms } });
  await client.nextOfType("subscription_update");
  return client;
}

/** Acknowledgement timings the schema refuses (it asks for whole seconds), for fast tests. */
export function fastAcks(timeoutSeconds: number, maxAttempts: number): (config: Config) => Config {
  return (config) => ({
    ...config,
    acks: { ...config.acks, timeout_seconds: timeoutSeconds, max_attempts: maxAttempts, backoff_factor: 1 },
  });
}
