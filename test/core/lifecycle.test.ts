import { describe, expect, it } from "vitest";
import { Lifecycle, type Service } from "../../src/core/lifecycle.js";
import { silentLogger } from "../../src/core/logger.js";

function recorder(log: string[], name: string, fail?: "start" | "stop"): Service {
  return {
    name,
    start: () => {
      log.push(`start ${name}`);
      return fail === "start" ? Promise.reject(new Error(`${name} failed`)) : Promise.resolve();
    },
    stop: () => {
      log.push(`stop ${name}`);
      return fail === "stop" ? Promise.reject(new Error(`${name} failed`)) : Promise.resolve();
    },
  };
}

describe("Lifecycle", () => {
  it("starts in order and stops in reverse order", async () => {
    const log: string[] = [];
    const lifecycle = new Lifecycle(
      [recorder(log, "a"), recorder(log, "b"), recorder(log, "c")],
      silentLogger(),
    );
    await lifecycle.start();
    await lifecycle.stop();
    expect(log).toEqual(["start a", "start b", "start c", "stop c", "stop b", "stop a"]);
  });

  it("stops only what started when a start fails", async () => {
    const log: string[] = [];
    const lifecycle = new Lifecycle(
      [recorder(log, "a"), recorder(log, "b", "start"), recorder(log, "c")],
      silentLogger(),
    );
    await expect(lifecycle.start()).rejects.toThrow("b failed");
    await lifecycle.stop();
    expect(log).toEqual(["start a", "start b", "stop a"]);
  });

  it("keeps stopping the rest when one stop fails, and a second stop does nothing", async () => {
    const log: string[] = [];
    const lifecycle = new Lifecycle([recorder(log, "a"), recorder(log, "b", "stop")], silentLogger());
    await lifecycle.start();
    await lifecycle.stop();
    await lifecycle.stop();
    expect(log).toEqual(["start a", "start b", "stop b", "stop a"]);
  });
});
