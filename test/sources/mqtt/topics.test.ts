import { describe, expect, it } from "vitest";
import {
  classifyTopic,
  subscriptionFilters,
  type TopicLayout,
  topicMatchesFilter,
} from "../../../src/sources/mqtt/topics.js";

const layout: TopicLayout = {
  predictionPrefix: "occupancy/predictions",
  alertsPrefix: "occupancy/alerts",
  driftFilter: "occupancy/drift/+",
  eventstreamTopic: "homeassistant/events",
  haStatusTopic: "homeassistant/status",
};

describe("classifyTopic", () => {
  it.each([
    ["occupancy/predictions/bedroom/prediction", { kind: "prediction", room: "bedroom" }],
    [
      "occupancy/predictions/bedroom/next_transition_time",
      { kind: "legacy_scalar", room: "bedroom", field: "next_transition_time" },
    ],
    [
      "occupancy/predictions/bedroom/time_until",
      { kind: "legacy_scalar", room: "bedroom", field: "time_until" },
    ],
    ["occupancy/predictions/system/status", { kind: "system_status" }],
    ["occupancy/predictions/device/availability", { kind: "availability" }],
    ["occupancy/alerts/critical", { kind: "alert", severity: "critical" }],
    ["occupancy/drift/bedroom", { kind: "drift", room: "bedroom" }],
    ["homeassistant/events", { kind: "eventstream" }],
    ["homeassistant/status", { kind: "ha_status" }],
  ])("recognises %s", (topic, expected) => {
    expect(classifyTopic(topic, layout)).toEqual(expected);
  });

  it.each([
    "occupancy/predictions/system/prediction",
    "occupancy/predictions/device/prediction",
    "occupancy/predictions/commands/prediction",
    "occupancy/predictions/commands/retrain",
    "occupancy/predictions/system/diagnostics",
    "occupancy/predictions/bedroom/accuracy",
    "occupancy/predictions/bedroom/prediction/extra",
    "occupancy/predictions//prediction",
    "occupancy/alerts/warning/more",
    "somewhere/else",
  ])("never reads %s as a room prediction", (topic) => {
    expect(classifyTopic(topic, layout).kind).toBe("unknown");
  });

  it("honours a custom prefix and a fixed drift topic without a room", () => {
    const custom = { ...layout, predictionPrefix: "house/pred", driftFilter: "ml/drift" };
    expect(classifyTopic("house/pred/office/prediction", custom)).toEqual({
      kind: "prediction",
      room: "office",
    });
    expect(classifyTopic("occupancy/predictions/office/prediction", custom).kind).toBe("unknown");
    expect(classifyTopic("ml/drift", custom)).toEqual({ kind: "drift", room: null });
  });
});

describe("subscriptionFilters", () => {
  it("subscribes to JSON predictions only, not to the legacy scalar topics", () => {
    expect(subscriptionFilters(layout)).toEqual([
      "occupancy/predictions/+/prediction",
      "occupancy/predictions/system/status",
      "occupancy/predictions/device/availability",
      "occupancy/alerts/+",
      "occupancy/drift/+",
      "homeassistant/status",
      "homeassistant/events",
    ]);
  });
});

describe("topicMatchesFilter", () => {
  it("applies + and # like a broker", () => {
    expect(topicMatchesFilter("a/+/c", "a/b/c")).toBe(true);
    expect(topicMatchesFilter("a/+/c", "a/b/c/d")).toBe(false);
    expect(topicMatchesFilter("a/#", "a/b/c")).toBe(true);
    expect(topicMatchesFilter("a/b", "a/b")).toBe(true);
    expect(topicMatchesFilter("a/b", "a")).toBe(false);
  });
});
