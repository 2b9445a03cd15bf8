import { existsSync, mkdirSync, renameSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync, type SQLOutputValue, type StatementSync } from "node:sqlite";
import { errorMessage } from "../errors.js";
import { DeliveryStoreError } from "./errors.js";
import { parseStoredEvent } from "./replay-ring.js";

/** The file, inside the data directory, that holds pending acknowledgements and resume state. */
export const DELIVERY_DB_FILE = "delivery.sqlite";

/** A `requires_ack` message sent to a client identity and not yet acknowledged. */
export interface PendingAck {
  readonly identity: string;
  readonly messageId: string;
  /** The bridge event's seq, for ordering redeliveries. */
  readonly seq: number;
  /** The encoded message exactly as first sent (one JSON object); redeliveries add a redelivery count. */
  readonly frame: string;
  /** How many times it was sent so far. */
  readonly attempts: number;
  readonly firstSentAt: number;
  /** When the next redelivery is due (epoch milliseconds). */
  readonly nextAttemptAt: number;
}

/** What happened to an `acknowledge`. Only `unknown` is an error for the client. */
export type AckOutcome = "acknowledged" | "duplicate" | "expired" | "unknown";

/** An event kept for resume across a graceful restart: its seq, its time and the event as JSON. */
export interface StoredEvent {
  readonly seq: number;
  readonly timeMs: number;
  readonly json: string;
}

/** The saved replay history: the intact rows, and the seqs of rows that were damaged and skipped. */
export interface SavedRing {
  readonly events: StoredEvent[];
  readonly damaged: number[];
}

/** A damaged database file that `open` moved aside before starting with an empty one. */
export interface StoreRecovery {
  /** What SQLite said about the file (e.g. `file is not a database`). */
  readonly reason: string;
  /** Where the old file is now (its `-wal`/`-shm` companions, if any, next to it with the same suffixes). */
  readonly movedTo: string;
}

const SCHEMA_VERSION = "1";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS acks (
  identity TEXT NOT NULL,
  message_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  frame TEXT NOT NULL,
  attempts INTEGER NOT NULL,
  first_sent_at INTEGER NOT NULL,
  next_attempt_at INTEGER NOT NULL,
  -- 'pending' until acknowledged ('acked') or given up on ('undeliverable'); closed rows are kept a while
  -- so that a repeated acknowledge is recognised as a duplicate, even after a restart.
  state TEXT NOT NULL CHECK (state IN ('pending', 'acked', 'undeliverable')),
  closed_at INTEGER,
  PRIMARY KEY (identity, message_id)
) STRICT;
CREATE INDEX IF NOT EXISTS acks_due ON acks (state, next_attempt_at);
CREATE INDEX IF NOT EXISTS acks_closed ON acks (state, closed_at);
CREATE TABLE IF NOT EXISTS ring (
  seq INTEGER PRIMARY KEY,
  time_ms INTEGER NOT NULL,
  event TEXT NOT NULL
) STRICT;
`;

/** The columns each table must have; a table from an older layout lacks some and cannot be used. */
const LAYOUT: Readonly<Record<string, readonly string[]>> = {
  meta: ["key", "value"],
  acks: [
    "identity",
    "message_id",
    "seq",
    "frame",
    "attempts",
    "first_sent_at",
    "next_attempt_at",
    "state",
    "closed_at",
  ],
  ring: ["seq", "time_ms", "event"],
};

/** Companion files SQLite keeps beside the database; they belong to it and move with it. */
const COMPANION_SUFFIXES = ["-wal", "-shm", "-journal"];

/** SQLite primary result codes that mean the file itself is damaged (moving it aside helps). */
const SQLITE_CORRUPT = 11;
const SQLITE_NOTADB = 26;

const SEQ_TEXT = /^(0|[1-9]\d{0,15})$/;

/** A seq as saved in the meta table, or undefined when it is not a non-negative safe integer. */
export function parseSeqText(value: string | undefined): number | undefined {
  if (value === undefined || !SEQ_TEXT.test(value)) return undefined;
  const seq = Number(value);
  return Number.isSafeInteger(seq) ? seq : undefined;
}

/** Thrown by the integrity check at open; never leaves this module (it becomes a recovery's reason). */
class DamagedFileError extends Error {}

/** The reason when `error` says the database file is damaged, undefined for every other failure. */
function damageOf(error: unknown): string | undefined {
  if (error instanceof DamagedFileError) return error.message;
  if (!(error instanceof Error) || !("errcode" in error) || typeof error.errcode !== "number")
    return undefined;
  // Extended result codes (SQLITE_CORRUPT_INDEX, …) keep the primary code in the low byte.
  const primary = error.errcode & 0xff;
  return primary === SQLITE_CORRUPT || primary === SQLITE_NOTADB ? error.message : undefined;
}

function cannotOpen(dir: string, cause: unknown): DeliveryStoreError {
  return new DeliveryStoreError(`cannot open the delivery database in ${dir}: ${errorMessage(cause)}`, {
    cause,
  });
}

type Row = Record<string, SQLOutputValue>;

function text(row: Row, key: string): string {
  const value = row[key];
  if (typeof value !== "string") throw new DeliveryStoreError(`column ${key} is not text`);
  return value;
}

function int(row: Row, key: string): number {
  const value = row[key];
  if (typeof value === "number") return value;
  if (typeof value === "bigint") return Number(value);
  throw new DeliveryStoreError(`column ${key} is not an integer`);
}

function toPending(row: Row): PendingAck {
  return {
    identity: text(row, "identity"),
    messageId: text(row, "message_id"),
    seq: int(row, "seq"),
    frame: text(row, "frame"),
    attempts: int(row, "attempts"),
    firstSentAt: int(row, "first_sent_at"),
    nextAttemptAt: int(row, "next_attempt_at"),
  };
}

const PENDING_COLUMNS = "identity, message_id, seq, frame, attempts, first_sent_at, next_attempt_at";

/**
 * The delivery database (`node:sqlite`, WAL). It is the single source of truth for pending acknowledgements,
 * so their memory is bounded by the disk, not the heap, and a crash loses none: every change is committed
 * before the message it describes goes out. `synchronous=NORMAL` in WAL mode survives a process crash
 * (`kill -9`); only an operating-system crash or power loss may lose the last commits.
 */
export class DeliveryStore {
  private readonly statements = new Map<string, StatementSync>();

  private constructor(
    private readonly db: DatabaseSync,
    /** Set when `open` found a damaged file, moved it aside and started with an empty database. */
    readonly recovery: StoreRecovery | undefined = undefined,
  ) {}

  /**
   * Opens (creating when needed) `<dir>/delivery.sqlite`; `":memory:"` gives a private in-memory store.
   * A file that is not a database or is damaged (a power cut mid-write, a failing SD card) is moved aside
   * and replaced by an empty database (see `recovery`). Anything else that stops it (permissions, a
   * directory in the way, a full disk, tables of a layout this version does not read) throws a
   * `DeliveryStoreError` that names the cause.
   */
  static open(dir: string): DeliveryStore {
    const path = dir === ":memory:" ? dir : join(dir, DELIVERY_DB_FILE);
    try {
      if (dir !== ":memory:") mkdirSync(dir, { recursive: true });
    } catch (error) {
      throw cannotOpen(dir, error);
    }
    try {
      return DeliveryStore.openFile(path, dir);
    } catch (error) {
      const reason = dir === ":memory:" ? undefined : damageOf(error);
      if (reason === undefined) throw error instanceof DeliveryStoreError ? error : cannotOpen(dir, error);
      // Seqs must never go back: keep the reservation if the damaged file still shows it.
      const reserved = salvageSeqReservation(path);
      let movedTo: string;
      try {
        movedTo = moveAside(path);
      } catch (moveError) {
        throw cannotOpen(dir, new Error(`${reason} (moving it aside failed: ${errorMessage(moveError)})`));
      }
      let store: DeliveryStore | undefined;
      try {
        store = DeliveryStore.openFile(path, dir, { reason, movedTo });
        if (reserved !== undefined) store.setMeta("seq_reserved", String(reserved));
        return store;
      } catch (retryError) {
        store?.close();
        throw retryError instanceof DeliveryStoreError ? retryError : cannotOpen(dir, retryError);
      }
    }
  }

  private static openFile(path: string, dir: string, recovery?: StoreRecovery): DeliveryStore {
    const db = new DatabaseSync(path);
    try {
      db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;");
      // A torn or flipped page can hide anywhere; finding it now (one read of a small file) turns it into
      // a recovery instead of an error on some later read.
      const problems = db
        .prepare("PRAGMA quick_check(1)")
        .all()
        .map((row) =>
          String(row.quick_check)
            .replace(/\*\*\* in database \w+ \*\*\*/g, "")
            .replace(/\s+/g, " ")
            .trim(),
        );
      if (problems.length !== 1 || problems[0] !== "ok") {
        throw new DamagedFileError(`database disk image is malformed (${problems.join("; ")})`);
      }
      checkLayout(db);
      db.exec(SCHEMA);
      const store = new DeliveryStore(db, recovery);
      const version = store.getMeta("schema_version");
      if (version === undefined) store.setMeta("schema_version", SCHEMA_VERSION);
      else if (version !== SCHEMA_VERSION) {
        throw new DeliveryStoreError(
          `delivery database in ${dir} has schema version ${version}; this bridge reads ${SCHEMA_VERSION}`,
        );
      }
      return store;
    } catch (error) {
      db.close();
      throw error;
    }
  }

  close(): void {
    if (this.db.isOpen) this.db.close();
  }

  /** Runs `fn` in one transaction: one commit for a whole fan-out instead of one per row. */
  transaction<T>(fn: () => T): T {
    if (this.db.isTransaction) return fn();
    this.db.exec("BEGIN IMMEDIATE");
    try {
      const result = fn();
      this.db.exec("COMMIT");
      return result;
    } catch (error) {
      // On SQLITE_FULL, SQLITE_IOERR and a few others SQLite has already rolled back; a ROLLBACK then
      // would throw "no transaction is active" and hide the real error.
      if (this.db.isTransaction) {
        try {
          this.db.exec("ROLLBACK");
        } catch {
          // The original error is the one worth reporting.
        }
      }
      throw error;
    }
  }

  getMeta(key: string): string | undefined {
    const row = this.statement("SELECT value FROM meta WHERE key = ?").get(key);
    return row === undefined ? undefined : text(row, "value");
  }

  setMeta(key: string, value: string): void {
    this.statement(
      "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    ).run(key, value);
  }

  deleteMeta(key: string): void {
    this.statement("DELETE FROM meta WHERE key = ?").run(key);
  }

  /** Records a first send. Returns false (and changes nothing) when the identity already has that message. */
  insertPending(ack: PendingAck): boolean {
    const result = this.statement(
      `INSERT INTO acks (${PENDING_COLUMNS}, state) VALUES (?, ?, ?, ?, ?, ?, ?, 'pending') ON CONFLICT DO NOTHING`,
    ).run(ack.identity, ack.messageId, ack.seq, ack.frame, ack.attempts, ack.firstSentAt, ack.nextAttemptAt);
    return Number(result.changes) === 1;
  }

  getPending(identity: string, messageId: string): PendingAck | undefined {
    const row = this.statement(
      `SELECT ${PENDING_COLUMNS} FROM acks WHERE identity = ? AND message_id = ? AND state = 'pending'`,
    ).get(identity, messageId);
    return row === undefined ? undefined : toPending(row);
  }

  /** Closes a pending message as acknowledged, and says what the acknowledge meant. */
  acknowledge(identity: string, messageId: string, now: number): AckOutcome {
    const result = this.statement(
      "UPDATE acks SET state = 'acked', closed_at = ? WHERE identity = ? AND message_id = ? AND state = 'pending'",
    ).run(now, identity, messageId);
    if (Number(result.changes) === 1) return "acknowledged";
    const row = this.statement("SELECT state FROM acks WHERE identity = ? AND message_id = ?").get(
      identity,
      messageId,
    );
    if (row === undefined) return "unknown";
    return text(row, "state") === "acked" ? "duplicate" : "expired";
  }

  /** Pending messages of one identity, oldest first (the order they are redelivered in on reconnect). */
  pendingFor(identity: string, limit: number): PendingAck[] {
    return this.statement(
      `SELECT ${PENDING_COLUMNS} FROM acks WHERE identity = ? AND state = 'pending' ORDER BY seq, first_sent_at LIMIT ?`,
    )
      .all(identity, limit)
      .map(toPending);
  }

  /** Pending messages whose redelivery is due at `now`, soonest first. */
  due(now: number, limit: number): PendingAck[] {
    return this.statement(
      `SELECT ${PENDING_COLUMNS} FROM acks WHERE state = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at LIMIT ?`,
    )
      .all(now, limit)
      .map(toPending);
  }

  recordAttempt(identity: string, messageId: string, attempts: number, nextAttemptAt: number): void {
    this.statement(
      "UPDATE acks SET attempts = ?, next_attempt_at = ? WHERE identity = ? AND message_id = ? AND state = 'pending'",
    ).run(attempts, nextAttemptAt, identity, messageId);
  }

  /** Moves the next attempt without counting one (used while the identity has no open connection). */
  postpone(identity: string, messageId: string, nextAttemptAt: number): void {
    this.statement(
      "UPDATE acks SET next_attempt_at = ? WHERE identity = ? AND message_id = ? AND state = 'pending'",
    ).run(nextAttemptAt, identity, messageId);
  }

  markUndeliverable(identity: string, messageId: string, now: number): void {
    this.statement(
      "UPDATE acks SET state = 'undeliverable', closed_at = ? WHERE identity = ? AND message_id = ? AND state = 'pending'",
    ).run(now, identity, messageId);
  }

  countPending(identity?: string): number {
    const row =
      identity === undefined
        ? this.statement("SELECT count(*) AS n FROM acks WHERE state = 'pending'").get()
        : this.statement("SELECT count(*) AS n FROM acks WHERE identity = ? AND state = 'pending'").get(
            identity,
          );
    return row === undefined ? 0 : int(row, "n");
  }

  /** The oldest pending messages of one identity (to make room when it holds too many). */
  oldestPending(identity: string, limit: number): PendingAck[] {
    return this.statement(
      `SELECT ${PENDING_COLUMNS} FROM acks WHERE identity = ? AND state = 'pending' ORDER BY first_sent_at, seq LIMIT ?`,
    )
      .all(identity, limit)
      .map(toPending);
  }

  /** Pending messages first sent before `before` (they outlived the retention). */
  pendingSentBefore(before: number, limit: number): PendingAck[] {
    return this.statement(
      `SELECT ${PENDING_COLUMNS} FROM acks WHERE state = 'pending' AND first_sent_at < ? ORDER BY first_sent_at LIMIT ?`,
    )
      .all(before, limit)
      .map(toPending);
  }

  /** Forgets acknowledged and undeliverable messages closed before `before`. */
  purgeClosed(before: number): number {
    const result = this.statement("DELETE FROM acks WHERE state != 'pending' AND closed_at < ?").run(before);
    return Number(result.changes);
  }

  /** Replaces the saved replay history with `events` (written on a graceful stop). */
  saveRing(events: Iterable<StoredEvent>): void {
    this.transaction(() => {
      this.statement("DELETE FROM ring").run();
      const insert = this.statement("INSERT INTO ring (seq, time_ms, event) VALUES (?, ?, ?)");
      for (const event of events) insert.run(event.seq, event.timeMs, event.json);
    });
  }

  /** The saved replay history, oldest first. Damaged rows are left out and their seqs reported, never thrown. */
  loadRing(): SavedRing {
    const events: StoredEvent[] = [];
    const damaged: number[] = [];
    for (const row of this.statement("SELECT seq, time_ms, event FROM ring ORDER BY seq").all()) {
      // `seq` is the rowid, always an integer; the other columns can be anything on a damaged page.
      const seq = int(row, "seq");
      const timeMs = row.time_ms;
      const json = row.event;
      const entry =
        typeof timeMs === "number" && typeof json === "string" ? { seq, timeMs, json } : undefined;
      if (entry !== undefined && parseStoredEvent(entry) !== undefined) events.push(entry);
      else damaged.push(seq);
    }
    return { events, damaged };
  }

  /** The highest seq found in the tables (pending acknowledgements, saved history): a floor for numbering. */
  maxStoredSeq(): number {
    const row = this.statement(
      "SELECT max(coalesce((SELECT max(seq) FROM acks), 0), coalesce((SELECT max(seq) FROM ring), 0)) AS n",
    ).get();
    return row === undefined ? 0 : int(row, "n");
  }

  clearRing(): void {
    this.statement("DELETE FROM ring").run();
  }

  private statement(sql: string): StatementSync {
    let statement = this.statements.get(sql);
    if (statement === undefined) {
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }
}

/** Fails with a clear cause when an existing table lacks a column this version needs (an older layout). */
function checkLayout(db: DatabaseSync): void {
  for (const [table, columns] of Object.entries(LAYOUT)) {
    const present = new Set(
      db
        .prepare("SELECT name FROM pragma_table_info(?)")
        .all(table)
        .map((row) => row.name),
    );
    if (present.size === 0) continue;
    const missing = columns.find((column) => !present.has(column));
    if (missing !== undefined) {
      throw new Error(
        `table ${table} has no column ${missing} (a layout this version does not read; move ${DELIVERY_DB_FILE} aside to start fresh)`,
      );
    }
  }
}

/** The seq reservation (or last seq) a damaged file still shows, best effort: undefined when unreadable. */
function salvageSeqReservation(path: string): number | undefined {
  let db: DatabaseSync | undefined;
  try {
    db = new DatabaseSync(path, { readOnly: true });
    const seqs = db
      .prepare("SELECT value FROM meta WHERE key IN ('seq_reserved', 'last_seq')")
      .all()
      .map((row) => parseSeqText(typeof row.value === "string" ? row.value : undefined))
      .filter((seq) => seq !== undefined);
    return seqs.length === 0 ? undefined : Math.max(...seqs);
  } catch {
    return undefined;
  } finally {
    db?.close();
  }
}

/**
 * Renames a damaged database (and its companion files, so that they stay a pair) to
 * `<file>.corrupt-<time>`, keeping it for the user; returns the new path.
 */
function moveAside(path: string): string {
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  let target = `${path}.corrupt-${stamp}`;
  for (let n = 1; existsSync(target); n += 1) target = `${path}.corrupt-${stamp}-${n}`;
  renameSync(path, target);
  for (const suffix of COMPANION_SUFFIXES) {
    if (existsSync(path + suffix)) renameSync(path + suffix, target + suffix);
  }
  return target;
}
