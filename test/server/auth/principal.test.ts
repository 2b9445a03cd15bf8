import { describe, expect, it } from "vitest";
import { capabilitySet } from "../../../src/server/auth/principal.js";

describe("capabilitySet", () => {
  it("keeps the known capabilities in the order given, once each, and drops unknown names", () => {
    expect([...capabilitySet(["predictions", "bogus", "entities", "predictions"])]).toEqual([
      "predictions",
      "entities",
    ]);
  });

  it("hands principals with the same list one shared set", () => {
    expect(capabilitySet(["entities", "alerts"])).toBe(capabilitySet(["entities", "alerts", "nope"]));
    expect(capabilitySet(["alerts", "entities"])).not.toBe(capabilitySet(["entities", "alerts"]));
  });
});
