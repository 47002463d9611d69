/**
 * Limits every edgeseg HTTP server shares (the service's /metrics + /feedback, the demo's web
 * server): how long a client may take to send its headers and its whole request, how much of a
 * body is read, and what happens to the rest. A refused request's body is read only up to the
 * limit and then the connection is cut, so a client cannot make the server read (and pay for) a
 * body it already refused; Node's own `req.resume()` would read it to the end.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { EdgesegError } from '../core/index.js';

/** Timeouts of one HTTP server, milliseconds. */
export interface HttpTimeouts {
  /** Time to receive a request's headers (slowloris). @default 10_000 */
  headersTimeoutMs?: number;
  /** Time to receive a whole request, body included. @default 60_000 */
  requestTimeoutMs?: number;
  /** Idle time of a kept-alive connection between requests. @default 5_000 */
  keepAliveTimeoutMs?: number;
}

export const DEFAULT_HTTP_TIMEOUTS: Required<HttpTimeouts> = { headersTimeoutMs: 10_000, requestTimeoutMs: 60_000, keepAliveTimeoutMs: 5_000 };

/**
 * Options for `createServer`: Node checks the header and request timeouts only every
 * `connectionsCheckingInterval` (30 s by default), so it is set to a fraction of the shortest.
 */
export function serverOptions(t: HttpTimeouts = {}): { connectionsCheckingInterval: number; headersTimeout: number; requestTimeout: number; keepAliveTimeout: number } {
  const o = { ...DEFAULT_HTTP_TIMEOUTS, ...t };
  for (const [k, v] of Object.entries(o)) {
    if (!Number.isFinite(v) || v <= 0) throw new EdgesegError('CONFIG_INVALID', `HTTP ${k} must be a positive number of milliseconds, got ${v}`);
  }
  const headersTimeout = Math.min(o.headersTimeoutMs, o.requestTimeoutMs);
  return {
    headersTimeout,
    requestTimeout: o.requestTimeoutMs,
    keepAliveTimeout: o.keepAliveTimeoutMs,
    connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.floor(headersTimeout / 4))),
  };
}

/** A request refused before its handler ran: `status` and `code` go into the `{error, code}` body. */
export class RequestRefused extends EdgesegError {
  constructor(
    code: 'BAD_REQUEST' | 'BODY_TOO_LARGE' | 'FEEDBACK_TOO_LARGE',
    message: string,
    readonly status: number,
  ) {
    super(code, message);
  }
}

/** The decoded path of a request URL; a malformed URL or percent-escape is a 400, never a throw out of the handler. */
export function requestPath(req: IncomingMessage): string {
  let path: string;
  try {
    path = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
  } catch {
    throw new RequestRefused('BAD_REQUEST', 'the request URL is malformed', 400);
  }
  if (path.includes('\0')) throw new RequestRefused('BAD_REQUEST', 'the request URL holds a NUL byte', 400);
  return path;
}

/**
 * Reads and discards what is left of a request body up to `limit` bytes, then cuts the
 * connection. Called after a response that does not need the body (401, 415, 413, 4xx/5xx).
 */
export function discardBody(req: IncomingMessage, limit: number): void {
  if (req.complete || req.destroyed) return;
  let seen = 0;
  req.on('data', (chunk: Buffer) => {
    seen += chunk.length;
    if (seen > limit) req.socket.destroy();
  });
  req.on('error', () => {});
  req.resume();
}

/**
 * The request body, at most `limit` bytes. A larger body (declared or sent) throws
 * `RequestRefused` with `code` (413) after at most `limit` bytes were read.
 */
export async function readBody(req: IncomingMessage, limit: number, code: 'BODY_TOO_LARGE' | 'FEEDBACK_TOO_LARGE' = 'BODY_TOO_LARGE'): Promise<Buffer> {
  const tooLarge = () => new RequestRefused(code, `body is larger than ${limit} bytes`, 413);
  const declared = req.headers['content-length'];
  if (declared !== undefined && !/^\d+$/.test(declared)) throw new RequestRefused('BAD_REQUEST', 'content-length is not a number', 400);
  if (Number(declared ?? 0) > limit) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw tooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/**
 * Sends an error as JSON `{error, code}`, closes the connection after it, and discards at most
 * `limit` more body bytes. Safe to call when headers were already sent (then it only ends).
 */
export function sendError(req: IncomingMessage, res: ServerResponse, status: number, error: string, code: string, limit: number, extra: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.end();
  } else {
    res.shouldKeepAlive = false;
    res.writeHead(status, { 'content-type': 'application/json', connection: 'close', ...extra }).end(JSON.stringify({ error, code }));
  }
  discardBody(req, limit);
}
