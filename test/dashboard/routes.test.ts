import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../src/core/logger.js";
import { dashboardRoutes, renderIndex } from "../../src/dashboard/routes.js";
import { HttpListener } from "../../src/server/http.js";

const TEMPLATE =
  '<!doctype html><html><head><!--base--><script type="module" src="dashboard/app.js"></script></head></html>';

interface Reply {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Buffer;
}

function get(port: number, path: string, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
      );
    });
    req.on("error", reject);
    req.end();
  });
}

describe("renderIndex", () => {
  it("sets <base> to the ingress prefix so every relative URL resolves under it", () => {
    expect(renderIndex(TEMPLATE, "/api/hassio_ingress/AbC-123_x")).toContain(
      '<base href="/api/hassio_ingress/AbC-123_x/">',
    );
  });

  it.each([
    ["a protocol-relative URL", "//evil.example/x"],
    ["a full URL", "https://evil.example"],
    ["markup", '/x"><script>alert(1)</script>'],
    ["a relative path", "api/hassio_ingress/x"],
    ["a trailing slash", "/api/"],
  ])("ignores %s", (_name, path) => {
    expect(renderIndex(TEMPLATE, path)).not.toContain("<base");
  });
});

describe("dashboardRoutes", () => {
  let dir: string;
  let main: HttpListener;
  let ingress: HttpListener;
  let bare: HttpListener;
  let guarded: HttpListener;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "pma-dash-"));
    writeFileSync(join(dir, "index.html"), TEMPLATE);
    writeFileSync(join(dir, "app.js"), `export const app = "${"x".repeat(2000)}";`);
    main = new HttpListener({ name: "main", host: "127.0.0.1", port: 0 }, silentLogger());
    ingress = new HttpListener({ name: "ingress", host: "127.0.0.1", port: 0 }, silentLogger());
    bare = new HttpListener({ name: "bare", host: "127.0.0.1", port: 0 }, silentLogger());
    guarded = new HttpListener({ name: "guarded", host: "127.0.0.1", port: 0 }, silentLogger());
    dashboardRoutes(main, { ingress: false, assetsDir: dir });
    // Loopback plays the Supervisor here, so the trusted peer gets through.
    dashboardRoutes(ingress, { ingress: true, trustedPeer: "127.0.0.1", assetsDir: dir });
    dashboardRoutes(bare, { ingress: false, assetsDir: join(dir, "missing") });
    dashboardRoutes(guarded, { ingress: true, trustedPeer: "172.30.32.2", assetsDir: dir });
    await Promise.all([main.start(), ingress.start(), bare.start(), guarded.start()]);
  });
  afterAll(async () => {
    await Promise.all([main.stop(), ingress.stop(), bare.stop(), guarded.stop()]);
    rmSync(dir, { recursive: true, force: true });
  });

  it("serves the page at / with a strict content security policy", async () => {
    const reply = await get(main.port(), "/");
    expect(reply.status).toBe(200);
    expect(reply.headers["content-type"]).toBe("text/html; charset=utf-8");
    expect(reply.headers["content-security-policy"]).toContain("script-src 'self'");
    expect(reply.body.toString()).toContain('src="dashboard/app.js"');
    expect(reply.body.toString()).not.toContain("<!--base-->");
  });

  it("ignores X-Ingress-Path on the main listener, where anyone could send it", async () => {
    const reply = await get(main.port(), "/", { "X-Ingress-Path": "/api/hassio_ingress/tok" });
    expect(reply.body.toString()).not.toContain("<base");
  });

  it("serves the trusted peer on the ingress listener and honours its X-Ingress-Path", async () => {
    const reply = await get(ingress.port(), "/", { "X-Ingress-Path": "/api/hassio_ingress/tok" });
    expect(reply.body.toString()).toContain('<base href="/api/hassio_ingress/tok/">');
  });

  it("serves the script gzipped when the browser accepts it, and answers a matching ETag with 304", async () => {
    const plain = await get(main.port(), "/dashboard/app.js");
    expect(plain.headers["content-type"]).toBe("text/javascript; charset=utf-8");
    const zipped = await get(main.port(), "/dashboard/app.js", { "Accept-Encoding": "gzip, br" });
    expect(zipped.headers["content-encoding"]).toBe("gzip");
    expect(zipped.body.length).toBeLessThan(plain.body.length);
    expect(gunzipSync(zipped.body).equals(plain.body)).toBe(true);
    const again = await get(main.port(), "/dashboard/app.js", {
      "If-None-Match": String(plain.headers.etag),
    });
    expect(again.status).toBe(304);
    expect(again.body.length).toBe(0);
  });

  it("refuses every peer but the trusted one on an ingress listener", async () => {
    for (const path of ["/", "/dashboard/app.js"]) {
      const reply = await get(guarded.port(), path, { "X-Ingress-Path": "/api/hassio_ingress/tok" });
      expect(reply.status).toBe(403);
    }
  });

  it("says how to build the dashboard when its assets are missing", async () => {
    const reply = await get(bare.port(), "/");
    expect(reply.status).toBe(503);
    expect(reply.body.toString()).toContain("npm run build");
  });
});
