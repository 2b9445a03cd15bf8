import { BridgeError } from "../../core/errors.js";

/** The Home Assistant settings cannot work (no URL, no token, a URL that is not HTTP or WebSocket). */
export class HomeAssistantConfigError extends BridgeError {
  constructor(message: string, details?: Record<string, unknown>) {
    super("ha_config_invalid", message, details);
  }
}

/**
 * Home Assistant answered a command with an error, or the connection went away before it answered.
 * `haCode` is HA's own code (`not_found`, `service_validation_error`, …) or `connection_lost`.
 */
export class HomeAssistantCommandError extends BridgeError {
  readonly haCode: string;

  constructor(command: string, haCode: string, message: string, details?: Record<string, unknown>) {
    super("ha_command_failed", `${command}: ${message}`, { command, ha_code: haCode, ...details });
    this.haCode = haCode;
  }
}

/** The connection this work belonged to has ended; the work is abandoned and redone on the next one. */
export class SessionEndedError extends BridgeError {
  constructor() {
    super("ha_session_ended", "the Home Assistant connection ended");
  }
}

/**
 * The state snapshot (the first event of `subscribe_entities`) was malformed, or did not come in time.
 * The sync attempt fails and is retried with a new subscription, so a new snapshot.
 */
export class HomeAssistantSnapshotError extends BridgeError {
  readonly reason: "malformed" | "timeout";

  constructor(reason: "malformed" | "timeout", message: string) {
    super(reason === "malformed" ? "ha_snapshot_malformed" : "ha_snapshot_timeout", message);
    this.reason = reason;
  }
}
