#!/usr/bin/env node
// The package's own typed client (dist/client, the `main` export of pma-bridge) in a few lines: one
// connection per dialect, typed listeners, automatic reconnect, resume and acknowledgements.
//
//   npm run build && node examples/node/typed-client.mjs [http://127.0.0.1:3001] [token]
//
// In your own project: `import { PmaClient, OccupancyClient } from "pma-bridge";`
import { OccupancyClient, PmaClient } from "../../dist/client/index.js";

const base = (process.argv[2] ?? process.env.PMA_BRIDGE_HTTP_URL ?? "http://127.0.0.1:3001").replace(
  /^http/,
  "ws",
);
const token = process.argv[3] ?? process.env.PMA_BRIDGE_TOKEN;

const pma = new PmaClient({ url: `${base}/ws`, token });
pma.on("pma_entity_state_changed", ({ data }) =>
  console.log(`[pma] ${data.entity_id}: ${data.old_state} -> ${data.new_state}`),
);
pma.on("prediction_update", ({ data }) =>
  console.log(`[pma] ${data.room_name} ${data.transition_type} in ${data.time_until_human}`),
);
pma.on("disconnected", ({ reconnectInMs }) =>
  console.log(`[pma] disconnected; retrying in ${reconnectInMs} ms`),
);

const alerts = new OccupancyClient({ url: `${base}/ws/alerts`, token, clientName: "typed-example" });
alerts.on("alert_notification", ({ data }) =>
  console.log(`[occupancy] alert ${data.severity}: ${data.message} (acknowledged)`),
);
alerts.on("drift_notification", ({ data }) =>
  console.log(`[occupancy] drift: ${data.message} (acknowledged)`),
);

await pma.connect();
console.log(`[pma] ready as client ${pma.welcome?.client_id}`);
await pma.subscribeEvents(["state_changed", "prediction_update"]);
await alerts.connect();
console.log("[occupancy] ready on /ws/alerts");

const stop = () => {
  pma.close();
  alerts.close();
};
process.once("SIGINT", stop);
process.once("SIGTERM", stop);
