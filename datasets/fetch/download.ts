/**
 * One file over HTTP(S), resumable: bytes land in `<dest>.part`; an interrupted transfer is
 * retried with `Range: bytes=<part size>-` and appended to, and the part becomes `<dest>` only
 * when its size matches what the server declared (Content-Length of a full response, the total of
 * a 206's Content-Range). A server that ignores Range (200) starts the part over; one whose 206
 * starts elsewhere than asked starts it over too. Chunks are written as they arrive, never held.
 * The transfer stops at the expected size: the declared total, or `maxBytes` when the server
 * declares none (an endless body) — a byte past it is SIZE_MISMATCH, not a full disk.
 */
import { existsSync, renameSync, rmSync, statSync, truncateSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { DatasetFetchError } from '../../core/index.js';
import { describeError } from '../../core/errors.js';

export interface DownloadOptions {
  /** Attempts in all, the first included, before DOWNLOAD_FAILED. @default 5 */
  attempts?: number;
  /** Wait before retry k is k × this, in ms. @default 500 */
  retryDelayMs?: number;
  /** Abort an attempt when no byte arrives for this long, in ms. @default 60000 */
  idleTimeoutMs?: number;
  /** Largest file accepted, bytes (a pinned size, or a bound for servers that declare none); the transfer stops past it. @default DEFAULT_MAX_DOWNLOAD_BYTES (4 GiB) */
  maxBytes?: number;
  /** Called as bytes arrive: bytes on disk so far and the declared total (null when the server gives none). */
  onProgress?(received: number, total: number | null): void;
  /** Called before each retry, with why the previous attempt stopped. */
  onRetry?(attempt: number, reason: string): void;
}

export interface DownloadResult {
  path: string;
  bytes: number;
  /** Attempts made, the successful one included. */
  attempts: number;
  /** Whether some attempt continued a part file with a Range request. */
  resumed: boolean;
}

/** Largest download when the caller pins no size: above any dataset edgeseg fetches. */
export const DEFAULT_MAX_DOWNLOAD_BYTES = 4 * 1024 ** 3;

/** An attempt that stopped early for a reason worth retrying (network, 5xx, a short body). */
class Interrupted extends Error {}

const sizeOf = (path: string) => (existsSync(path) ? statSync(path).size : 0);

/** A Content-Range value (`bytes a-b/N`, or an asterisk for the range of a 416) → { start, total }; null when malformed. */
function parseContentRange(header: string | null): { start: number | null; total: number | null } | null {
  const m = header?.match(/^bytes\s+(?:(\d+)-\d+|\*)\/(\d+|\*)$/);
  if (!m) return null;
  return { start: m[1] === undefined ? null : Number(m[1]), total: m[2] === '*' ? null : Number(m[2]) };
}

async function attempt(url: string, part: string, o: Required<Pick<DownloadOptions, 'idleTimeoutMs' | 'maxBytes'>> & DownloadOptions): Promise<{ total: number | null; resumed: boolean }> {
  const have = sizeOf(part);
  const abort = new AbortController();
  let idle: NodeJS.Timeout | undefined;
  const arm = () => {
    clearTimeout(idle);
    idle = setTimeout(() => abort.abort(new Interrupted(`no data for ${o.idleTimeoutMs} ms`)), o.idleTimeoutMs);
  };
  arm();
  try {
    let res: Response;
    try {
      res = await fetch(url, { headers: have > 0 ? { Range: `bytes=${have}-` } : {}, signal: abort.signal, redirect: 'follow' });
    } catch (err) {
      throw new Interrupted(`request failed: ${describeError((err as Error).cause ?? err)}`);
    }
    if (res.status === 416 && have > 0) {
      await res.body?.cancel();
      // Asked for bytes past the end: the part may already be whole.
      const total = parseContentRange(res.headers.get('content-range'))?.total ?? null;
      if (total === have) return { total, resumed: true };
      truncateSync(part, 0);
      throw new Interrupted(`the server refused the range from byte ${have} (its size: ${total ?? 'unknown'}); starting over`);
    }
    if (res.status >= 500 || res.status === 408 || res.status === 429) {
      await res.body?.cancel();
      throw new Interrupted(`HTTP ${res.status} ${res.statusText}`);
    }
    if (res.status !== 200 && res.status !== 206) {
      await res.body?.cancel();
      throw new DatasetFetchError('DOWNLOAD_FAILED', `${url}: HTTP ${res.status} ${res.statusText}`);
    }
    let total: number | null;
    let resumed = false;
    if (res.status === 206) {
      const range = parseContentRange(res.headers.get('content-range'));
      if (!range || range.start !== have) {
        await res.body?.cancel();
        truncateSync(part, 0);
        throw new Interrupted(`the server answered a range from byte ${have} with '${res.headers.get('content-range')}'; starting over`);
      }
      total = range.total;
      resumed = true;
    } else {
      const length = res.headers.get('content-length');
      total = length === null ? null : Number(length);
      if (have > 0) truncateSync(part, 0);
    }
    const tooLarge = (bytes: number, why: string) => new DatasetFetchError('SIZE_MISMATCH', `${url}: ${why} ${bytes} bytes; at most ${o.maxBytes} are expected; the partial file was removed`);
    if (total !== null && (!Number.isSafeInteger(total) || total > o.maxBytes)) {
      await res.body?.cancel();
      rmSync(part, { force: true });
      throw tooLarge(total, 'the server declares');
    }
    // Past the declared total (or the cap when none is declared) the body is not ours to keep.
    const limit = total ?? o.maxBytes;
    if (!res.body) throw new Interrupted('the response has no body');
    const file = await open(part, 'a');
    let received = resumed ? have : 0;
    let overrun = false;
    try {
      for await (const chunk of res.body) {
        arm();
        if (received + chunk.byteLength > limit) {
          // Leaving the loop cancels the body: nothing more is read.
          overrun = true;
          break;
        }
        await file.write(chunk);
        received += chunk.byteLength;
        o.onProgress?.(received, total);
      }
    } catch (err) {
      throw new Interrupted(`transfer cut after ${received} bytes: ${describeError(abort.signal.reason ?? (err as Error).cause ?? err)}`);
    } finally {
      await file.close();
    }
    if (overrun) {
      rmSync(part, { force: true });
      throw tooLarge(limit, total === null ? 'the body ran past' : 'the body ran past the declared');
    }
    return { total, resumed };
  } finally {
    clearTimeout(idle);
  }
}

/**
 * Downloads `url` to `dest` through `<dest>.part`, resuming a part left by an earlier attempt or
 * run. Throws DOWNLOAD_FAILED (attempts spent, or a 4xx; the part stays for the next run to
 * resume) or SIZE_MISMATCH (more bytes than the server declared; the part is removed).
 */
export async function downloadResumable(url: string, dest: string, options: DownloadOptions = {}): Promise<DownloadResult> {
  const { attempts = 5, retryDelayMs = 500, idleTimeoutMs = 60_000, maxBytes = DEFAULT_MAX_DOWNLOAD_BYTES } = options;
  const part = `${dest}.part`;
  let resumedAny = false;
  let lastReason = '';
  for (let k = 1; k <= attempts; k++) {
    if (k > 1) {
      options.onRetry?.(k, lastReason);
      await sleep(retryDelayMs * (k - 1));
    }
    try {
      const { total, resumed } = await attempt(url, part, { ...options, idleTimeoutMs, maxBytes });
      resumedAny ||= resumed;
      const bytes = sizeOf(part);
      if (total !== null && bytes > total) {
        rmSync(part, { force: true });
        throw new DatasetFetchError('SIZE_MISMATCH', `${url}: received ${bytes} bytes but the server declared ${total}; the partial file was removed`);
      }
      if (total !== null && bytes < total) throw new Interrupted(`the body ended at ${bytes} of ${total} bytes`);
      renameSync(part, dest);
      return { path: dest, bytes, attempts: k, resumed: resumedAny };
    } catch (err) {
      if (!(err instanceof Interrupted)) throw err;
      lastReason = err.message;
    }
  }
  throw new DatasetFetchError('DOWNLOAD_FAILED', `${url}: gave up after ${attempts} attempts (${lastReason}); run again to resume from byte ${sizeOf(part)}`, { retriable: true });
}
