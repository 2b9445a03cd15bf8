import { ClientError, type CloseInfo, OccupancyClient, PmaClient } from "../client/index.js";
import { COLORS, formatOccupancy, formatPma, PLAIN, type Style } from "./format.js";

export interface WatchOptions {
  /** The bridge, e.g. `ws://127.0.0.1:3001` (an `http://` URL works too). */
  readonly url: string;
  /** A bridge token (`pma-bridge token`) or, for the pma dialect, an API key. */
  readonly token?: string | undefined;
  /** An API key for the occupancy dialect (`--endpoint`); `token` is used when absent. */
  readonly apiKey?: string | undefined;
  readonly entities?: readonly string[];
  readonly rooms?: readonly string[];
  readonly events?: readonly string[];
  /** An occupancy endpoint (`/ws/predictions`, `/ws/system-status`, `/ws/alerts`, `/ws/room/{id}`): watch that dialect instead. */
  readonly endpoint?: string | undefined;
  /** Print each message as its JSON line instead of a summary. */
  readonly json?: boolean;
  /** Exit (code 0) after this many event messages. */
  readonly maxMessages?: number | undefined;
  /** Colors; by default when the output is a terminal. */
  readonly color?: boolean;
}

/** What `watch` subscribes to when no flag says otherwise: everything that happens in the home and the predictor. */
export const DEFAULT_EVENTS = [
  "state_changed",
  "automation_triggered",
  "call_service",
  "prediction_update",
  "alert",
  "drift",
];

export class WatchError extends ClientError {}

interface Output {
  write(text: string): unknown;
  readonly isTTY?: boolean;
}

function baseUrl(url: string): string {
  const u = new URL(url);
  if (u.protocol === "http:") u.protocol = "ws:";
  else if (u.protocol === "https:") u.protocol = "wss:";
  else if (u.protocol !== "ws:" && u.protocol !== "wss:") {
    throw new WatchError("INVALID_URL", `${url} is not a ws://, wss://, http:// or https:// URL`);
  }
  // `ws://host:3001/ws` and `ws://host:3001` both mean the bridge at that address.
  u.pathname = u.pathname.replace(/\/ws(\/.*)?$/, "").replace(/\/$/, "");
  return u.toString().replace(/\/$/, "");
}

/** A message as its one-line form, or as JSON when a field its form needs has an odd shape. */
function formatted(format: () => string, message: unknown): string {
  try {
    return format();
  } catch {
    return JSON.stringify(message);
  }
}

/**
 * `pma-bridge watch`: connects with a credential, subscribes from the flags, prints one line per message,
 * acknowledges `requires_ack` messages, and reconnects and resumes after a drop. Resolves with the exit code
 * when `signal` aborts, after `maxMessages`, or when the bridge refuses the credential.
 */
export async function runWatch(
  options: WatchOptions,
  out: Output = process.stdout,
  signal?: AbortSignal,
): Promise<number> {
  const style: Style = (options.color ?? out.isTTY === true) ? COLORS : PLAIN;
  const base = baseUrl(options.url);
  const note = (text: string): void => {
    out.write(`${style.dim(`-- ${text}`)}\n`);
  };
  let events = 0;
  let finish: (code: number) => void = () => undefined;
  const done = new Promise<number>((resolve) => {
    finish = resolve;
  });
  let finished = false;
  /** Counts event messages (those with a `seq`) for `--max-messages`; a snapshot is state, not an event. */
  const counted = (seq: number | null): void => {
    if (seq === null) return;
    events += 1;
    if (options.maxMessages !== undefined && events >= options.maxMessages) {
      finished = true;
      finish(0);
    }
  };
  /** Prints a message unless `--max-messages` was already reached (frames may still be in flight). */
  const print = (text: string): boolean => {
    if (finished) return false;
    out.write(`${text}\n`);
    return true;
  };

  let client: PmaClient | OccupancyClient;
  const onDisconnected = (info: CloseInfo): void => {
    if (info.reconnectInMs !== null)
      note(`disconnected (${info.code}); reconnecting in ${(info.reconnectInMs / 1000).toFixed(1)} s`);
  };
  const onReady = (): void => {
    if (client.cursor !== null) note(`reconnected; resuming after #${client.cursor.seq}`);
  };
  const onInvalid = (error: string): void => note(`ignored a frame: ${error}`);
  if (options.endpoint !== undefined) {
    const occupancy = new OccupancyClient({
      url: `${base}${options.endpoint}`,
      apiKey: options.apiKey,
      token: options.apiKey === undefined ? options.token : undefined,
      clientName: "pma-bridge watch",
    });
    occupancy.on("message", (m) => {
      if (!print(options.json === true ? JSON.stringify(m) : formatted(() => formatOccupancy(m, style), m)))
        return;
      if (m.requires_ack) note(`acknowledged ${m.message_id}`);
      counted(m.message_type === "snapshot" ? null : m.seq);
    });
    occupancy.on("disconnected", onDisconnected);
    occupancy.on("ready", onReady);
    occupancy.on("invalid_frame", onInvalid);
    client = occupancy;
  } else {
    // The pma dialect takes an API key in the same place as a token.
    const pma = new PmaClient({ url: `${base}/ws`, token: options.token ?? options.apiKey });
    pma.on("message", (m) => {
      if (print(options.json === true ? JSON.stringify(m) : formatted(() => formatPma(m, style), m)))
        counted(m.type === "snapshot" ? null : m.seq);
    });
    pma.on("disconnected", onDisconnected);
    pma.on("ready", onReady);
    pma.on("invalid_frame", onInvalid);
    client = pma;
  }
  const onAbort = (): void => finish(0);
  signal?.addEventListener("abort", onAbort, { once: true });

  try {
    await Promise.race([client.connect(), done]);
    if (client instanceof PmaClient) {
      const entities = options.entities ?? [];
      const rooms = options.rooms ?? [];
      const explicit = options.events ?? [];
      const eventTypes =
        explicit.length > 0 || entities.length > 0 || rooms.length > 0 ? explicit : DEFAULT_EVENTS;
      if (eventTypes.length > 0) await client.subscribeEvents(eventTypes);
      if (entities.length > 0) await client.subscribeEntities(entities);
      if (rooms.length > 0) await client.subscribeRooms(rooms);
    } else if (options.rooms !== undefined) {
      for (const room of options.rooms) await client.subscribe(`/ws/room/${room}`, room);
    }
    return await done;
  } catch (error) {
    out.write(
      `${style.color(`watch: ${error instanceof Error ? error.message : String(error)}`, "error")}\n`,
    );
    return error instanceof ClientError && error.code === "AUTHENTICATION_FAILED" ? 2 : 1;
  } finally {
    signal?.removeEventListener("abort", onAbort);
    client.close();
  }
}
