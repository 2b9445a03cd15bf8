import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { configSchema } from "../../../src/config/schema.js";
import { createLogger, silentLogger } from "../../../src/core/logger.js";
import { Authenticator } from "../../../src/server/auth/authenticator.js";
import { FailedAuthLimiter } from "../../../src/server/auth/failed-auth.js";
import { mintToken } from "../../../src/server/auth/jwt.js";
import { ANONYMOUS, narrow } from "../../../src/server/auth/principal.js";
import { sanitizeAttributes } from "../../../src/server/auth/sanitize.js";

const SECRET = "s".repeat(40);
let dataDir: string;

const authConfig = (input: Record<string, unknown> = {}) => configSchema.parse({ auth: input }).auth;

describe("Authenticator", () => {
  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), "pma-auth-"));
  });
  afterEach(() => {
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("generates a key with every capability on first start, logs it once, and keeps it", async () => {
    const lines: string[] = [];
    const log = createLogger({
      level: "info",
      format: "json",
      destination: new Writable({
        write(chunk, _enc, done) {
          lines.push(String(chunk));
          done();
        },
      }),
    });
    const first = new Authenticator(authConfig(), dataDir, log);
    first.init();
    const stored = JSON.parse(readFileSync(join(dataDir, "secrets.json"), "utf8")) as { api_key: string };
    expect(lines.filter((l) => l.includes(stored.api_key))).toHaveLength(1);
    const again = new Authenticator(authConfig(), dataDir, log);
    again.init();
    expect(lines.filter((l) => l.includes(stored.api_key))).toHaveLength(1);
    const principal = await again.authenticate({ apiKey: stored.api_key });
    expect([...principal.capabilities].sort()).toEqual(
      ["admin", "alerts", "entities", "predictions", "room_specific", "system_status"].sort(),
    );
    expect(principal.rooms).toBeNull();
  });

  it("does not accept the generated key once keys are configured", async () => {
    new Authenticator(authConfig(), dataDir, silentLogger()).init();
    const stored = JSON.parse(readFileSync(join(dataDir, "secrets.json"), "utf8")) as { api_key: string };
    const auth = new Authenticator(
      authConfig({
        api_keys: [
          { name: "panel", key: "panel-key-0123456789", capabilities: ["predictions"], rooms: ["kitchen"] },
        ],
      }),
      dataDir,
      silentLogger(),
    );
    auth.init();
    await expect(auth.authenticate({ apiKey: stored.api_key })).rejects.toMatchObject({
      code: "AUTH_FAILED",
    });
    const panel = await auth.authenticate({ apiKey: "panel-key-0123456789" });
    expect([panel.subject, [...panel.capabilities], [...(panel.rooms ?? [])]]).toEqual([
      "panel",
      ["predictions"],
      ["kitchen"],
    ]);
  });

  it("accepts HS256 tokens from the configured secret and refuses expired, foreign and unsigned ones", async () => {
    const auth = new Authenticator(authConfig({ jwt_secret: SECRET }), dataDir, silentLogger());
    auth.init();
    const good = await mintToken(SECRET, {
      subject: "a",
      capabilities: ["alerts", "bogus"],
      rooms: [],
      expiresInSeconds: 60,
    });
    const principal = await auth.authenticate({ token: good });
    expect([principal.kind, [...principal.capabilities]]).toEqual(["token", ["alerts"]]);
    const expired = await mintToken(SECRET, {
      subject: "a",
      capabilities: [],
      rooms: [],
      expiresInSeconds: -1,
    });
    await expect(auth.authenticate({ token: expired })).rejects.toMatchObject({ code: "TOKEN_EXPIRED" });
    const foreign = await mintToken("x".repeat(40), {
      subject: "a",
      capabilities: [],
      rooms: [],
      expiresInSeconds: 60,
    });
    await expect(auth.authenticate({ token: foreign })).rejects.toMatchObject({ code: "AUTH_FAILED" });
    const [header, payload] = good.split(".");
    const none = `${Buffer.from(JSON.stringify({ alg: "none", typ: "JWT" })).toString("base64url")}.${payload}.`;
    expect(header).toBeDefined();
    await expect(auth.authenticate({ token: none })).rejects.toMatchObject({ code: "AUTH_FAILED" });
  });
});

describe("FailedAuthLimiter", () => {
  it("slows an address down after max attempts, doubling per failure, and forgets after the window", () => {
    let now = 0;
    const limiter = new FailedAuthLimiter(3, 60_000, 250, 10_000, () => now);
    for (let i = 0; i < 2; i++) limiter.recordFailure("1.2.3.4");
    expect(limiter.delayMs("1.2.3.4")).toBe(0);
    limiter.recordFailure("1.2.3.4");
    expect(limiter.delayMs("1.2.3.4")).toBe(250);
    limiter.recordFailure("1.2.3.4");
    expect(limiter.delayMs("1.2.3.4")).toBe(500);
    expect(limiter.delayMs("5.6.7.8")).toBe(0);
    now += 61_000;
    expect(limiter.delayMs("1.2.3.4")).toBe(0);
    expect(limiter.totalFailures).toBe(4);
  });
});

describe("narrow", () => {
  const granted = {
    ...ANONYMOUS,
    kind: "api_key" as const,
    capabilities: new Set(["predictions", "alerts"] as const),
  };

  it("intersects requested capabilities and rooms with the granted ones; empty requests keep everything", () => {
    expect([...narrow(granted, ["alerts", "admin"], undefined).capabilities]).toEqual(["alerts"]);
    expect([...narrow(granted, [], undefined).capabilities]).toEqual(["predictions", "alerts"]);
    expect(narrow(granted, undefined, []).rooms).toBeNull();
    expect([...(narrow(granted, undefined, ["kitchen"]).rooms ?? [])]).toEqual(["kitchen"]);
    const limited = { ...granted, rooms: new Set(["kitchen"]) };
    expect([...(narrow(limited, undefined, ["kitchen", "hall"]).rooms ?? [])]).toEqual(["kitchen"]);
    expect(narrow(limited, undefined, ["hall"]).rooms?.size).toBe(0);
  });
});

describe("sanitizeAttributes", () => {
  it("removes access tokens and tokenised pictures, keeps the rest untouched", () => {
    expect(
      sanitizeAttributes("camera", {
        access_token: "t",
        entity_picture: "/api/camera_proxy/c?token=t",
        brand: "b",
      }),
    ).toEqual({ brand: "b" });
    expect(sanitizeAttributes("person", { entity_picture: "/local/anna.jpg" })).toEqual({
      entity_picture: "/local/anna.jpg",
    });
    const attrs = { brightness: 3 };
    expect(sanitizeAttributes("light", attrs)).toBe(attrs);
  });
});
