/** The service's HTTP face: Prometheus /metrics, /healthz (alive) and /readyz (model loaded and consuming). Never sends stack traces. */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';

export type RouteHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void> | void;

export interface HttpOptions {
  /** @default 0 (a free port) */
  port?: number;
  /** @default '127.0.0.1' */
  host?: string;
  registry: Registry;
  health(): { live: boolean; ready: boolean; detail: Record<string, unknown> };
  /** Extra routes, e.g. 'POST /feedback'. */
  routes?: Record<string, RouteHandler>;
}

export async function startHttp(o: HttpOptions): Promise<{ server: Server; url: string; close(): Promise<void> }> {
  const server = createServer(async (req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    try {
      const route = o.routes?.[`${req.method} ${path}`];
      if (route) return await route(req, res);
      if (req.method === 'GET' && path === '/metrics') {
        res.writeHead(200, { 'content-type': o.registry.contentType }).end(await o.registry.metrics());
      } else if (req.method === 'GET' && (path === '/healthz' || path === '/readyz')) {
        const h = o.health();
        const ok = path === '/healthz' ? h.live : h.ready;
        res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify({ ok, ...h.detail }));
      } else {
        res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'not found' }));
      }
    } catch {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: 'internal error' }));
    }
  });
  await new Promise<void>((resolve) => server.listen(o.port ?? 0, o.host ?? '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { server, url: `http://${o.host ?? '127.0.0.1'}:${port}`, close: () => new Promise((r) => server.close(() => r())) };
}
