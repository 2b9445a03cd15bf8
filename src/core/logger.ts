import { pino } from "pino";

export type LogLevel = "trace" | "debug" | "info" | "warn" | "error" | "fatal" | "silent";
export type LogFormat = "pretty" | "json";

/**
 * The logger every part receives by injection. It is pino's interface: structured fields first, message
 * second. Namespaces are children: `log.child({ ns: "ha" })`.
 */
export type Logger = pino.Logger;

/** Field names whose values are never written to a log, at the top level or one level down. */
const SECRET_KEYS = [
  "token",
  "access_token",
  "password",
  "api_key",
  "key",
  "jwt_secret",
  "secret",
  "authorization",
  "Authorization",
];
const REDACT_PATHS = [...SECRET_KEYS, ...SECRET_KEYS.map((k) => `*.${k}`)];

export interface LoggerOptions {
  readonly level: LogLevel;
  readonly format: LogFormat;
  /** Where lines go; standard error by default so standard output stays clean for command output. */
  readonly destination?: NodeJS.WritableStream;
}

export function createLogger(options: LoggerOptions): Logger {
  const destination = options.destination ?? process.stderr;
  const stream = options.format === "json" ? destination : new PrettyStream(destination);
  return pino(
    {
      level: options.level,
      base: undefined,
      redact: { paths: REDACT_PATHS, censor: "[redacted]" },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    stream as pino.DestinationStream,
  );
}

/** A logger that drops everything; for tests and for library use. */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}

/** Renders pino's JSON lines as `time LEVEL [ns] message key=value`, the form add-on users read in the UI. */
class PrettyStream {
  constructor(private readonly out: NodeJS.WritableStream) {}

  write(line: string): boolean {
    let record: Record<string, unknown>;
    try {
      record = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return this.out.write(line);
    }
    const { time, level, ns, msg, err, ...rest } = record;
    const parts = [
      String(time ?? ""),
      String(level ?? "")
        .toUpperCase()
        .padEnd(5),
    ];
    if (typeof ns === "string") parts.push(`[${ns}]`);
    parts.push(String(msg ?? ""));
    for (const [key, value] of Object.entries(rest)) {
      parts.push(`${key}=${typeof value === "string" ? value : JSON.stringify(value)}`);
    }
    if (err !== undefined && typeof err === "object" && err !== null) {
      const e = err as { message?: unknown; stack?: unknown };
      parts.push(`err=${JSON.stringify(e.message ?? err)}`);
      if (record.level === "debug" || record.level === "trace") parts.push(`\n${String(e.stack ?? "")}`);
    }
    return this.out.write(`${parts.join(" ")}\n`);
  }
}
