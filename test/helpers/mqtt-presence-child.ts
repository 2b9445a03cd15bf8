/**
 * A bridge reduced to its MQTT presence, run as a child process so a test can kill it with SIGKILL and watch
 * the broker publish the Last Will. Configured through environment variables; prints `ready` once connected.
 */
import { configSchema } from "../../src/config/schema.js";
import { HealthRegistry } from "../../src/core/health.js";
import { silentLogger } from "../../src/core/logger.js";
import { MqttSource } from "../../src/sources/mqtt/source.js";

const config = configSchema.parse({
  mqtt: {
    url: process.env.BROKER_URL,
    client_id: process.env.CLIENT_ID,
    status_topic: process.env.STATUS_TOPIC,
    discovery_prefix: process.env.DISCOVERY_PREFIX,
  },
});
const source = new MqttSource({
  config: config.mqtt,
  rooms: config.rooms,
  addon: false,
  sink: { publish: () => {} },
  health: new HealthRegistry(),
  log: silentLogger(),
  version: "0.0.0-test",
});
await source.start();
const ready = setInterval(() => {
  if (source.connected()) {
    clearInterval(ready);
    process.stdout.write("ready\n");
  }
}, 20);
