import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { onTestFinished } from "vitest";
import { type BridgeEvent, EventKind } from "../../../src/core/events.js";
import { createLogger, type Logger } from "../../../src/core/logger.js";

/** A fresh data directory, removed when the current test ends. */
export function tempDataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "pma-delivery-"));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** An entity state change numbered `seq`. */
export function stateEvent(
  seq: number,
  entityId = `light.l${seq}`,
  state = "on",
  roomId: string | null = "kitchen",
): BridgeEvent<EventKind.EntityStateChanged> {
  return {
    seq,
    epoch: "e1",
    kind: EventKind.EntityStateChanged,
    time: "2026-01-01T00:00:00.000Z",
    source: "homeassistant",
    entity_id: entityId,
    domain: entityId.split(".")[0] ?? "light",
    room_id: roomId,
    area_id: null,
    ha_event_type: "state_changed",
    critical: false,
    data: {
      entity_id: entityId,
      entity_type: entityId.split(".")[0] ?? "light",
      source: "homeassistant",
      old_state: "off",
      new_state: state,
      attributes: {},
      changed_attributes: [],
      room_id: roomId,
      area_id: null,
      last_changed: null,
      last_updated: null,
      user_id: null,
    },
  };
}

export function alertEvent(seq: number, alertId = `a${seq}`): BridgeEvent {
  return {
    seq,
    epoch: "e1",
    kind: EventKind.Alert,
    time: "2026-01-01T00:00:00.000Z",
    source: "mqtt",
    room_id: "bedroom",
    critical: true,
    data: {
      alert_id: alertId,
      alert_type: "accuracy_degradation",
      severity: "warning",
      title: "Accuracy",
      message: "Model accuracy dropped",
      room_id: "bedroom",
      component: "predictor",
      resolved: false,
      created_at: "2026-01-01T00:00:00.000Z",
      recommended_action: null,
    },
  };
}

/** A clock tests move by hand. */
export class ManualClock {
  constructor(public ms = 1_000_000) {}
  readonly now = (): number => this.ms;
  advance(ms: number): void {
    this.ms += ms;
  }
}

/** A logger that keeps its warnings and errors as parsed JSON lines, for tests that check what was logged. */
export function capturingLogger(): { readonly log: Logger; readonly lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger({
    level: "warn",
    format: "json",
    destination: new Writable({
      write(chunk, _encoding, done) {
        lines.push(JSON.parse(String(chunk)) as Record<string, unknown>);
        done();
      },
    }),
  });
  return { log, lines };
}
