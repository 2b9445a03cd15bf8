import type { OccupancyMessage, PmaMessage, ResumeStatusData, SnapshotData } from "../client/index.js";

/** One line per message for `pma-bridge watch`: time, type, and what a person wants to know about it. */

export interface Style {
  readonly dim: (text: string) => string;
  readonly bold: (text: string) => string;
  readonly color: (text: string, tone: Tone) => string;
}

export type Tone = "entity" | "room" | "automation" | "prediction" | "alert" | "system" | "reply" | "error";

const ANSI: Record<Tone, number> = {
  entity: 36,
  room: 34,
  automation: 33,
  prediction: 35,
  alert: 31,
  system: 32,
  reply: 90,
  error: 91,
};

export const PLAIN: Style = { dim: (t) => t, bold: (t) => t, color: (t) => t };
export const COLORS: Style = {
  dim: (t) => `\u001b[2m${t}\u001b[22m`,
  bold: (t) => `\u001b[1m${t}\u001b[22m`,
  color: (t, tone) => `\u001b[${ANSI[tone]}m${t}\u001b[39m`,
};

function clock(iso: string): string {
  const time = Date.parse(iso);
  return Number.isNaN(time) ? iso : new Date(time).toISOString().slice(11, 19);
}

function line(
  style: Style,
  timestamp: string,
  type: string,
  tone: Tone,
  text: string,
  seq: number | null,
): string {
  const seqText = seq === null ? "" : style.dim(` #${seq}`);
  return `${style.dim(clock(timestamp))} ${style.color(type.padEnd(26), tone)} ${text}${seqText}`;
}

/** After a reconnect: what the bridge replayed, or why it sent the current state instead. */
function resumeText(data: ResumeStatusData): string {
  return `resumed after #${data.from_seq}: ${data.replayed} missed event${data.replayed === 1 ? "" : "s"} replayed, now at #${data.last_seq}`;
}

function snapshotText(data: SnapshotData<unknown>): string {
  const why =
    data.reason === "epoch_changed" ? "the bridge restarted without its history" : "history is gone";
  return `current state (${data.events.length} item${data.events.length === 1 ? "" : "s"}) instead of a replay: ${why} (${data.reason})`;
}

const arrow = (from: string | null, to: string | null): string => `${from ?? "–"} → ${to ?? "–"}`;
const inRoom = (room: string | null): string => (room === null ? "" : ` [${room}]`);

/** A PMA message as one line; the exhaustive switch makes a new message type a compile error here. */
export function formatPma(m: PmaMessage, style: Style): string {
  const at = (tone: Tone, text: string): string => line(style, m.timestamp, m.type, tone, text, m.seq);
  switch (m.type) {
    case "welcome":
      return at(
        "reply",
        `connected as ${m.data.client_id} (protocol ${m.data.protocol_version}, epoch ${m.data.epoch})`,
      );
    case "authentication_success":
      return at(
        "reply",
        `authenticated as ${style.bold(m.data.subject)} (${m.data.capabilities.join(", ")})`,
      );
    case "authentication_failure":
      return at("error", `${m.data.code}: ${m.data.message}`);
    case "subscription_update":
      return at(
        "reply",
        `${m.data.action} ${m.data.type}: ${m.data.items.join(", ")} (total ${m.data.total_subscriptions})`,
      );
    case "subscription_error":
      return at("error", `${m.data.code}: ${m.data.error}`);
    case "pma_entity_state_changed":
      return at(
        "entity",
        `${style.bold(m.data.entity_id)} ${arrow(m.data.old_state, m.data.new_state)}${inRoom(m.data.room_id)}`,
      );
    case "pma_entity_added":
      return at(
        "entity",
        `${style.bold(m.data.entity.id)} added (${m.data.entity.state ?? "no state"})${inRoom(m.data.room_id)}`,
      );
    case "pma_entity_removed":
      return at("entity", `${style.bold(m.data.entity_id)} removed${inRoom(m.data.room_id)}`);
    case "pma_entity_updated":
      return at(
        "entity",
        `${style.bold(m.data.entity.id)} updated: ${m.data.changes.join(", ")}${inRoom(m.data.room_id)}`,
      );
    case "pma_room_added":
    case "pma_room_updated":
    case "pma_room_removed":
      return at("room", `${style.bold(m.data.room.name)} (${m.data.room.id}) ${m.data.action}`);
    case "pma_area_updated":
      return at("room", `floor ${style.bold(m.data.area.name)} ${m.data.action}`);
    case "pma_automation_triggered":
      return at(
        "automation",
        `${style.bold(m.data.rule_name)} (${m.data.trigger.value ?? m.data.trigger.type})`,
      );
    case "pma_scene_activated":
      return at("automation", `${style.bold(m.data.scene_name)} activated`);
    case "prediction_update":
      return at(
        "prediction",
        `${style.bold(m.data.room_name)} → ${m.data.transition_type} in ${m.data.time_until_human ?? "?"} (${Math.round(m.data.confidence_score * 100)}%)`,
      );
    case "alert":
      return at("alert", `${m.data.severity}: ${m.data.message}${inRoom(m.data.room_id)}`);
    case "drift":
      return at("alert", `${m.data.severity}: ${m.data.message}${inRoom(m.data.room_id)}`);
    case "system_status":
      return at("system", m.data.status);
    case "sync_status":
      return at("system", `${m.data.source} ${m.data.status}: ${m.data.message}`);
    case "adapter_status":
      return at("system", `${m.data.adapter_name} ${m.data.status}`);
    case "connection_status":
      return at("system", `${m.data.source} ${m.data.status}: ${m.data.message}`);
    case "source_event":
      return at("system", `${m.data.source} ${m.data.event_type}`);
    case "rate_limit_warning":
      return at("error", `${m.data.message} (${m.data.current_count}/${m.data.max_messages_per_minute})`);
    case "pong":
      return at("reply", "pong");
    case "error":
      return at("error", `${m.data.code}: ${m.data.message}`);
    case "resume_status":
      return at("reply", resumeText(m.data));
    case "snapshot":
      return at("reply", snapshotText(m.data));
  }
}

/** An occupancy message as one line. */
export function formatOccupancy(m: OccupancyMessage, style: Style): string {
  const ack = m.requires_ack ? style.dim(" (requires ack)") : "";
  const at = (tone: Tone, text: string): string =>
    line(style, m.timestamp, m.message_type, tone, `${text}${ack}`, m.seq);
  switch (m.message_type) {
    case "connection":
      return at(
        "reply",
        `connected to ${m.data.endpoint} as ${m.data.client_id} (API ${m.data.api_version})`,
      );
    case "authentication":
      return m.data.success
        ? at(
            "reply",
            `authenticated (${m.data.capabilities.join(", ")}; rooms: ${m.data.room_filters.join(", ") || "all"})`,
          )
        : at("error", m.data.message);
    case "subscription_status":
      return at(
        m.data.success ? "reply" : "error",
        `${m.data.action} ${m.data.endpoint}${m.data.room_id ? ` (${m.data.room_id})` : ""}: ${m.data.message}`,
      );
    case "prediction_update":
      return at(
        "prediction",
        `${style.bold(m.data.room_name)} → ${m.data.transition_type} in ${m.data.time_until_human ?? "?"} (${Math.round(m.data.confidence_score * 100)}%)`,
      );
    case "system_status_update":
      return at("system", String(m.data.system_health ?? m.data.status ?? "status"));
    case "alert_notification":
      return at("alert", `${m.data.severity}: ${m.data.message}${inRoom(m.data.room_id)}`);
    case "drift_notification":
      return at("alert", `${m.data.message}${inRoom(m.room_id)}`);
    case "room_state_update":
      return at(
        "entity",
        `${style.bold(String(m.data.entity_id ?? ""))} ${arrow(asText(m.data.old_state), asText(m.data.new_state))}${inRoom(m.data.room_id)}`,
      );
    case "heartbeat":
      return at("reply", `heartbeat (connection up ${Math.round(m.data.connection_uptime)} s)`);
    case "error":
      return at("error", `${m.data.error_code}: ${m.data.error}`);
    case "rate_limit_warning":
      return at("error", `${m.data.message} (${m.data.current_count}/${m.data.max_messages_per_minute})`);
    case "resume_status":
      return at("reply", resumeText(m.data));
    case "snapshot":
      return at("reply", snapshotText(m.data));
  }
}

function asText(value: unknown): string | null {
  return typeof value === "string" ? value : null;
}
