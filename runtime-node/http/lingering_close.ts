/**
 * Lingering close, as nginx and Apache do it: a server that refuses a request before reading its
 * body (401, 413, 415, …) must still get its answer to a client that is busy sending. Closing
 * the socket with unread bytes in its receive buffer makes the kernel send a reset, and a reset
 * makes the client's kernel throw away the response it had not read yet: the client sees EPIPE
 * or ECONNRESET, never the status and code. So the refused body is not read, the response is
 * written with `Connection: close`, the write side is half-closed (FIN after the response), and
 * whatever still arrives is read and discarded — up to a byte cap and for a bounded time — until
 * the client closes its side. Only then, or at the cap or the timeout, is the socket destroyed.
 *
 * Node's HTTP server ends a `Connection: close` response with `socket.destroySoon()`, which
 * destroys the socket as soon as the response is flushed (the reset above); this module replaces
 * that call on the one socket being closed, so every other connection keeps Node's behaviour.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/** How long and how much a refused connection is drained after its response. */
export interface LingerOptions {
  /**
   * Bytes read and discarded after the response before the socket is destroyed: enough for a
   * client writing at local-network speed to notice the response and stop. @default 8 MiB
   */
  maxBytes?: number;
  /** Time the client is given to read the response and close, milliseconds. @default 2000 */
  timeoutMs?: number;
}

/** Defaults of LingerOptions (nginx lingers up to 30 s; a refused upload needs far less). */
export const DEFAULT_LINGER: Required<LingerOptions> = { maxBytes: 8 << 20, timeoutMs: 2000 };

/** Sockets already lingering (a second refusal on one socket must not start a second drain). */
const lingering = new WeakSet<Socket>();

/** Half-closes the connection of `req` and drains it within the bounds, then destroys it. */
function linger(req: IncomingMessage, o: Required<LingerOptions>): void {
  const socket = req.socket;
  if (socket.destroyed || lingering.has(socket)) return;
  lingering.add(socket);
  let seen = 0;
  const count = (chunk: Buffer) => {
    seen += chunk.length;
    if (seen > o.maxBytes) socket.destroy();
  };
  const timer = setTimeout(() => socket.destroy(), o.timeoutMs);
  timer.unref();
  socket.on('error', () => {});
  req.on('error', () => {});
  // Node's HTTP parser reads the socket itself, so the rest of the body arrives as the request's
  // data; bytes past the body (if any) as the socket's.
  req.on('data', count);
  socket.on('data', count);
  // The client read the response and closed its side: nothing is left to discard.
  socket.once('end', () => socket.destroy());
  socket.once('close', () => clearTimeout(timer));
  socket.end();
  req.resume();
  // The parser stopped the socket's reads when the unread body filled the request's buffer, and
  // a flowing request does not restart them once the response has ended it.
  const handle = (socket as unknown as { _handle?: { reading?: boolean; readStart?(): number } })._handle;
  if (handle?.readStart && !handle.reading) {
    handle.reading = true;
    handle.readStart();
  }
}

/**
 * Makes `res` the connection's last response and lingers after it: the response goes out with
 * `Connection: close`, then the socket is half-closed and drained within `options` before it is
 * destroyed. Call it before or after writing the response; the body is never read for it.
 */
export function closeAfterResponse(req: IncomingMessage, res: ServerResponse, options: LingerOptions = {}): void {
  const o = { ...DEFAULT_LINGER, ...options };
  const socket = req.socket;
  if (!socket || socket.destroyed) return;
  if (res.writableFinished) return linger(req, o);
  if (!res.headersSent) res.shouldKeepAlive = false;
  // A kept-alive response already under way is not the last one: linger once it is flushed.
  if (res.headersSent && res.shouldKeepAlive) return void res.once('finish', () => linger(req, o));
  socket.destroySoon = () => linger(req, o);
}
