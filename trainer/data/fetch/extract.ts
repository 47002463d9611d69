/**
 * Safe extraction of a .tar.gz with node-tar, streamed from disk (1 MiB reads, gunzip and untar as
 * the bytes flow; the archive is never in memory). Entries go to a staging directory first and
 * move into place only when the whole archive has extracted, so a corrupt or refused archive
 * leaves nothing behind that looks like data. Refused outright (ARCHIVE_UNSAFE), since the
 * datasets edgeseg fetches hold neither: an entry whose path is absolute or climbs out with `..`,
 * and any entry that is not a plain file or directory (symbolic and hard links, devices, FIFOs),
 * which could make a later write land outside the target.
 */
import { createReadStream, existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Unpack, type ReadEntry } from 'tar';
import { DatasetFetchError, describeError } from '../../../core/index.js';

const PLAIN_TYPES = new Set(['File', 'OldFile', 'ContiguousFile', 'Directory']);

/** Why an entry may not be extracted, or null when it is a plain file or directory inside the target. */
export function unsafeEntry(path: string, type: string): string | null {
  if (!PLAIN_TYPES.has(type)) return `'${path}' is a ${type} entry (only files and directories are extracted)`;
  const p = path.replace(/\\/g, '/');
  if (p.startsWith('/') || /^[A-Za-z]:/.test(p) || p.split('/').includes('..')) return `'${path}' would land outside the target directory`;
  return null;
}

export interface ExtractOptions {
  /** Called as compressed bytes are read: bytes so far. */
  onProgress?(bytesRead: number): void;
}

/** Extracts `archive` into `staging` (created; removed first if present). Throws ARCHIVE_UNSAFE or ARCHIVE_CORRUPT and removes `staging` on failure. */
export async function extractTarGz(archive: string, staging: string, options: ExtractOptions = {}): Promise<{ entries: number }> {
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  let entries = 0;
  let refused: string | null = null;
  try {
    await new Promise<void>((resolve, reject) => {
      const unpack: Unpack = new Unpack({
        cwd: staging,
        gzip: true,
        // Any warning (a truncated archive, a bad header) is an error: half an archive is no dataset.
        strict: true,
        preservePaths: false,
        // Whoever packed the archive owns nothing here.
        preserveOwner: false,
        filter: (path: string, entry: unknown) => {
          const why = unsafeEntry(path, (entry as ReadEntry).type);
          if (why) {
            refused ??= why;
            unpack.abort(new Error(why));
            return false;
          }
          entries++;
          return true;
        },
      });
      const input = createReadStream(archive, { highWaterMark: 1 << 20 });
      let read = 0;
      input.on('data', (chunk) => options.onProgress?.((read += chunk.length)));
      const fail = (err: unknown) => {
        input.destroy();
        reject(err);
      };
      input.on('error', fail);
      unpack.on('error', fail);
      unpack.on('close', () => resolve());
      input.pipe(unpack);
    });
  } catch (err) {
    rmSync(staging, { recursive: true, force: true });
    if (refused) throw new DatasetFetchError('ARCHIVE_UNSAFE', `${archive}: refused: ${refused}`);
    throw new DatasetFetchError('ARCHIVE_CORRUPT', `${archive} cannot be extracted: ${describeError(err)}`, { cause: err });
  }
  return { entries };
}

/** Moves every top-level entry of `staging` into `dir` (replacing what is there by that name) and removes `staging`. */
export function moveIntoPlace(staging: string, dir: string): void {
  for (const name of readdirSync(staging)) {
    const target = join(dir, name);
    if (existsSync(target)) rmSync(target, { recursive: true, force: true });
    renameSync(join(staging, name), target);
  }
  rmSync(staging, { recursive: true, force: true });
}
