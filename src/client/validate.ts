/**
 * The small vocabulary both dialect parsers use to check untrusted frames. Each message type declares the
 * fields its handlers rely on; a frame that lacks one is reported, not half-delivered.
 */

export type FieldType = "string" | "number" | "boolean" | "object" | "array" | "string|null" | "number|null";

/** Required fields of a message's `data`, by name. */
export type FieldSpec = Readonly<Record<string, FieldType>>;

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function hasType(value: unknown, type: FieldType): boolean {
  switch (type) {
    case "string":
    case "number":
    case "boolean":
      return typeof value === type;
    case "object":
      return isRecord(value);
    case "array":
      return Array.isArray(value);
    case "string|null":
      return value === null || typeof value === "string";
    case "number|null":
      return value === null || typeof value === "number";
  }
}

/** The first field of `data` that breaks `spec`, described for an error message; undefined when all fit. */
export function fieldProblem(data: Record<string, unknown>, spec: FieldSpec): string | undefined {
  for (const [name, type] of Object.entries(spec)) {
    if (!hasType(data[name], type)) return `data.${name} must be ${type}`;
  }
  return undefined;
}

/** A frame (or an item inside one) the parser refused, and why. */
export interface ParseRejection {
  readonly error: string;
  readonly raw: unknown;
}

export type ParseResult<T> =
  | {
      readonly ok: true;
      readonly message: T;
      /** Items inside the message (a snapshot's events) that were refused and left out. */
      readonly rejected?: readonly ParseRejection[];
    }
  | ({ readonly ok: false } & ParseRejection);

/** Parses every item of a list with `parse`, keeping the valid ones and reporting the others. */
export function parseItems<T>(
  items: readonly unknown[],
  parse: (raw: unknown) => ParseResult<T>,
): { items: T[]; rejected: ParseRejection[] } {
  const valid: T[] = [];
  const rejected: ParseRejection[] = [];
  for (const item of items) {
    const parsed = parse(item);
    if (parsed.ok) valid.push(parsed.message);
    else rejected.push({ error: parsed.error, raw: parsed.raw });
  }
  return { items: valid, rejected };
}

/** Reads one text frame as JSON; a parse failure is a result, never an exception. */
export function parseJson(text: string): { ok: true; value: unknown } | { ok: false; error: string } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (error) {
    return { ok: false, error: `not JSON: ${error instanceof Error ? error.message : String(error)}` };
  }
}
