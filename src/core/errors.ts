/**
 * Every error the bridge raises on purpose carries a stable string `code`, so logs, HTTP answers and wire
 * errors can be matched by machines without parsing prose.
 */
export class BridgeError extends Error {
  readonly code: string;
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(code: string, message: string, details?: Record<string, unknown>, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.details = details;
  }
}

/** Turns anything thrown into a short, loggable message without leaking stack traces to clients. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === "string") return error;
  try {
    return JSON.stringify(error);
  } catch {
    return String(error);
  }
}
