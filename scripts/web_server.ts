/**
 * The web server of the demo and the browser tests: the built app (dist/web; the browser tests'
 * build is dist/web-e2e), the model registry under /models/ (with /models/index.json listing
 * every version), on localhost (a secure context, as WebGPU requires) with COOP/COEP so threaded
 * wasm can be used. Nothing outside the two roots is served. With `feedback`, it also receives
 * the demo's corrections: `POST /feedback` (bearer token) into a feedback store, the same
 * endpoint runtime-node serves.
 *
 *   tsx scripts/web_server.ts [--port 5173] [--models models]
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, resolve, sep } from 'node:path';
import { CARD_JSON, parseCard, type ModelIndexEntry } from '../core/index.js';
import { describeError } from '../core/errors.js';
import { armOf } from '../core/rollout.js';
import { aliases, listModelNames, listVersions } from '../core/node/registry.js';
import { readRollout } from '../core/node/rollout.js';
import { FeedbackIngest, feedbackRoutes } from '../runtime-node/feedback/ingest.js';
import { discardBody, requestPath, RequestRefused, sendError, serverOptions, type HttpTimeouts } from '../runtime-node/http/limits.js';
import { ISOLATION_HEADERS } from './isolation_headers.js';

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.bin': 'application/octet-stream',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.svg': 'image/svg+xml',
  '.md': 'text/markdown; charset=utf-8',
};

export interface WebServerOptions {
  /** Built app. @default 'dist/web' */
  dist?: string;
  /** Model registry root. @default 'models' */
  models?: string;
  /** @default 0 (a free port) */
  port?: number;
  /** Accept `POST /feedback` with this bearer token into this feedback store. */
  feedback?: { store: string; token: string };
  /** Header, request and keep-alive timeouts. @default DEFAULT_HTTP_TIMEOUTS */
  timeouts?: HttpTimeouts;
}

/** Body bytes read (and dropped) from a request to a route that takes none, before the connection is cut. */
const IGNORED_BODY_BYTES = 64 * 1024;

/**
 * Every version in the registry with a readable card, champion first, then newest first; `onSkip`
 * hears of the others. With a `client` id, a model's rollout assigns that client an arm by the
 * same stable hash runtime-node routes sensors by: the version serving it is marked with its `arm`
 * and listed first.
 */
export function modelIndex(root: string, onSkip?: (version: string, err: unknown) => void, client?: string): ModelIndexEntry[] {
  const out: ModelIndexEntry[] = [];
  for (const name of listModelNames(root)) {
    const named = aliases(root, name);
    const rollout = client ? readRollout(root, name) : null;
    const arm = rollout ? armOf(client!, rollout.weight, `${name}@${rollout.canary}`) : null;
    const serving = arm === 'canary' ? rollout!.canary : arm === 'champion' ? rollout!.champion : null;
    for (const version of listVersions(root, name)) {
      const cardPath = join(root, name, version, CARD_JSON);
      if (!existsSync(cardPath)) continue;
      let card;
      try {
        card = parseCard(readFileSync(cardPath, 'utf8'), cardPath);
      } catch (err) {
        // One broken version must not hide the others (or take the server down): it is left out.
        onSkip?.(`${name}/${version}`, err);
        continue;
      }
      out.push({ url: `/models/${name}/${version}/`, name, version, precision: card.precision, bytes: card.bytes, aliases: Object.keys(named).filter((a) => named[a] === version), ...(version === serving ? { arm: arm! } : {}) });
    }
  }
  return out.sort((a, b) => Number(!!b.arm) - Number(!!a.arm) || Number(b.aliases.includes('champion')) - Number(a.aliases.includes('champion')) || b.version.localeCompare(a.version, 'en', { numeric: true }));
}

/** A file under `root` for a URL path, or null (missing, a directory, or outside the root). */
function fileUnder(root: string, urlPath: string): string | null {
  const p = resolve(root, `.${urlPath}`);
  if (p !== root && !p.startsWith(root + sep)) return null;
  return existsSync(p) && statSync(p).isFile() ? p : null;
}

export async function startWebServer(options: WebServerOptions = {}): Promise<{ url: string; close(): Promise<void> }> {
  const dist = resolve(options.dist ?? 'dist/web');
  const models = resolve(options.models ?? 'models');
  if (!existsSync(join(dist, 'demo', 'index.html'))) throw new Error(`${dist} holds no built demo: run npm run build first`);
  const send = (res: ServerResponse, status: number, body: string | Buffer, type: string, extra: Record<string, string> = {}) => {
    // The length lets a client report download progress (runtime-web's onProgress).
    res.writeHead(status, { 'content-type': type, 'content-length': String(Buffer.byteLength(body)), 'cache-control': 'no-cache', ...ISOLATION_HEADERS, ...extra });
    res.end(body);
  };
  const feedback = options.feedback ? feedbackRoutes(new FeedbackIngest({ store: options.feedback.store }), { token: options.feedback.token }) : {};
  const route = async (req: IncomingMessage, res: ServerResponse) => {
    const path = requestPath(req);
    const post = feedback[`${req.method} ${path}`];
    if (post) return post(req, res);
    discardBody(req, res, IGNORED_BODY_BYTES);
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'method not allowed', 'text/plain');
    if (path === '/') return send(res, 302, '', 'text/plain', { location: '/demo/' });
    if (path === '/models/index.json') {
      const client = new URL(req.url ?? '/', 'http://localhost').searchParams.get('client') ?? undefined;
      return send(res, 200, JSON.stringify(modelIndex(models, leftOut, client)), MIME['.json']);
    }
    const file = path.startsWith('/models/') ? fileUnder(models, path.slice('/models'.length)) : fileUnder(dist, path.endsWith('/') ? `${path}index.html` : path);
    if (!file) return send(res, 404, `not found: ${path}`, 'text/plain');
    send(res, 200, readFileSync(file), MIME[extname(file)] ?? 'application/octet-stream');
  };
  const warned = new Set<string>();
  const leftOut = (version: string, err: unknown) => {
    if (warned.has(version)) return;
    warned.add(version);
    console.warn(`models/index.json: ${version} left out: ${describeError(err)}`);
  };
  // Every failure of a handler is a response; nothing a client sends ends the process.
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    Promise.resolve()
      .then(() => route(req, res))
      .catch((err: unknown) => {
        if (err instanceof RequestRefused) sendError(req, res, err.status, err.message, err.code);
        else sendError(req, res, 500, 'internal error', 'INTERNAL');
      });
  };
  const server = createServer(serverOptions(options.timeouts), handle);
  await new Promise<void>((done) => server.listen(options.port ?? 0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://localhost:${port}`,
    close: () => new Promise<void>((done) => {
      server.close(() => done());
      server.closeAllConnections();
    }),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const arg = (name: string) => {
    const i = process.argv.indexOf(`--${name}`);
    return i >= 0 ? process.argv[i + 1] : undefined;
  };
  const server = await startWebServer({ port: Number(arg('port') ?? 5173), models: arg('models') });
  console.log(`demo: ${server.url}/demo/`);
}
