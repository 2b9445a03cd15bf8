#!/usr/bin/env node
// The Node.js client of the PMA WebSocket guide (seed 000), made runnable against PMA Bridge.
// Changes from the guide: it authenticates with a token, restores its subscriptions after a reconnect,
// keeps one heartbeat timer, and also listens to predictions and alerts.
//
//   node examples/node/pma-client.mjs [ws://127.0.0.1:3001/ws] [token]
//
// The URL and token can also come from PMA_BRIDGE_URL and PMA_BRIDGE_TOKEN; `npm start` prints both.
import WebSocket from "ws";

class PMAWebSocketClient {
  constructor(url, options = {}) {
    this.url = url;
    this.options = options;
    this.ws = null;
    this.eventTypes = new Set();
    this.eventHandlers = new Map();
    this.heartbeat = null;
    this.closing = false;
  }

  connect() {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(this.url);
      this.ws = ws;
      ws.on("open", () => {
        console.log("Connected to PMA WebSocket server");
        this.setupHeartbeat();
        resolve();
      });
      ws.on("message", (data) => {
        try {
          this.handleMessage(JSON.parse(data.toString()));
        } catch (error) {
          console.error("Failed to parse message:", error);
        }
      });
      ws.on("close", () => {
        clearInterval(this.heartbeat);
        if (this.closing) return;
        console.log("WebSocket connection closed");
        this.reconnect();
      });
      ws.on("error", (error) => {
        console.error(`WebSocket error: ${error.message}`);
        reject(error);
      });
    });
  }

  send(message) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(JSON.stringify(message));
    }
  }

  on(eventType, handler) {
    if (!this.eventHandlers.has(eventType)) this.eventHandlers.set(eventType, []);
    this.eventHandlers.get(eventType).push(handler);
  }

  emit(eventType, data) {
    for (const handler of this.eventHandlers.get(eventType) ?? []) handler(data);
  }

  subscribeToEvents(eventTypes) {
    for (const type of eventTypes) this.eventTypes.add(type);
    this.send({ type: "subscribe_ha_events", data: { event_types: eventTypes } });
  }

  handleMessage(message) {
    const data = message.data;
    switch (message.type) {
      case "welcome":
        console.log(`Welcome message: client_id=${data.client_id} protocol=${data.protocol_version}`);
        if (this.options.token) this.send({ type: "authenticate", data: { token: this.options.token } });
        else this.emit("ready");
        break;
      case "authentication_success":
        console.log(`Authenticated as ${data.subject} (capabilities: ${data.capabilities.join(", ")})`);
        this.emit("ready");
        break;
      case "authentication_failure":
        console.error(`Authentication failed: ${data.code} ${data.message}`);
        this.close();
        process.exitCode = 1;
        break;
      case "subscription_update":
        console.log(
          `Subscription update: ${data.action} ${data.type} [${data.items.join(", ")}] (total ${data.total_subscriptions})`,
        );
        break;
      case "subscription_error":
        console.error(`Subscription error: ${data.code} ${data.error}`);
        break;
      case "pma_entity_state_changed":
        this.emit("entityStateChanged", data);
        break;
      case "pma_automation_triggered":
        this.emit("automationTriggered", data);
        break;
      case "prediction_update":
        this.emit("predictionUpdate", data);
        break;
      case "system_status":
      case "adapter_status":
      case "connection_status":
      case "sync_status":
        console.log(`System: ${message.type} ${data.status}`);
        break;
      case "pong":
        break;
      case "error":
        console.error(`Error: ${data.code} ${data.message}`);
        break;
      default:
        console.log(`Received ${message.type}`);
    }
  }

  setupHeartbeat() {
    clearInterval(this.heartbeat);
    this.heartbeat = setInterval(() => {
      this.send({ type: "ping", data: { timestamp: new Date().toISOString() } });
    }, 30000);
  }

  reconnect() {
    setTimeout(() => {
      console.log("Attempting to reconnect...");
      this.connect().catch(() => undefined);
    }, 5000);
  }

  close() {
    this.closing = true;
    clearInterval(this.heartbeat);
    this.ws?.close();
  }
}

const url = process.argv[2] ?? process.env.PMA_BRIDGE_URL ?? "ws://127.0.0.1:3001/ws";
const token = process.argv[3] ?? process.env.PMA_BRIDGE_TOKEN;
const client = new PMAWebSocketClient(url, { token });

client.on("entityStateChanged", (data) => {
  console.log(
    `Entity state changed: ${data.entity_id}: ${data.old_state} -> ${data.new_state} (room ${data.room_id ?? "none"})`,
  );
});
client.on("automationTriggered", (data) => {
  console.log(`Automation triggered: ${data.rule_name} (${data.trigger.type})`);
});
client.on("predictionUpdate", (data) => {
  console.log(
    `Prediction: ${data.room_name} becomes ${data.transition_type} in ${data.time_until_human} (confidence ${data.confidence_score})`,
  );
});
// Subscribe once the bridge knows who we are; after a reconnect, subscribe again.
client.on("ready", () => {
  const types =
    client.eventTypes.size > 0
      ? [...client.eventTypes]
      : ["state_changed", "automation_triggered", "prediction_update"];
  client.subscribeToEvents(types);
});

process.once("SIGINT", () => client.close());
process.once("SIGTERM", () => client.close());
client.connect().catch((error) => {
  console.error(`Could not connect to ${url}: ${error.message}`);
  process.exitCode = 1;
});
