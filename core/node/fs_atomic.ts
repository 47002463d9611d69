/**
 * Atomic file writes and a cross-process lock, for files several processes touch: the model
 * registry (trainer, converter, loop, watchers) and the feedback store.
 */
import { closeSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { EdgesegError } from '../index.js';

/** Writes via a temporary file and rename, so readers see the old or the new content, never a mix. */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** How long withLock waits for a lock held by someone else, and when a lock counts as stale. */
export interface LockOptions {
  /** Give up after this long. @default 10000 (ms) */
  timeoutMs?: number;
  /** A lock older than this whose owner is gone is taken over. @default 30000 (ms) */
  staleMs?: number;
}

/**
 * Runs `body` while holding `<path>.lock` (created with O_EXCL; holds the owner's pid). A lock
 * left by a killed process is taken over. Throws `LOCK_TIMEOUT` (retriable) when busy too long.
 */
export async function withLock<T>(path: string, body: () => T | Promise<T>, options: LockOptions = {}): Promise<T> {
  const { timeoutMs = 10_000, staleMs = 30_000 } = options;
  const lock = `${path}.lock`;
  mkdirSync(dirname(lock), { recursive: true });
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = openSync(lock, 'wx');
      writeFileSync(fd, String(process.pid));
      closeSync(fd);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      let owner = NaN;
      let age = 0;
      try {
        owner = Number(readFileSync(lock, 'utf8'));
        age = Date.now() - statSync(lock).mtimeMs;
      } catch {
        continue; // released between our open and read
      }
      if ((Number.isInteger(owner) && owner > 0 && !pidAlive(owner)) || age > staleMs) {
        rmSync(lock, { force: true });
        continue;
      }
      if (Date.now() > deadline) {
        throw new EdgesegError('LOCK_TIMEOUT', `${lock} is held by process ${owner}; gave up after ${timeoutMs} ms`, { retriable: true });
      }
      await sleep(Math.min(100, 5 * 2 ** Math.min(attempt, 5)));
    }
  }
  try {
    return await body();
  } finally {
    rmSync(lock, { force: true });
  }
}
