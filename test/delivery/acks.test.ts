import { afterEach, describe, expect, it } from "vitest";
import { alert, drift } from "../helpers/ws-events.js";
import { ADMIN_KEY, startTestServer, type TestServer } from "../helpers/ws-server.js";
import { fastAcks, occupancyClient, pmaClient } from "./clients.js";

let t: TestServer;

afterEach(async () => {
  await t.stop();
});

describe("acknowledged delivery over real sockets", () => {
  it("redelivers an unacknowledged alert with the same message_id after the ack timeout, and stops after the ack", async () => {
    t = await startTestServer({ tune: fastAcks(0.2, 10) });
    const client = await occupancyClient(t, "/ws/alerts", "ops-tablet");
    t.publish(alert("alert_1", "bedroom"));
    const first = await client.nextOfType("alert_notification");
    expect(first).toMatchObject({ requires_ack: true, data: { alert_id: "alert_1" } });
    expect(first.redelivery_count).toBeUndefined();

    const again = await client.nextOfType("alert_notification");
    expect(again).toMatchObject({
      message_id: first.message_id,
      redelivery_count: 1,
      data: { alert_id: "alert_1" },
    });

    client.send({ type: "acknowledge", data: { message_id: first.message_id } });
    await expect.poll(() => t.server.delivery.acks.pendingCount(), { timeout: 5_000 }).toBe(0);
    const count = client.ofType("alert_notification").length;
    await client.settle(600);
    expect(client.ofType("alert_notification")).toHaveLength(count);
    expect(client.ofType("error")).toEqual([]);
  });

  it("gives up after max_attempts and tells admins, not other clients, which client did not acknowledge", async () => {
    t = await startTestServer({
      tune: fastAcks(0.1, 2),
      config: {
        auth: {
          api_keys: [
            { name: "admin", key: ADMIN_KEY },
            { name: "viewer", key: "viewer-key-0123456789", capabilities: ["alerts"] },
          ],
        },
      },
    });
    const admin = await occupancyClient(t, "/ws/alerts", "admin-console");
    const viewer = await occupancyClient(t, "/ws/alerts", "wall", { apiKey: "viewer-key-0123456789" });
    t.publish(drift("drift_7", null));
    const lost = await viewer.nextOfType("drift_notification");
    // The admin acknowledges its own copy; the viewer never does.
    const adminCopy = await admin.nextOfType("drift_notification");
    admin.send({ type: "acknowledge", data: { message_id: adminCopy.message_id } });

    const report = await admin.next(
      (m) => m.message_type === "alert_notification" && m.data?.alert_type === "message_undeliverable",
    );
    expect(report.data).toMatchObject({
      component: "delivery",
      client_identity: "viewer/wall",
      message_id: lost.message_id,
      reason: "max_attempts",
      attempts: 2,
    });
    await Promise.all([viewer.settle(400), admin.settle(400)]);
    expect(viewer.ofType("alert_notification")).toEqual([]);
    expect(viewer.ofType("drift_notification")).toHaveLength(2);
    // The admin does not acknowledge the report either: that is logged and counted, but raises no report
    // about the report.
    const reports = new Set(admin.ofType("alert_notification").map((m) => m.data?.alert_id));
    expect(reports.size).toBe(1);
    const metrics = await (await t.http("/metrics", { "X-API-Key": ADMIN_KEY })).text();
    expect(metrics).toMatch(/pma_bridge_ack_undeliverable_total\{reason="max_attempts"\} 2/);
  });

  it("delivers what is pending to the same client identity when it reconnects", async () => {
    t = await startTestServer();
    const before = await occupancyClient(t, "/ws/alerts", "kitchen-tablet");
    t.publish(alert("alert_2", null));
    const sent = await before.nextOfType("alert_notification");
    await before.close();

    const after = await occupancyClient(t, "/ws/alerts", "kitchen-tablet");
    const redelivered = await after.nextOfType("alert_notification");
    expect(redelivered).toMatchObject({ message_id: sent.message_id, redelivery_count: 1 });
    after.send({ type: "acknowledge", data: { message_id: sent.message_id } });
    await expect.poll(() => t.server.delivery.acks.pendingCount(), { timeout: 5_000 }).toBe(0);
  });

  it("answers acks for unknown ids and for other clients' messages with an error, and repeated acks harmlessly", async () => {
    t = await startTestServer();
    const owner = await occupancyClient(t, "/ws/alerts", "owner");
    const other = await occupancyClient(t, "/ws/alerts", "other");
    t.publish(alert("alert_3", null));
    const mine = await owner.nextOfType("alert_notification");
    await other.nextOfType("alert_notification");

    other.send({ type: "acknowledge", data: { message_id: `${String(mine.message_id)}x` } });
    const unknown = await other.nextOfType("error");
    expect(unknown.data).toMatchObject({
      error_code: "WEBSOCKET_VALIDATION_ERROR",
      reason: "UNKNOWN_MESSAGE_ID",
    });

    owner.send({ type: "acknowledge", data: { message_id: mine.message_id } });
    owner.send({ type: "acknowledge", data: { message_id: mine.message_id } });
    owner.send({ type: "acknowledge", data: { message_id: "never-sent" } });
    const error = await owner.nextOfType("error");
    expect(error.data).toMatchObject({ reason: "UNKNOWN_MESSAGE_ID", message_id: "never-sent" });
    expect(owner.ofType("error")).toHaveLength(1);
    expect(t.server.delivery.acks.pendingCount()).toBe(1);
  });

  it("refuses an acknowledgement of another identity's message even with the same id", async () => {
    t = await startTestServer();
    const first = await pmaClient(t, ["bedroom"], "&client_id=phone-a");
    first.send({ type: "subscribe_ha_events", data: { event_types: ["alert"] } });
    await first.nextOfType("subscription_update");
    t.publish(alert("alert_4", "bedroom"));
    const message = await first.nextOfType("alert");
    expect(message).toMatchObject({
      requires_ack: true,
      message_id: expect.any(String),
      data: { alert_id: "alert_4" },
    });

    const stranger = await pmaClient(t, ["kitchen"], "&client_id=phone-b");
    stranger.send({ type: "acknowledge", data: { message_id: message.message_id } });
    expect((await stranger.nextOfType("error")).data).toMatchObject({ code: "UNKNOWN_MESSAGE_ID" });
    expect(t.server.delivery.acks.pendingCount()).toBe(1);

    first.send({ type: "acknowledge", data: { message_id: message.message_id } });
    await expect.poll(() => t.server.delivery.acks.pendingCount(), { timeout: 5_000 }).toBe(0);
  });

  it("keeps a PMA client's identity from the client_id it asks for, even while its old connection lingers", async () => {
    t = await startTestServer();
    const old = await pmaClient(t, ["bedroom"], "&client_id=hall-panel");
    old.send({ type: "subscribe_ha_events", data: { event_types: ["alert"] } });
    await old.nextOfType("subscription_update");
    t.publish(alert("alert_5", "bedroom"));
    const sent = await old.nextOfType("alert");

    // The old socket has not noticed it is dead yet, so the new one gets another connection id.
    const fresh = await pmaClient(t, ["bedroom"], "&client_id=hall-panel");
    expect(fresh.ofType("authentication_success")[0]?.data?.client_id).not.toBe("hall-panel");
    // Pending messages go out right after authentication, before the subscription reply.
    await expect
      .poll(() => fresh.ofType("alert"))
      .toEqual([expect.objectContaining({ message_id: sent.message_id, redelivery_count: 1 })]);
    fresh.send({ type: "acknowledge", data: { message_id: sent.message_id } });
    await expect.poll(() => t.server.acks.totalPending, { timeout: 5_000 }).toBe(0);
  });
});
