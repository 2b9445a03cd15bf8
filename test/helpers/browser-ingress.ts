import { createServer, type IncomingMessage, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { connect } from "node:net";

/**
 * Stands in for Home Assistant's ingress path: the browser talks to `/api/hassio_ingress/<token>/…`, and the
 * proxy strips that prefix, adds `X-Ingress-Path`, and forwards HTTP and WebSocket upgrades to the bridge.
 */
export interface IngressProxy {
  /** The URL the browser opens, ending in `/`. */
  readonly url: string;
  readonly prefix: string;
  /** Paths the bridge was asked for, after stripping. */
  readonly forwarded: string[];
  stop(): Promise<void>;
}

export async function startIngressProxy(
  target: { host: string; port: number },
  token = "pmaTestToken123",
): Promise<IngressProxy> {
  const prefix = `/api/hassio_ingress/${token}`;
  const forwarded: string[] = [];
  const tunnels = new Set<{ destroy(): void }>();
  const strip = (req: IncomingMessage): string | undefined => {
    const url = req.url ?? "/";
    if (url !== prefix && !url.startsWith(`${prefix}/`) && !url.startsWith(`${prefix}?`)) return undefined;
    const rest = url.slice(prefix.length);
    const path = rest.startsWith("/") ? rest : `/${rest}`;
    forwarded.push(path);
    return path;
  };
  const headersFor = (req: IncomingMessage): Record<string, string | string[]> => {
    const headers: Record<string, string | string[]> = {};
    for (const [key, value] of Object.entries(req.headers)) if (value !== undefined) headers[key] = value;
    headers["x-ingress-path"] = prefix;
    headers.host = `${target.host}:${target.port}`;
    return headers;
  };

  const server: Server = createServer((req, res) => {
    const path = strip(req);
    if (path === undefined) {
      res.writeHead(404).end();
      return;
    }
    const upstream = request(
      { host: target.host, port: target.port, method: req.method, path, headers: headersFor(req) },
      (reply) => {
        res.writeHead(reply.statusCode ?? 502, reply.headers);
        reply.pipe(res);
      },
    );
    upstream.on("error", () => res.writeHead(502).end());
    req.pipe(upstream);
  });
  server.on("upgrade", (req, socket, head) => {
    const path = strip(req);
    if (path === undefined) {
      socket.end("HTTP/1.1 404 Not Found\r\n\r\n");
      return;
    }
    const upstream = connect(target.port, target.host, () => {
      const lines = [`${req.method} ${path} HTTP/1.1`];
      for (const [key, value] of Object.entries(headersFor(req))) {
        for (const v of Array.isArray(value) ? value : [value]) lines.push(`${key}: ${v}`);
      }
      upstream.write(`${lines.join("\r\n")}\r\n\r\n`);
      if (head.length > 0) upstream.write(head);
      upstream.pipe(socket);
      socket.pipe(upstream);
    });
    tunnels.add(upstream);
    tunnels.add(socket);
    const close = (): void => {
      upstream.destroy();
      socket.destroy();
      tunnels.delete(upstream);
      tunnels.delete(socket);
    };
    upstream.on("error", close);
    socket.on("error", close);
    upstream.on("close", close);
    socket.on("close", close);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}${prefix}/`,
    prefix,
    forwarded,
    stop: async () => {
      for (const tunnel of tunnels) tunnel.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
