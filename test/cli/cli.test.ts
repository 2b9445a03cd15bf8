import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { verifyToken } from "../../src/server/auth/jwt.js";
import { type RunningCli, runCli, startCli } from "../helpers/cli.js";

const tempDir = (): string => mkdtempSync(join(tmpdir(), "pma-cli-"));
const SECRET = "s".repeat(40);

describe("pma-bridge CLI", () => {
  it("prints help for the program and for each command", async () => {
    const top = await runCli(["--help"]);
    expect(top.code).toBe(0);
    for (const command of ["run", "check-config", "token", "demo"]) expect(top.stdout).toContain(command);
    const run = await runCli(["run", "--help"]);
    for (const flag of [
      "--config",
      "--port",
      "--host",
      "--ha-url",
      "--ha-token",
      "--mqtt-url",
      "--data-dir",
      "--log-level",
    ]) {
      expect(run.stdout).toContain(flag);
    }
    const token = await runCli(["token", "--help"]);
    for (const flag of ["--subject", "--capabilities", "--rooms", "--expires-in"])
      expect(token.stdout).toContain(flag);
  });

  it("rejects unknown flags with exit code 2", async () => {
    const result = await runCli(["run", "--prot", "3001"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("unknown option '--prot'");
  });

  describe("check-config", () => {
    it("prints the effective configuration with secrets masked", async () => {
      const dir = tempDir();
      const file = join(dir, "bridge.yaml");
      writeFileSync(
        file,
        `homeassistant:\n  url: http://ha.local:8123\n  token: secret-ha-token\nauth:\n  jwt_secret: ${SECRET}\n`,
      );
      const result = await runCli(["check-config", "--config", file, "--port", "4123", "--data-dir", dir]);
      expect(result.code).toBe(0);
      const config = JSON.parse(result.stdout) as {
        server: { port: number };
        homeassistant: { token: string };
      };
      expect(config.server.port).toBe(4123);
      expect(config.homeassistant.token).toBe("********");
      expect(result.stdout + result.stderr).not.toContain("secret-ha-token");
      expect(result.stdout + result.stderr).not.toContain(SECRET);
    });

    it("lists every problem and exits 2", async () => {
      const dir = tempDir();
      const file = join(dir, "bad.yaml");
      writeFileSync(
        file,
        "server:\n  port: 99999\nhomeassistant:\n  url: http://ha.local:8123\nlog_level: chatty\n",
      );
      const result = await runCli(["check-config", "--config", file]);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain("3 problem(s)");
      expect(result.stderr).toContain("server.port");
      expect(result.stderr).toContain("homeassistant.token");
      expect(result.stderr).toContain("log_level");
      expect(result.stdout).toBe("");
    });

    it("reads the add-on options file when the Supervisor token is present", async () => {
      const dir = tempDir();
      const options = join(dir, "options.json");
      writeFileSync(options, JSON.stringify({ log_level: "debug", data_dir: dir }));
      const result = await runCli(["check-config"], {
        SUPERVISOR_TOKEN: "x",
        PMA_ADDON_OPTIONS_FILE: options,
      });
      expect(result.code).toBe(0);
      expect(JSON.parse(result.stdout)).toMatchObject({ log_level: "debug" });
      expect(result.stderr).toContain("add-on options");
    });
  });

  describe("token", () => {
    it("mints an HS256 token carrying subject, capabilities, rooms and expiry", async () => {
      const dir = tempDir();
      const result = await runCli(
        [
          "token",
          "--data-dir",
          dir,
          "--subject",
          "kitchen-tablet",
          "--capabilities",
          "predictions,alerts",
          "--rooms",
          "kitchen",
          "--expires-in",
          "2h",
        ],
        { PMA_AUTH_JWT_SECRET: SECRET },
      );
      expect(result.code).toBe(0);
      const claims = await verifyToken(SECRET, result.stdout.trim());
      expect(claims.subject).toBe("kitchen-tablet");
      expect(claims.capabilities).toEqual(["predictions", "alerts"]);
      expect(claims.rooms).toEqual(["kitchen"]);
      const lifetime = (claims.expiresAt ?? 0) - Date.now() / 1000;
      expect(lifetime).toBeGreaterThan(7000);
      expect(lifetime).toBeLessThanOrEqual(7200);
    });

    it("refuses unknown capabilities and explains a missing secret", async () => {
      const dir = tempDir();
      const bad = await runCli(["token", "--data-dir", dir, "--subject", "x", "--capabilities", "root"], {
        PMA_AUTH_JWT_SECRET: SECRET,
      });
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain("unknown capability root");
      const noSecret = await runCli(["token", "--data-dir", dir, "--subject", "x"]);
      expect(noSecret.code).toBe(2);
      expect(noSecret.stderr).toContain("no token secret");
    });
  });

  describe("run", () => {
    let running: RunningCli | undefined;
    afterEach(() => {
      running?.child.kill("SIGKILL");
      running = undefined;
    });

    it("serves /healthz and exits 0 on SIGTERM", async () => {
      const dir = tempDir();
      running = startCli([
        "run",
        "--port",
        "0",
        "--host",
        "127.0.0.1",
        "--data-dir",
        dir,
        "--log-level",
        "info",
      ]);
      const port = await running.port;
      const response = await fetch(`http://127.0.0.1:${port}/healthz`);
      expect([200, 503]).toContain(response.status);
      const body = (await response.json()) as { status: string; reasons: string[] };
      expect(body.status).toBe(response.status === 200 ? "ok" : "unavailable");
      running.child.kill("SIGTERM");
      expect(await running.exited).toBe(0);
      expect(running.stderr()).toContain("stopped");
    });

    it("starts nothing and exits 2 on an invalid configuration", async () => {
      const result = await runCli([
        "run",
        "--port",
        "0",
        "--ha-url",
        "http://ha.local:8123",
        "--data-dir",
        tempDir(),
      ]);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain("homeassistant.token");
      expect(result.stderr).toContain("Nothing was started");
    });
  });
});
