/**
 * The bridge's typed client for Node 22+ and browsers: `PmaClient` for the PMA dialect (`/ws`) and
 * `OccupancyClient` for the occupancy dialect (`/ws/predictions`, …). See docs/clients.md.
 */
export type * from "../core/events.js";
export { type BaseClientOptions, ClientError, type Cursor, type LifecycleEvents } from "./base.js";
export * from "./occupancy-client.js";
export * from "./occupancy-protocol.js";
export * from "./pma-client.js";
export * from "./pma-protocol.js";
export {
  backoffDelay,
  type CloseInfo,
  DEFAULT_RECONNECT,
  type ReconnectOptions,
  type WebSocketClass,
} from "./socket.js";
export type { ParseRejection, ParseResult } from "./validate.js";
