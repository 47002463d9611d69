/**
 * Limits every edgeseg HTTP server shares (the service's /metrics + /feedback, the demo's web
 * server): how long a client may take to send its headers and its whole request, how much of a
 * body is read, and what happens to the rest. A refused request's body is not read: the error
 * is answered, then the connection is closed gently (./lingering_close.ts), discarding at most a
 * bounded number of bytes for a bounded time, so a client cannot make the server read (and pay
 * for) a body it already refused, and a client still sending reads the answer.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { EdgesegError } from '../../core/index.js';
import { closeAfterResponse } from './lingering_close.js';

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
 * Reads and discards what is left of a request body up to `limit` bytes (a route that takes no
 * body answers it anyway). Past the limit the body is no longer read, and the connection ends
 * after the response with a lingering close (./lingering_close.ts), so the client still reads
 * the answer.
 */
export function discardBody(req: IncomingMessage, res: ServerResponse, limit: number): void {
  if (req.complete || req.destroyed) return;
  let seen = 0;
  const onData = (chunk: Buffer) => {
    seen += chunk.length;
    if (seen <= limit) return;
    req.off('data', onData);
    req.pause();
    closeAfterResponse(req, res);
  };
  req.on('data', onData);
  req.on('error', () => {});
  req.resume();
}

/**
 * The request body, at most `limit` bytes. A larger body (declared or sent) throws
 * `RequestRefused` with `code` (413) after at most `limit` bytes were read.
 */
export function readBody(req: IncomingMessage, limit: number, code: 'BODY_TOO_LARGE' | 'FEEDBACK_TOO_LARGE' = 'BODY_TOO_LARGE'): Promise<Buffer> {
  const tooLarge = () => new RequestRefused(code, `body is larger than ${limit} bytes`, 413);
  const declared = req.headers['content-length'];
  if (declared !== undefined && !/^\d+$/.test(declared)) return Promise.reject(new RequestRefused('BAD_REQUEST', 'content-length is not a number', 400));
  if (Number(declared ?? 0) > limit) return Promise.reject(tooLarge());
  // Listeners, not `for await`: leaving an async iterator early destroys the request and with it
  // the socket, and the reset would swallow the 413 this throws.
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const stop = (err: Error | null) => {
      req.off('data', onData).off('end', onEnd).off('error', stop).off('close', onClose);
      if (err) {
        req.pause();
        reject(err);
      } else resolve(Buffer.concat(chunks));
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) stop(tooLarge());
      else chunks.push(chunk);
    };
    const onEnd = () => stop(null);
    const onClose = () => stop(new RequestRefused('BAD_REQUEST', 'the client closed the connection before the whole body arrived', 400));
    req.on('data', onData).once('end', onEnd).once('error', stop).once('close', onClose);
  });
}

/**
 * Sends an error as JSON `{error, code}` without reading the rest of the body, then closes the
 * connection gently: half-close, and a bounded number of body bytes discarded for a bounded time
 * (./lingering_close.ts), so a client still sending reads the status and code. Safe to call when
 * headers were already sent (then it only ends).
 */
export function sendError(req: IncomingMessage, res: ServerResponse, status: number, error: string, code: string, extra: Record<string, string> = {}): void {
  closeAfterResponse(req, res);
  if (res.headersSent) res.end();
  else res.writeHead(status, { 'content-type': 'application/json', connection: 'close', ...extra }).end(JSON.stringify({ error, code }));
}
