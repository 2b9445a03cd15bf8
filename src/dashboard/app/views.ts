import { html, nothing, svg, type TemplateResult } from "lit";
import type { ClientRow, DashboardController, HealthReport } from "./controller.js";
import {
  type EntityView,
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
  const step = values.length > 1 ? width / (series.capacity - 1) : 0;
  const offset = width - step * (values.length - 1);
  const points = values
    .map((v, i) => `${(offset + i * step).toFixed(1)},${(height - 2 - (v / max) * (height - 4)).toFixed(1)}`)
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

/** Home Assistant, the MQTT broker and the predictor, from live status messages, backed by `/healthz`. */
export function upstreams(c: DashboardController): TemplateResult {
  const list: Upstream[] = [];
  const health: HealthReport | null = c.health;
  const seen = new Set<string>();
  for (const adapter of c.state.adapters.values()) {
    seen.add(adapter.source);
    list.push({
      name: adapter.adapter_name,
      tone: adapterTone(adapter.status),
      status: adapter.status,
      detail:
        adapter.health.issues.join("; ") ||
        (adapter.health.last_sync ? `synced ${relativeTime(adapter.health.last_sync, Date.now())}` : ""),
    });
  }
  const system = c.state.systemStatus;
  if (system !== null) {
    const d = system.details;
    const made =
      typeof d.total_predictions_made === "number" ? `${d.total_predictions_made} predictions` : "";
    const available = d.predictor_available === false ? "predictor unavailable" : "";
    list.push({
      name: "Predictor",
      tone: adapterTone(system.status),
      status: system.status,
      detail: [available, made].filter(Boolean).join(" · "),
    });
  }
  for (const [name, component] of Object.entries(health?.components ?? {})) {
    if (seen.has(name) || list.some((u) => u.name.toLowerCase().includes(name.toLowerCase()))) continue;
    list.push({
      name,
      tone: component.ready ? "ok" : "bad",
      status: component.ready ? "ready" : "not ready",
      detail: component.reason ?? "",
    });
  }
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

const DOMAIN_ICONS: Record<string, string> = {
  light: "💡",
  binary_sensor: "👣",
  sensor: "🌡️",
  switch: "🔌",
  lock: "🔒",
  scene: "🎬",
  automation: "⚙️",
};

function entityState(e: EntityView): string {
  if (e.state === null) return "–";
  return e.unit ? `${e.state} ${e.unit}` : e.state;
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
              <span class="icon" aria-hidden="true">${DOMAIN_ICONS[e.domain] ?? "•"}</span>
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
