import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync, type SQLOutputValue, type StatementSync } from "node:sqlite";
import { DeliveryStoreError } from "./errors.js";

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

  private constructor(private readonly db: DatabaseSync) {}

  /** Opens (creating when needed) `<dir>/delivery.sqlite`; `":memory:"` gives a private in-memory store. */
  static open(dir: string): DeliveryStore {
    let db: DatabaseSync;
    try {
      if (dir === ":memory:") db = new DatabaseSync(":memory:");
      else {
        mkdirSync(dir, { recursive: true });
        db = new DatabaseSync(join(dir, DELIVERY_DB_FILE));
      }
      db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;");
      db.exec(SCHEMA);
    } catch (error) {
      throw new DeliveryStoreError(`cannot open the delivery database in ${dir}`, { cause: error });
    }
    const store = new DeliveryStore(db);
    const version = store.getMeta("schema_version");
    if (version === undefined) store.setMeta("schema_version", SCHEMA_VERSION);
    else if (version !== SCHEMA_VERSION) {
      db.close();
      throw new DeliveryStoreError(
        `delivery database has schema version ${version}; this bridge reads ${SCHEMA_VERSION}`,
      );
    }
    return store;
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
      this.db.exec("ROLLBACK");
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

  loadRing(): StoredEvent[] {
    return this.statement("SELECT seq, time_ms, event FROM ring ORDER BY seq")
      .all()
      .map((row) => ({ seq: int(row, "seq"), timeMs: int(row, "time_ms"), json: text(row, "event") }));
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
