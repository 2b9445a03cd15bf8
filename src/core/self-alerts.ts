import { type AlertData, type AlertSeverity, EventKind, type EventSink, type JsonValue } from "./events.js";
import type { ComponentHealth, HealthRegistry } from "./health.js";
import type { Service } from "./lifecycle.js";
import type { Logger } from "./logger.js";

/** How an outage of one health component is described in the alert it raises. */
export interface WatchedComponent {
  readonly alertType: string;
  readonly title: string;
  readonly severity: AlertSeverity;
  readonly recommendedAction: string;
}

export const DEFAULT_WATCHED_COMPONENTS: Readonly<Record<string, WatchedComponent>> = {
  homeassistant: {
    alertType: "homeassistant_unavailable",
    title: "Home Assistant unavailable",
    severity: "error",
    recommendedAction: "Check that Home Assistant is running and that the bridge's access token is valid",
  },
  mqtt: {
    alertType: "mqtt_unavailable",
    title: "MQTT broker unavailable",
    severity: "error",
    recommendedAction: "Check that the MQTT broker is running and accepts the bridge's credentials",
  },
};

export interface SelfAlertsOptions {
  readonly health: HealthRegistry;
  readonly sink: EventSink;
  readonly log: Logger;
  /** A component must stay not-ready this long before an alert is raised (`alerts.upstream_down_after_seconds`). */
  readonly downAfterMs: number;
  readonly components?: Readonly<Record<string, WatchedComponent>>;
  readonly now?: () => Date;
}

/** What a condition says about itself; identity, time and resolution are added when it is raised. */
type AlertFields = Pick<
  AlertData,
  "alert_type" | "severity" | "title" | "message" | "room_id" | "component" | "recommended_action"
> & { readonly [key: string]: JsonValue };

interface Incident {
  readonly alert: AlertData;
}

interface PendingOutage {
  readonly timer: NodeJS.Timeout;
}

/**
 * Alerts the bridge raises about itself, so `/ws/alerts` carries real traffic even without a predictor:
 * an upstream (Home Assistant, MQTT) not ready for longer than a threshold, and a room whose predictions
 * went stale. Each condition raises one alert when it starts and one follow-up with the same `alert_id`
 * and `resolved: true` when it ends.
 */
export class SelfAlerts implements Service {
  readonly name = "self-alerts";
  private readonly components: Readonly<Record<string, WatchedComponent>>;
  private readonly now: () => Date;
  private readonly pending = new Map<string, PendingOutage>();
  private readonly raised = new Map<string, Incident>();
  private unsubscribe: (() => void) | undefined;

  constructor(private readonly options: SelfAlertsOptions) {
    this.components = options.components ?? DEFAULT_WATCHED_COMPONENTS;
    this.now = options.now ?? (() => new Date());
  }

  // biome-ignore lint/suspicious/useAwait: part of the Service contract; watching starts synchronously.
  async start(): Promise<void> {
    this.unsubscribe = this.options.health.onChange((component, health) => this.onHealth(component, health));
    for (const component of Object.keys(this.components)) {
      const health = this.options.health.get(component);
      if (health !== undefined) this.onHealth(component, health);
    }
  }

  // biome-ignore lint/suspicious/useAwait: part of the Service contract.
  async stop(): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    for (const outage of this.pending.values()) clearTimeout(outage.timer);
    this.pending.clear();
  }

  /** The alerts raised and not yet resolved, for snapshots of `/ws/alerts`. */
  active(): AlertData[] {
    return [...this.raised.values()].map((incident) => incident.alert);
  }

  /** Wire to `MqttSource`'s `onStale`: staleness already has its own threshold, so this raises at once. */
  readonly predictionsStale = (roomId: string, stale: boolean, lastPredictionAt: string): void => {
    const key = `stale:${roomId}`;
    if (!stale) {
      this.resolve(key);
      return;
    }
    this.raise(key, {
      alert_type: "predictions_stale",
      severity: "warning",
      title: `Predictions stale for ${roomId}`,
      message: `No prediction for ${roomId} since ${lastPredictionAt}`,
      room_id: roomId,
      component: "predictor",
      recommended_action: "Check that the occupancy predictor is running and publishing to MQTT",
      last_prediction_at: lastPredictionAt,
    });
  };

  private onHealth(component: string, health: ComponentHealth): void {
    const watched = this.components[component];
    if (watched === undefined) return;
    const key = `component:${component}`;
    if (health.ready) {
      const outage = this.pending.get(key);
      if (outage !== undefined) clearTimeout(outage.timer);
      this.pending.delete(key);
      this.resolve(key);
      return;
    }
    if (this.pending.has(key) || this.raised.has(key)) return;
    const since = health.since;
    const timer = setTimeout(() => {
      this.pending.delete(key);
      const reason = this.options.health.get(component)?.reason ?? health.reason ?? "not ready";
      this.raise(key, {
        alert_type: watched.alertType,
        severity: watched.severity,
        title: watched.title,
        message: `${watched.title} since ${since}: ${reason}`,
        room_id: null,
        component,
        recommended_action: watched.recommendedAction,
        down_since: since,
      });
    }, this.options.downAfterMs);
    timer.unref();
    this.pending.set(key, { timer });
  }

  private raise(key: string, fields: AlertFields): void {
    if (this.raised.has(key)) return;
    const created = this.now();
    const alert: AlertData = {
      ...fields,
      alert_id: `bridge_${key.replace(/[^A-Za-z0-9_-]+/g, "_")}_${created.getTime()}`,
      resolved: false,
      created_at: created.toISOString(),
    };
    this.raised.set(key, { alert });
    this.options.log.warn({ alert_id: alert.alert_id, alert_type: alert.alert_type }, alert.message);
    this.publish(alert);
  }

  private resolve(key: string): void {
    const incident = this.raised.get(key);
    if (incident === undefined) return;
    this.raised.delete(key);
    const resolvedAt = this.now().toISOString();
    const alert: AlertData = {
      ...incident.alert,
      resolved: true,
      resolved_at: resolvedAt,
      message: `Resolved: ${incident.alert.message}`,
    };
    this.options.log.info({ alert_id: alert.alert_id, alert_type: alert.alert_type }, "alert resolved");
    this.publish(alert);
  }

  private publish(alert: AlertData): void {
    this.options.sink.publish({
      kind: EventKind.Alert,
      time: this.now().toISOString(),
      source: "bridge",
      room_id: alert.room_id,
      critical: true,
      data: alert,
    });
  }
}
