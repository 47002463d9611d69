/**
 * Safe extraction of a .tar.gz with node-tar, streamed from disk (1 MiB reads, gunzip and untar as
 * the bytes flow; the archive is never in memory). Entries go to a staging directory first and
 * move into place only when the whole archive has extracted, so a corrupt or refused archive
 * leaves nothing behind that looks like data. Refused outright (ARCHIVE_UNSAFE), since the
 * datasets edgeseg fetches hold neither: an entry whose path is absolute or climbs out with `..`,
 * and any entry that is not a plain file or directory (symbolic and hard links, devices, FIFOs),
 * which could make a later write land outside the target. The archive inflates under a cap
 * (a gzip bomb — gigabytes of zeros in a few MiB — stops at the cap, it does not run for
 * minutes), and what moves into place is only the folders the caller names, never over what the
 * user already has.
 */
import { createReadStream, existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { Unpack, type ReadEntry } from 'tar';
import { DatasetFetchError } from '../../core/index.js';
import { describeError } from '../../core/errors.js';

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
  /**
   * Most bytes the archive may inflate to. @default max(64 MiB, 16 × the archive's size): a
   * dataset of JPEGs and PNGs hardly compresses; a gzip bomb inflates a thousandfold.
   */
  maxInflatedBytes?: number;
}

/** The default inflated-size cap of an archive of `compressed` bytes. */
export function defaultInflateCap(compressed: number): number {
  return Math.max(64 << 20, 16 * compressed);
}

/** A pass-through that fails once more than `cap` bytes went through it. */
function byteCap(cap: number, onOver: () => Error): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      seen += chunk.length;
      done(seen > cap ? onOver() : null, chunk);
    },
  });
}

/** Extracts `archive` into `staging` (created; removed first if present). Throws ARCHIVE_UNSAFE or ARCHIVE_CORRUPT and removes `staging` on failure. */
export async function extractTarGz(archive: string, staging: string, options: ExtractOptions = {}): Promise<{ entries: number }> {
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  let entries = 0;
  let refused: string | null = null;
  try {
    await new Promise<void>((resolve, reject) => {
      const cap = options.maxInflatedBytes ?? defaultInflateCap(statSync(archive).size);
      const unpack: Unpack = new Unpack({
        cwd: staging,
        gzip: false,
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
      const gunzip = createGunzip();
      const capped = byteCap(cap, () => {
        refused ??= `it inflates past ${cap} bytes (a gzip bomb, or not the archive expected)`;
        return new Error(refused);
      });
      let read = 0;
      input.on('data', (chunk) => options.onProgress?.((read += chunk.length)));
      const fail = (err: unknown) => {
        input.destroy();
        gunzip.destroy();
        capped.destroy();
        reject(err);
      };
      input.on('error', fail);
      gunzip.on('error', fail);
      capped.on('error', fail);
      unpack.on('error', fail);
      unpack.on('close', () => resolve());
      // Two zero blocks end a tar archive; what follows is padding. node-tar keeps buffering it
      // (concatenating every chunk onto the last), so a bomb of zeros would take minutes and its
      // memory: the archive is done, the rest is not read.
      unpack.once('eof', () => {
        input.unpipe();
        gunzip.unpipe();
        capped.unpipe();
        input.destroy();
        gunzip.destroy();
        capped.destroy();
        unpack.end();
      });
      input.pipe(gunzip).pipe(capped).pipe(unpack);
    });
  } catch (err) {
    rmSync(staging, { recursive: true, force: true });
    if (refused) throw new DatasetFetchError('ARCHIVE_UNSAFE', `${archive}: refused: ${refused}`);
    throw new DatasetFetchError('ARCHIVE_CORRUPT', `${archive} cannot be extracted: ${describeError(err)}`, { cause: err });
  }
  return { entries };
}

/**
 * Moves the top-level folders `names` of `staging` into `dir` and removes `staging` (with
 * anything else the archive held). A name that already exists in `dir` is refused with
 * TARGET_EXISTS before anything moves: the user's files are never replaced.
 */
export function moveIntoPlace(staging: string, dir: string, names: readonly string[]): void {
  const taken = names.filter((name) => existsSync(join(dir, name)));
  if (taken.length > 0) {
    rmSync(staging, { recursive: true, force: true });
    throw new DatasetFetchError('TARGET_EXISTS', `${taken.map((n) => join(dir, n)).join(', ')} already exist${taken.length === 1 ? 's' : ''} and ${taken.length === 1 ? 'was' : 'were'} not written by this fetch; move ${taken.length === 1 ? 'it' : 'them'} away or pick another --dir`);
  }
  for (const name of names) renameSync(join(staging, name), join(dir, name));
  rmSync(staging, { recursive: true, force: true });
}
