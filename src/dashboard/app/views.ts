import { html, nothing, svg, type TemplateResult } from "lit";
import type { ClientRow, DashboardController, HealthReport } from "./controller.js";
import {
  entityState,
  filterTail,
  relativeTime,
  type Series,
  TAIL_CATEGORIES,
  type TailCategory,
  type TailEntry,
} from "./state.js";

/** Render functions for the dashboard's cards; the root element composes them. */

type Tone = "ok" | "warn" | "bad" | "idle";

const dot = (tone: Tone) => html`<span class="dot ${tone}" aria-hidden="true"></span>`;

/** A small SVG sparkline of a series, scaled to its own maximum. */
export function sparkline(series: Series, label: string): TemplateResult {
  const values = series.values;
  const max = Math.max(1, ...values);
  const width = 120;
  const height = 32;
  const step = width / Math.max(1, values.length - 1);
  const points = values
    .map((v, i) => `${(i * step).toFixed(1)},${(height - 2 - (v / max) * (height - 4)).toFixed(1)}`)
    .join(" ");
  return html`<svg class="spark" viewBox="0 0 ${width} ${height}" role="img" aria-label=${label}>
    ${values.length > 1 ? svg`<polyline points=${points} />` : nothing}
  </svg>`;
}

function adapterTone(status: string): Tone {
  if (status === "connected" || status === "healthy" || status === "online") return "ok";
  if (status === "connecting" || status === "reconnecting" || status === "degraded" || status === "syncing")
    return "warn";
  return "bad";
}

interface Upstream {
  readonly name: string;
  readonly tone: Tone;
  readonly status: string;
  readonly detail: string;
}

/** Friendly names of the bridge's health components and adapters. */
const UPSTREAM_NAMES: Record<string, string> = {
  homeassistant: "Home Assistant",
  mqtt: "MQTT broker",
  websocket: "WebSocket server",
};

/**
 * Home Assistant, the MQTT broker, the predictor and the bridge's own server: `/healthz` components first, each
 * replaced by the live `adapter_status` of the same id once one arrives, then the predictor from `system_status`.
 */
export function upstreams(c: DashboardController): TemplateResult {
  const byId = new Map<string, Upstream>();
  const health: HealthReport | null = c.health;
  for (const [id, component] of Object.entries(health?.components ?? {})) {
    byId.set(id, {
      name: UPSTREAM_NAMES[id] ?? id,
      tone: component.ready ? "ok" : "bad",
      status: component.ready ? "ready" : "not ready",
      detail: component.reason ?? "",
    });
  }
  for (const adapter of c.state.adapters.values()) {
    const issues = adapter.health.issues.join("; ");
    const synced = adapter.health.last_sync
      ? `synced ${relativeTime(adapter.health.last_sync, Date.now())}`
      : "";
    byId.set(adapter.adapter_id, {
      name: adapter.adapter_name,
      tone: adapterTone(adapter.status),
      status: adapter.status,
      detail: issues || synced,
    });
  }
  const system = c.state.systemStatus;
  if (system !== null) {
    const d = system.details;
    const made =
      typeof d.total_predictions_made === "number" ? `${d.total_predictions_made} predictions made` : "";
    const available = d.predictor_available === false ? "predictor unavailable" : "";
    byId.set("predictor", {
      name: "Predictor",
      tone: adapterTone(system.status),
      status: system.status,
      detail: [available, made].filter(Boolean).join(" · "),
    });
  }
  const list = [...byId.values()];
  return html`<section class="card upstreams" aria-label="Upstream status">
    <h2>Upstreams ${health ? html`<span class="pill ${health.status === "ok" ? "ok" : "bad"}">bridge ${health.status}</span>` : nothing}</h2>
    <ul>
      ${list.length === 0 ? html`<li class="muted">Waiting for status…</li>` : nothing}
      ${list.map(
        (
          u,
        ) => html`<li data-upstream=${u.name}>${dot(u.tone)}<strong>${u.name}</strong> <span class="status">${u.status}</span>
          ${u.detail ? html`<div class="muted small">${u.detail}</div>` : nothing}</li>`,
      )}
    </ul>
  </section>`;
}

/** Small line icons per domain, drawn for this dashboard (24×24 grid; no icon font to load). */
const DOMAIN_ICONS: Record<string, TemplateResult> = {
  light: svg`<path d="M9 18h6M10 21h4M12 3a6 6 0 0 0-3.5 10.9c.6.5 1 1.2 1 2.1h5c0-.9.4-1.6 1-2.1A6 6 0 0 0 12 3z"/>`,
  binary_sensor: svg`<circle cx="12" cy="5" r="2"/><path d="M12 8v6l-3 6M12 14l3 6M8 11h8"/>`,
  sensor: svg`<path d="M10 14V5a2 2 0 0 1 4 0v9a4 4 0 1 1-4 0z"/><path d="M12 10v6"/>`,
  switch: svg`<rect x="4" y="8" width="16" height="8" rx="4"/><circle cx="16" cy="12" r="2"/>`,
  lock: svg`<rect x="5" y="11" width="14" height="9" rx="2"/><path d="M8 11V8a4 4 0 0 1 8 0v3"/>`,
  scene: svg`<path d="M4 7h16v12H4zM4 7l3-4M10 7l3-4M16 7l3-4"/>`,
  automation: svg`<circle cx="12" cy="12" r="3"/><path d="M12 3v3M12 18v3M3 12h3M18 12h3M5.6 5.6l2.1 2.1M16.3 16.3l2.1 2.1M5.6 18.4l2.1-2.1M16.3 7.7l2.1-2.1"/>`,
};
const DEFAULT_ICON = svg`<circle cx="12" cy="12" r="4"/>`;

/** Sensors drawn by what they measure, everything else by domain. */
const SENSOR_ICONS: Record<string, TemplateResult> = {
  humidity: svg`<path d="M12 3c3 4 6 7.5 6 11a6 6 0 0 1-12 0c0-3.5 3-7 6-11z"/>`,
  power: svg`<path d="M13 2 5 14h6l-1 8 8-12h-6z"/>`,
  battery: svg`<rect x="7" y="4" width="10" height="17" rx="2"/><path d="M10 2h4"/>`,
};

function icon(domain: string, deviceClass: string | null): TemplateResult {
  const sensor = domain === "sensor" && deviceClass !== null ? SENSOR_ICONS[deviceClass] : undefined;
  return html`<svg class="icon" viewBox="0 0 24 24" aria-hidden="true">${sensor ?? DOMAIN_ICONS[domain] ?? DEFAULT_ICON}</svg>`;
}

/** One card per room: occupancy, the next predicted transition, and its entities as they change. */
export function rooms(c: DashboardController, now: number): TemplateResult {
  const list = c.state.roomList();
  return html`<section class="rooms" aria-label="Rooms">
    ${list.length === 0 ? html`<div class="card muted">No rooms yet: waiting for Home Assistant data…</div>` : nothing}
    ${list.map(({ room, entities, occupied, prediction }) => {
      const occupancy = occupied === null ? "unknown" : occupied ? "occupied" : "vacant";
      return html`<article class="card room" data-room=${room.id} aria-label=${room.name}>
        <header>
          <h3>${room.name}</h3>
          <span class="pill ${occupied ? "ok" : occupied === false ? "idle" : "warn"}" data-occupancy=${occupancy}>${occupancy}</span>
        </header>
        ${
          prediction
            ? html`<p class="prediction" data-prediction=${prediction.transition_type}>
                Next: <strong>${prediction.transition_type}</strong> ${relativeTime(prediction.predicted_time, now)}
                <span class="muted">(${Math.round(prediction.confidence_score * 100)}% · ${prediction.model_type})</span>
              </p>`
            : html`<p class="prediction muted">No prediction yet</p>`
        }
        <ul class="entities">
          ${entities.map(
            (
              e,
            ) => html`<li class=${now - e.changedAt < 1500 ? "changed" : ""} data-entity=${e.id} title=${e.id}>
              ${icon(e.domain, e.deviceClass)}
              <span class="name">${e.name}</span>
              <span class="state" data-state=${e.state ?? ""}>${entityState(e)}</span>
            </li>`,
          )}
        </ul>
      </article>`;
    })}
  </section>`;
}

function subscriptionSummary(subscriptions: unknown): string {
  if (subscriptions === null || typeof subscriptions !== "object") return String(subscriptions ?? "");
  if (Array.isArray(subscriptions)) return subscriptions.map(String).join(", ");
  return Object.entries(subscriptions as Record<string, unknown>)
    .filter(([, value]) => !(Array.isArray(value) && value.length === 0) && value !== null)
    .map(
      ([key, value]) =>
        `${key}: ${Array.isArray(value) ? value.join(", ") : typeof value === "object" ? JSON.stringify(value) : String(value)}`,
    )
    .join(" · ");
}

/** Connected clients with their subscriptions and queue depth (admin only). */
export function clients(rows: readonly ClientRow[] | null, problem: string | null): TemplateResult {
  return html`<section class="card clients" aria-label="Connected clients">
    <h2>Clients ${rows ? html`<span class="pill idle">${rows.length}</span>` : nothing}</h2>
    ${problem ? html`<p class="muted">${problem}</p>` : nothing}
    ${
      rows && rows.length > 0
        ? html`<div class="table-wrap"><table>
            <thead><tr><th>Client</th><th>Endpoint</th><th>Who</th><th>Subscriptions</th><th title="messages waiting to be written">Queue</th><th title="messages waiting for an acknowledgement">Acks</th><th>Sent</th></tr></thead>
            <tbody>
              ${rows.map(
                (r) => html`<tr data-client=${r.id}>
                  <td class="mono">${r.id.slice(0, 12)}</td>
                  <td>${r.dialect} <span class="mono">${r.endpoint}</span></td>
                  <td>${r.subject ?? html`<span class="muted">–</span>`}</td>
                  <td class="small">${subscriptionSummary(r.subscriptions)}</td>
                  <td class="num" data-queue>${r.queue_depth}</td>
                  <td class="num">${r.pending_acks}</td>
                  <td class="num">${r.messages_sent}</td>
                </tr>`,
              )}
            </tbody>
          </table></div>`
        : nothing
    }
  </section>`;
}

/** Key numbers with a minute of history each. */
export function metrics(c: DashboardController): TemplateResult {
  const s = c.series;
  const tile = (label: string, value: string, series: Series) =>
    html`<div class="tile"><div class="muted small">${label}</div><div class="value">${value}</div>${sparkline(series, label)}</div>`;
  const rate = (series: Series) => (series.last === undefined ? "–" : `${series.last.toFixed(1)}/s`);
  const m = c.metrics;
  const seq = m && typeof m.last_seq === "number" ? m.last_seq : null;
  return html`<section class="card metrics" aria-label="Metrics">
    <h2>Metrics ${seq !== null ? html`<span class="muted small">seq ${seq}</span>` : nothing}</h2>
    <div class="tiles">
      ${tile("Events in", rate(s.events), s.events)}
      ${tile("Messages out", rate(s.messages), s.messages)}
      ${tile("Clients", String(s.clients.last ?? "–"), s.clients)}
      ${tile("Queued", String(s.queued.last ?? "–"), s.queued)}
    </div>
  </section>`;
}

export interface TailFilter {
  readonly categories: ReadonlySet<TailCategory>;
  readonly query: string;
  readonly paused: boolean;
}

/** The live event tail with category toggles, a text filter and a pause button. */
export function eventTail(
  c: DashboardController,
  filter: TailFilter,
  on: { toggle: (category: TailCategory) => void; query: (text: string) => void; pause: () => void },
  frozen: readonly TailEntry[] | null,
): TemplateResult {
  const entries = filterTail(frozen ?? c.state.tail, filter.categories, filter.query).slice(0, 100);
  return html`<section class="card tail" aria-label="Live events">
    <h2>Live events</h2>
    <div class="filters">
      ${TAIL_CATEGORIES.map(
        (category) =>
          html`<label class="chip"><input type="checkbox" .checked=${filter.categories.has(category)} @change=${() => on.toggle(category)} />${category}</label>`,
      )}
      <input class="search" type="search" placeholder="Filter by room, entity or text" aria-label="Filter events" .value=${filter.query} @input=${(e: Event) => on.query((e.target as HTMLInputElement).value)} />
      <button type="button" @click=${on.pause}>${filter.paused ? "Resume" : "Pause"}</button>
    </div>
    <ol class="events" aria-live="off">
      ${entries.map(
        (e) => html`<li data-type=${e.type} data-category=${e.category}>
          <time class="mono muted">${new Date(e.at).toLocaleTimeString()}</time>
          <span class="tag ${e.category}">${e.type.replace(/^pma_/, "")}</span>
          <span>${e.summary}</span>
        </li>`,
      )}
    </ol>
  </section>`;
}
