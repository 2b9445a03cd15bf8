import { BridgeError } from "../errors.js";

/** An `acknowledge` the bridge cannot match: the id was never sent to this client identity. */
export class AckError extends BridgeError {
  constructor(code: "UNKNOWN_MESSAGE_ID", message: string, details?: Record<string, unknown>) {
    super(code, message, details);
  }
}

/** A resume request (`?last_seq=` or a `resume` message) that cannot be honoured as asked. */
export class ResumeError extends BridgeError {
  constructor(
    code: "RESUME_INVALID" | "RESUME_SEQ_AHEAD",
    message: string,
    details?: Record<string, unknown>,
  ) {
    super(code, message, details);
  }
}

/** The delivery database could not be opened or has a shape this version does not understand. */
export class DeliveryStoreError extends BridgeError {
  constructor(message: string, options?: ErrorOptions) {
    super("DELIVERY_STORE", message, undefined, options);
  }
}
