import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { plainAddress } from "../server/auth/principal.js";
import type { HttpListener } from "../server/http.js";

export interface DashboardRouteOptions {
  /**
   * True on the add-on's ingress listener: the page then honours Home Assistant's `X-Ingress-Path` header
   * (the prefix the browser sees), so every relative URL resolves under it.
   */
  readonly ingress: boolean;
  /**
   * The only peer allowed on this listener (the Supervisor, `SUPERVISOR_ADDRESS`, on the ingress port); others
   * get 403. The server enforces the same for WebSocket upgrades and its HTTP endpoints.
   */
  readonly trustedPeer?: string;
  /** Where the built assets are; `dist/dashboard/static` of this package by default. */
  readonly assetsDir?: string;
}

/** The built dashboard (`npm run build:dashboard`), two levels above this module in src/ and in dist/ alike. */
export const DEFAULT_ASSETS_DIR = fileURLToPath(new URL("../../dist/dashboard/static/", import.meta.url));

/** Only a plain absolute path: no scheme, no `//host`, nothing that could break out of the attribute. */
const INGRESS_PATH = /^(\/[A-Za-z0-9._~%-]+)+$/;
const BASE_MARKER = "<!--base-->";

const SECURITY_HEADERS = {
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
  "Content-Security-Policy":
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'",
};

interface Asset {
  readonly body: Buffer;
  readonly gzip: Buffer;
  readonly etag: string;
  readonly type: string;
}

function asset(body: Buffer, type: string): Asset {
  return {
    body,
    gzip: gzipSync(body),
    etag: `"${createHash("sha1").update(body).digest("base64url")}"`,
    type,
  };
}

function read(file: string): Buffer | undefined {
  try {
    return readFileSync(file);
  } catch {
    return undefined;
  }
}

/** The page with its `<base>` set for an ingress prefix, or without one (relative URLs resolve from `/`). */
export function renderIndex(template: string, ingressPath: string | undefined): string {
  const base =
    ingressPath !== undefined && INGRESS_PATH.test(ingressPath) ? `<base href="${ingressPath}/">` : "";
  return template.replace(BASE_MARKER, base);
}

function send(req: IncomingMessage, res: ServerResponse, file: Asset): void {
  const headers: Record<string, string> = {
    ...SECURITY_HEADERS,
    "Content-Type": file.type,
    // Revalidate every time: the bridge is local, and a 304 costs nothing; a stale UI after an update would.
    "Cache-Control": "no-cache",
    ETag: file.etag,
    Vary: "Accept-Encoding",
  };
  if (req.headers["if-none-match"] === file.etag) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  const gzip = /\bgzip\b/.test(String(req.headers["accept-encoding"] ?? ""));
  const body = gzip ? file.gzip : file.body;
  res.writeHead(200, {
    ...headers,
    ...(gzip ? { "Content-Encoding": "gzip" } : {}),
    "Content-Length": String(body.length),
  });
  res.end(req.method === "HEAD" ? undefined : body);
}

function missing(res: ServerResponse): void {
  const text =
    "The dashboard is not built. Run `npm run build` (or `npm run build:dashboard`) in the pma-bridge checkout.\n";
  res.writeHead(503, {
    "Content-Type": "text/plain; charset=utf-8",
    "Content-Length": Buffer.byteLength(text),
  });
  res.end(text);
}

/**
 * Serves the dashboard on a listener: the page at `/` and its script at `/dashboard/app.js`. Assets are read
 * once, on first use, and kept (with a gzip copy) in memory.
 */
export function dashboardRoutes(listener: HttpListener, options: DashboardRouteOptions): void {
  const dir = options.assetsDir ?? DEFAULT_ASSETS_DIR;
  let script: Asset | undefined;
  let template: string | undefined;
  const pages = new Map<string, Asset>();

  const page = (ingressPath: string | undefined): Asset | undefined => {
    template ??= read(join(dir, "index.html"))?.toString("utf8");
    if (template === undefined) return undefined;
    const html = renderIndex(template, ingressPath);
    let rendered = pages.get(html);
    if (rendered === undefined) {
      rendered = asset(Buffer.from(html, "utf8"), "text/html; charset=utf-8");
      // One page per distinct prefix (in practice one); bounded in case a client varies the header.
      if (pages.size < 16) pages.set(html, rendered);
    }
    return rendered;
  };

  const refused = (req: IncomingMessage, res: ServerResponse): boolean => {
    if (options.trustedPeer === undefined || plainAddress(req.socket.remoteAddress) === options.trustedPeer)
      return false;
    const text = "Forbidden: this port serves Home Assistant's ingress only.\n";
    res.writeHead(403, {
      "Content-Type": "text/plain; charset=utf-8",
      "Content-Length": Buffer.byteLength(text),
    });
    res.end(text);
    return true;
  };

  listener.route("/", (req, res) => {
    if (refused(req, res)) return;
    const header = req.headers["x-ingress-path"];
    const rendered = page(options.ingress && typeof header === "string" ? header : undefined);
    if (rendered === undefined) missing(res);
    else send(req, res, rendered);
  });
  listener.route("/dashboard/app.js", (req, res) => {
    if (refused(req, res)) return;
    if (script === undefined) {
      const body = read(join(dir, "app.js"));
      if (body !== undefined) script = asset(body, "text/javascript; charset=utf-8");
    }
    if (script === undefined) missing(res);
    else send(req, res, script);
  });
}
