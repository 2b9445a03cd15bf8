import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { EventKind } from "../../src/core/events.js";
import { HealthRegistry } from "../../src/core/health.js";
import { silentLogger } from "../../src/core/logger.js";
import { SelfAlerts } from "../../src/core/self-alerts.js";
import { RecordingSink } from "../helpers/mqtt-harness.js";

const DOWN_AFTER_MS = 60_000;

function setup() {
  const health = new HealthRegistry();
  const sink = new RecordingSink();
  const alerts = new SelfAlerts({ health, sink, log: silentLogger(), downAfterMs: DOWN_AFTER_MS });
  const raised = () => sink.of(EventKind.Alert);
  return { health, sink, alerts, raised };
}

beforeEach(() => {
  vi.useFakeTimers({ now: new Date("2026-03-04T22:00:00.000Z") });
});

afterEach(() => {
  vi.useRealTimers();
});

describe("SelfAlerts", () => {
  it("raises one alert when Home Assistant stays unavailable past the threshold, and resolves it once", async () => {
    const { health, alerts, raised } = setup();
    await alerts.start();
    health.set("homeassistant", false, "Home Assistant rejected the access token");
    vi.advanceTimersByTime(DOWN_AFTER_MS - 1);
    expect(raised()).toEqual([]);
    vi.advanceTimersByTime(1);
    health.set("homeassistant", false, "connection refused");
    vi.advanceTimersByTime(DOWN_AFTER_MS * 3);
    expect(raised()).toHaveLength(1);
    const [alert] = raised();
    expect(alert).toMatchObject({
      kind: EventKind.Alert,
      source: "bridge",
      critical: true,
      room_id: null,
      data: {
        alert_type: "homeassistant_unavailable",
        severity: "error",
        component: "homeassistant",
        resolved: false,
        room_id: null,
        created_at: "2026-03-04T22:01:00.000Z",
        down_since: "2026-03-04T22:00:00.000Z",
      },
    });
    expect(alert?.data.message).toContain("Home Assistant rejected the access token");
    expect(alerts.active()).toHaveLength(1);

    health.set("homeassistant", true);
    health.set("homeassistant", true);
    expect(raised()).toHaveLength(2);
    expect(raised()[1]?.data).toMatchObject({
      alert_id: alert?.data.alert_id,
      resolved: true,
      resolved_at: "2026-03-04T22:04:00.000Z",
    });
    expect(alerts.active()).toEqual([]);
  });

  it("raises nothing for an outage shorter than the threshold", async () => {
    const { health, alerts, raised } = setup();
    await alerts.start();
    health.set("mqtt", false, "the MQTT broker is unreachable");
    vi.advanceTimersByTime(DOWN_AFTER_MS / 2);
    health.set("mqtt", true);
    vi.advanceTimersByTime(DOWN_AFTER_MS * 2);
    expect(raised()).toEqual([]);
  });

  it("watches a component that was already down when it started, and ignores components it does not watch", async () => {
    const { health, alerts, raised } = setup();
    health.register("mqtt", "connecting to the MQTT broker");
    await alerts.start();
    health.set("http", false, "port in use");
    vi.advanceTimersByTime(DOWN_AFTER_MS);
    expect(raised().map((event) => event.data.alert_type)).toEqual(["mqtt_unavailable"]);
  });

  it("raises a room's stale predictions at once, once, and resolves them when predictions resume", async () => {
    const { alerts, raised } = setup();
    await alerts.start();
    alerts.predictionsStale("bedroom", true, "2026-03-04T21:50:00.000Z");
    alerts.predictionsStale("bedroom", true, "2026-03-04T21:50:00.000Z");
    alerts.predictionsStale("office", false, "2026-03-04T21:59:00.000Z");
    expect(raised()).toHaveLength(1);
    expect(raised()[0]).toMatchObject({
      room_id: "bedroom",
      data: {
        alert_type: "predictions_stale",
        severity: "warning",
        room_id: "bedroom",
        last_prediction_at: "2026-03-04T21:50:00.000Z",
      },
    });
    alerts.predictionsStale("bedroom", false, "2026-03-04T22:00:00.000Z");
    expect(raised().map((event) => event.data.resolved)).toEqual([false, true]);
  });

  it("stops watching when stopped", async () => {
    const { health, alerts, raised } = setup();
    await alerts.start();
    health.set("homeassistant", false, "down");
    await alerts.stop();
    vi.advanceTimersByTime(DOWN_AFTER_MS * 2);
    health.set("mqtt", false, "down");
    vi.advanceTimersByTime(DOWN_AFTER_MS * 2);
    expect(raised()).toEqual([]);
  });
});
