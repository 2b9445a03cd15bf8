#!/usr/bin/env node
// The JavaScript/Node.js client of the Occupancy Prediction WebSocket API (seed 002), runnable against
// PMA Bridge. Changes from the document: the URL and key come from the command line, and after
// authenticating it also subscribes to /ws/alerts, so the alerts it acknowledges actually reach it.
//
//   node examples/node/occupancy-client.mjs [ws://127.0.0.1:3001] [api-key]
//
// `npm start` prints a ready-to-use API key (also accepted from PMA_BRIDGE_API_KEY).
import WebSocket from "ws";

class OccupancyWebSocketClient {
  constructor(baseUrl, apiKey) {
    this.url = `${baseUrl.replace(/\/$/, "")}/ws/predictions`;
    this.apiKey = apiKey;
    this.ws = null;
    this.authenticated = false;
  }

  connect() {
    this.ws = new WebSocket(this.url);

    this.ws.on("open", () => {
      console.log("Connected to WebSocket API");
      this.authenticate();
    });

    this.ws.on("message", (data) => {
      const message = JSON.parse(data);
      this.handleMessage(message);
    });

    this.ws.on("close", (code) => {
      console.log(`Connection closed (${code})`);
    });

    this.ws.on("error", (error) => {
      console.error("WebSocket error:", error.message);
      process.exitCode = 1;
    });
  }

  authenticate() {
    const authMessage = {
      type: "authentication",
      data: {
        api_key: this.apiKey,
        client_name: "JSClient",
        capabilities: ["predictions", "alerts"],
        room_filters: [],
      },
    };
    this.ws.send(JSON.stringify(authMessage));
  }

  subscribe(endpoint) {
    this.ws.send(JSON.stringify({ type: "subscribe", data: { endpoint, room_id: null, filters: {} } }));
  }

  handleMessage(message) {
    switch (message.message_type) {
      case "connection":
        console.log(`Connection: client ${message.data.client_id}, API ${message.data.api_version}`);
        break;
      case "authentication":
        this.authenticated = message.data.success;
        console.log(
          `Authentication: ${message.data.success ? "successful" : "failed"} (${message.data.capabilities.join(", ")})`,
        );
        if (this.authenticated) this.subscribe("/ws/alerts");
        break;
      case "subscription_status":
        console.log(
          `Subscription: ${message.data.action} ${message.data.endpoint} ${message.data.success ? "ok" : "failed"}`,
        );
        break;
      case "prediction_update":
        console.log(
          `Prediction for ${message.data.room_name}: ${message.data.transition_type} in ${message.data.time_until_human}`,
        );
        break;
      case "alert_notification":
        console.warn(`Alert: ${message.data.message}`);
        if (message.requires_ack) {
          this.acknowledgeMessage(message.message_id);
        }
        break;
      case "error":
        console.error(`Error: ${message.data.error_code} ${message.data.error}`);
        break;
      default:
        console.log(`Received ${message.message_type}`);
    }
  }

  acknowledgeMessage(messageId) {
    const ackMessage = {
      type: "acknowledge",
      data: { message_id: messageId },
    };
    this.ws.send(JSON.stringify(ackMessage));
    console.log(`Acknowledged ${messageId}`);
  }
}

// Usage
const baseUrl = process.argv[2] ?? process.env.PMA_BRIDGE_BASE_URL ?? "ws://127.0.0.1:3001";
const apiKey = process.argv[3] ?? process.env.PMA_BRIDGE_API_KEY ?? "your-api-key";
const client = new OccupancyWebSocketClient(baseUrl, apiKey);
process.once("SIGINT", () => client.ws?.close());
process.once("SIGTERM", () => client.ws?.close());
client.connect();
