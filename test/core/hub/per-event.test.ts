import { describe, expect, it } from "vitest";
import { perEvent } from "../../../src/core/hub/per-event.js";
import { stateChanged } from "../../helpers/ws-events.js";

describe("perEvent", () => {
  it("computes once for consecutive asks about the same event, again for another event", () => {
    let calls = 0;
    const idOf = perEvent((event) => {
      calls += 1;
      return event.entity_id;
    });
    const a = { ...stateChanged("light.a", "on"), seq: 1, epoch: "e" };
    const b = { ...stateChanged("light.b", "on"), seq: 2, epoch: "e" };
    expect([idOf(a), idOf(a), idOf(a)]).toEqual(["light.a", "light.a", "light.a"]);
    expect(calls).toBe(1);
    expect(idOf(b)).toBe("light.b");
    expect(idOf(a)).toBe("light.a");
    expect(calls).toBe(3);
  });
});
