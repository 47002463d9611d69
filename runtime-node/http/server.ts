/** The service's HTTP face: Prometheus /metrics, /healthz (alive) and /readyz (model loaded and consuming). Never sends stack traces. */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import { discardBody, requestPath, RequestRefused, sendError, serverOptions, type HttpTimeouts } from './limits.js';

export type RouteHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void> | void;

/** Body bytes read (and dropped) from a request to a route that takes none, before the connection is cut. */
const IGNORED_BODY_BYTES = 64 * 1024;

export interface HttpOptions {
  /** @default 0 (a free port) */
  port?: number;
  /** @default '127.0.0.1' */
  host?: string;
  registry: Registry;
  health(): { live: boolean; ready: boolean; detail: Record<string, unknown> };
  /** Extra routes, e.g. 'POST /feedback'. */
  routes?: Record<string, RouteHandler>;
  /** Header, request and keep-alive timeouts. @default DEFAULT_HTTP_TIMEOUTS */
  timeouts?: HttpTimeouts;
}

export async function startHttp(o: HttpOptions): Promise<{ server: Server; url: string; close(): Promise<void> }> {
  const server = createServer(serverOptions(o.timeouts), async (req, res) => {
    try {
      const path = requestPath(req);
      const route = o.routes?.[`${req.method} ${path}`];
      if (route) return await route(req, res);
      discardBody(req, res, IGNORED_BODY_BYTES);
      if (req.method === 'GET' && path === '/metrics') {
        res.writeHead(200, { 'content-type': o.registry.contentType }).end(await o.registry.metrics());
      } else if (req.method === 'GET' && (path === '/healthz' || path === '/readyz')) {
        const h = o.health();
        const ok = path === '/healthz' ? h.live : h.ready;
        res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify({ ok, ...h.detail }));
      } else {
        res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'not found', code: 'NOT_FOUND' }));
      }
    } catch (err) {
      if (err instanceof RequestRefused) sendError(req, res, err.status, err.message, err.code);
      else sendError(req, res, 500, 'internal error', 'INTERNAL');
    }
  });
  await new Promise<void>((resolve) => server.listen(o.port ?? 0, o.host ?? '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { server, url: `http://${o.host ?? '127.0.0.1'}:${port}`, close: () => new Promise((r) => { server.close(() => r()); server.closeAllConnections(); }) };
}
