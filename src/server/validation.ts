import { isRecord } from "../config/schema.js";
import { BridgeError } from "../core/errors.js";

/** A client message that cannot be accepted. Dialects map `code` onto their own wire codes. */
export class ProtocolError extends BridgeError {}

/**
 * HA's entity id grammar: `domain.object_id`, lowercase, digits and single underscores, no leading/trailing
 * `_`, at most 255 characters (HA's own limit).
 */
export const ENTITY_ID = /^(?=.{3,255}$)(?!.+__)(?!_)[\da-z_]+(?<!_)\.(?!_)[\da-z_]+(?<!_)$/;
/** HA area ids are slugs; a little wider to accept ids made by other tools. */
export const ROOM_ID = /^[A-Za-z0-9_-]{1,100}$/;
export const MAX_LIST_ITEMS = 1000;
/**
 * How much of a client's free-form text (a ping's timestamp, a heartbeat's client time) is echoed back: echoes
 * are exempt from the rate limit, so an uncapped one would let a client fill its own queue with its own bytes.
 */
export const MAX_ECHO_CHARS = 100;

/** `{type, data}` with `type` a string and `data` an object (absent = `{}`). */
export function readEnvelope(input: unknown): { type: string; data: Record<string, unknown> } {
  if (!isRecord(input)) throw new ProtocolError("INVALID_MESSAGE_FORMAT", "a message must be a JSON object");
  if (typeof input.type !== "string" || input.type === "") {
    throw new ProtocolError("INVALID_MESSAGE_FORMAT", "`type` must be a non-empty string");
  }
  const data = input.data ?? {};
  if (!isRecord(data))
    throw new ProtocolError("INVALID_MESSAGE_FORMAT", "`data` must be an object when present");
  return { type: input.type, data };
}

export function stringList(
  data: Record<string, unknown>,
  field: string,
  grammar: RegExp,
  invalidCode: string,
): string[] {
  const value = data[field];
  if (!Array.isArray(value))
    throw new ProtocolError("INVALID_MESSAGE_FORMAT", `\`${field}\` must be an array of strings`);
  if (value.length === 0) throw new ProtocolError("INVALID_MESSAGE_FORMAT", `\`${field}\` must not be empty`);
  if (value.length > MAX_LIST_ITEMS) {
    throw new ProtocolError("PAYLOAD_TOO_LARGE", `\`${field}\` holds more than ${MAX_LIST_ITEMS} items`);
  }
  const invalid = value.filter((item) => typeof item !== "string" || !grammar.test(item));
  if (invalid.length > 0) {
    throw new ProtocolError(invalidCode, `\`${field}\` holds invalid ids`, {
      field,
      invalid: invalid
        .slice(0, 10)
        .map((item) => (typeof item === "string" ? item : JSON.stringify(item)).slice(0, MAX_ECHO_CHARS)),
    });
  }
  return [...new Set(value as string[])];
}

export function optionalString(
  data: Record<string, unknown>,
  field: string,
  maxLength = 4096,
): string | undefined {
  const value = data[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string" || value.length > maxLength) {
    throw new ProtocolError(
      "INVALID_MESSAGE_FORMAT",
      `\`${field}\` must be a string of at most ${maxLength} characters`,
    );
  }
  return value;
}

/** The `message_id` of an `acknowledge`, in either dialect. */
export function acknowledgedMessageId(data: Record<string, unknown>): string {
  const messageId = optionalString(data, "message_id", 200);
  if (messageId === undefined || messageId === "") {
    throw new ProtocolError("INVALID_MESSAGE_FORMAT", "`message_id` is required");
  }
  return messageId;
}

export function optionalStringArray(data: Record<string, unknown>, field: string): string[] | undefined {
  const value = data[field];
  if (value === undefined || value === null) return undefined;
  if (
    !Array.isArray(value) ||
    value.length > MAX_LIST_ITEMS ||
    !value.every((v) => typeof v === "string" && v.length <= 200)
  ) {
    throw new ProtocolError("INVALID_MESSAGE_FORMAT", `\`${field}\` must be an array of short strings`);
  }
  return value as string[];
}
