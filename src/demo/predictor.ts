import { connectAsync, type MqttClient } from "mqtt";
import { errorMessage } from "../core/errors.js";
import type { Service } from "../core/lifecycle.js";
import type { Logger } from "../core/logger.js";
import {
  buildAlert,
  buildAvailability,
  buildDrift,
  buildPrediction,
  buildSystemStatus,
  DEVICE_ID,
  legacyTopics,
  type Random,
  type RoomObservation,
} from "./predictions.js";

/** One room as the simulated home sees it right now. */
export interface RoomOccupancy {
  /** The Home Assistant area id. */
  readonly roomId: string;
  readonly name: string;
  readonly occupied: boolean;
  readonly nextChangeAt: Date | null;
}

/** Where the predictor learns the home's occupancy; the demo adapts the simulated home to it. */
export interface OccupancyView {
  rooms(): readonly RoomOccupancy[];
  /** Calls back whenever a room's occupancy flips; returns the unsubscribe function. */
  onChange(listener: (room: RoomOccupancy) => void): () => void;
}

export interface PredictionPublisherOptions {
  readonly mqttUrl: string;
  /** `occupancy/predictions` in the seed system. */
  readonly topicPrefix: string;
  /** `occupancy/alerts`; alerts go to `<prefix>/<severity>`. */
  readonly alertsTopicPrefix: string;
  /** Drift notices go to `<prefix>/<room>`. */
  readonly driftTopicPrefix: string;
  /** HA area id → the predictor's own room id, for rooms the predictor names differently. */
  readonly predictorRoomIds: Readonly<Record<string, string>>;
  /** Every room is re-predicted this often, besides right after each occupancy change. */
  readonly predictionIntervalMs: number;
  readonly statusIntervalMs: number;
  readonly alertIntervalMs: number;
  readonly driftIntervalMs: number;
  readonly random: Random;
  readonly now?: () => Date;
}

/**
 * Stands in for the seed 002 occupancy predictor: publishes what the real one publishes, on the same topics
 * with the same retain/QoS choices, following the simulated home's occupancy. The bridge cannot tell it apart.
 */
export class PredictionPublisher implements Service {
  readonly name = "prediction-publisher";
  private client: MqttClient | undefined;
  private readonly timers: NodeJS.Timeout[] = [];
  private unsubscribe: (() => void) | undefined;
  private readonly now: () => Date;
  private startedAt = new Date(0);
  private predictionsMade = 0;
  private lastPredictionAt: Date | null = null;
  private alertsSent = 0;
  private driftsSent = 0;
  /** When recent alerts were raised; the status reports those of the last hour as active. */
  private alertTimes: number[] = [];

  constructor(
    private readonly options: PredictionPublisherOptions,
    private readonly occupancy: OccupancyView,
    private readonly log: Logger,
  ) {
    this.now = options.now ?? (() => new Date());
  }

  async start(): Promise<void> {
    const { topicPrefix } = this.options;
    this.startedAt = this.now();
    this.client = await connectAsync(this.options.mqttUrl, {
      clientId: `${DEVICE_ID}_${Math.floor(this.startedAt.getTime() / 1000)}`,
      protocolVersion: 4,
      clean: true,
      keepalive: 60,
      reconnectPeriod: 1000,
      will: {
        topic: `${topicPrefix}/device/availability`,
        payload: Buffer.from(
          JSON.stringify(buildAvailability("offline", this.occupancy.rooms().length, this.startedAt)),
        ),
        qos: 1,
        retain: true,
      },
    });
    this.client.on("error", (error) => this.log.warn({ err: errorMessage(error) }, "predictor MQTT error"));
    this.publishAvailability("online");
    for (const room of this.occupancy.rooms()) this.publishPrediction(room);
    this.publishStatus();
    this.unsubscribe = this.occupancy.onChange((room) => this.publishPrediction(room));
    this.every(this.options.predictionIntervalMs, () => {
      for (const room of this.occupancy.rooms()) this.publishPrediction(room);
    });
    this.every(this.options.statusIntervalMs, () => this.publishStatus());
    this.every(this.options.alertIntervalMs, () => this.publishAlert());
    this.every(this.options.driftIntervalMs, () => this.publishDrift());
    this.log.info({ rooms: this.occupancy.rooms().length }, "prediction publisher started");
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    for (const timer of this.timers.splice(0)) clearInterval(timer);
    const client = this.client;
    this.client = undefined;
    if (client === undefined) return;
    if (client.connected) {
      // A clean shutdown says so, unlike the real predictor (which leaves "online" retained after it stops).
      await client
        .publishAsync(
          `${this.options.topicPrefix}/device/availability`,
          JSON.stringify(buildAvailability("offline", this.occupancy.rooms().length, this.now())),
          { qos: 1, retain: true },
        )
        .catch(() => undefined);
    }
    await client.endAsync();
  }

  private every(intervalMs: number, action: () => void): void {
    if (intervalMs <= 0) return;
    this.timers.push(setInterval(action, intervalMs));
  }

  private observe(room: RoomOccupancy): RoomObservation {
    return {
      predictorRoomId: this.options.predictorRoomIds[room.roomId] ?? room.roomId,
      name: room.name,
      occupied: room.occupied,
      nextChangeAt: room.nextChangeAt,
    };
  }

  private send(topic: string, payload: string, qos: 0 | 1, retain: boolean): void {
    const client = this.client;
    if (client === undefined) return;
    client.publish(topic, payload, { qos, retain }, (error) => {
      if (error !== undefined && error !== null)
        this.log.warn({ topic, err: errorMessage(error) }, "publish failed");
    });
  }

  private publishAvailability(status: "online" | "offline"): void {
    const payload = buildAvailability(status, this.occupancy.rooms().length, this.now());
    this.send(`${this.options.topicPrefix}/device/availability`, JSON.stringify(payload), 1, true);
  }

  private publishPrediction(room: RoomOccupancy): void {
    const now = this.now();
    const prediction = buildPrediction(this.observe(room), now, this.options.random);
    const base = `${this.options.topicPrefix}/${prediction.room_id}`;
    this.send(`${base}/prediction`, JSON.stringify(prediction), 1, true);
    for (const [suffix, text] of legacyTopics(prediction)) this.send(`${base}/${suffix}`, text, 1, true);
    this.predictionsMade += 1;
    this.lastPredictionAt = now;
  }

  private publishStatus(): void {
    const now = this.now();
    this.alertTimes = this.alertTimes.filter((time) => now.getTime() - time < 3_600_000);
    const counters = {
      startedAt: this.startedAt,
      predictionsMade: this.predictionsMade,
      lastPredictionAt: this.lastPredictionAt,
      activeAlerts: this.alertTimes.length,
    };
    const payload = buildSystemStatus(counters, now, this.options.random);
    this.send(`${this.options.topicPrefix}/system/status`, JSON.stringify(payload), 0, true);
  }

  private pickRoom(): RoomObservation | undefined {
    const rooms = this.occupancy.rooms();
    const room = rooms[Math.floor(this.options.random() * rooms.length)];
    return room === undefined ? undefined : this.observe(room);
  }

  private publishAlert(): void {
    const room = this.pickRoom();
    if (room === undefined) return;
    this.alertsSent += 1;
    const now = this.now();
    const alert = buildAlert(this.alertsSent, room, now, this.options.random);
    // Alerts are events, not state: never retained, so a reconnecting bridge does not see old ones as new.
    this.send(`${this.options.alertsTopicPrefix}/${alert.severity}`, JSON.stringify(alert), 1, false);
    this.alertTimes.push(now.getTime());
  }

  private publishDrift(): void {
    const room = this.pickRoom();
    if (room === undefined) return;
    this.driftsSent += 1;
    const drift = buildDrift(this.driftsSent, room, this.now(), this.options.random);
    this.send(`${this.options.driftTopicPrefix}/${drift.room_id}`, JSON.stringify(drift), 1, false);
  }
}
