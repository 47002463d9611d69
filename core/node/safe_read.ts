/**
 * Reading files a hostile or careless user names: a model file, the shards its manifest lists, a
 * registry file. Every read is of a regular file (never `/dev/zero`, a FIFO or a directory), of
 * a size checked against a cap before anything is allocated, and read exactly (a file that
 * shrinks or grows while read is refused, not half-used). Paths a file names (a weights
 * manifest's shard paths) resolve inside their folder, symlinks followed. OS errors become a
 * FileAccessError naming the path and the reason, never a raw ENOENT/ENAMETOOLONG/ENOTDIR.
 */
import { closeSync, fstatSync, openSync, readSync, realpathSync, type Stats } from 'node:fs';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { EdgesegError, FileAccessError } from '../errors.js';

/** Largest single model file edgeseg reads (a version's weights, an imported model, an archive entry): far above a U-Net's few MiB. */
export const MAX_MODEL_FILE_BYTES = 1 << 30;

/** Plain words for the OS errors users meet on paths they typed. */
const OS_REASONS: Readonly<Record<string, string>> = {
  ENOENT: 'no such file or folder',
  ENOTDIR: 'a part of the path is a file, not a folder',
  EISDIR: 'it is a folder, not a file',
  ENAMETOOLONG: 'the name is too long for the file system',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ELOOP: 'too many symbolic links',
  EMFILE: 'too many open files',
  ENOSPC: 'no space left on the device',
  EROFS: 'the file system is read-only',
  EEXIST: 'it already exists',
};

/**
 * An OS error (or anything thrown by fs) → a named error saying which path and why; a named
 * edgeseg error passes through. `what` says what the path is ("model file", "--models folder").
 */
export function osError(err: unknown, path: string, what: string): EdgesegError {
  if (err instanceof EdgesegError) return err;
  const code = (err as NodeJS.ErrnoException)?.code;
  const reason = (code && OS_REASONS[code]) ?? (err as Error)?.message ?? String(err);
  return new FileAccessError(code === 'ENOENT' ? 'FILE_NOT_FOUND' : 'FILE_UNREADABLE', path, `${what} ${path}: ${reason}${code ? ` (${code})` : ''}`, { cause: err });
}

/** Runs `fn`, turning any OS error it throws into `osError(…, path, what)`. */
export function withOsErrors<T>(path: string, what: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw osError(err, path, what);
  }
}

/** How a capped read is checked. */
export interface ReadCapOptions {
  /** Largest size accepted, bytes: checked on the file's size before any buffer is allocated. */
  maxBytes: number;
  /** The size the file must have (a manifest's declared shard size). @default any size up to maxBytes */
  expectedBytes?: number;
  /** What the file is, for messages. @default 'file' */
  what?: string;
}

function regularFile(fd: number, path: string, what: string): Stats {
  const st = fstatSync(fd);
  if (!st.isFile()) throw new FileAccessError('FILE_NOT_REGULAR', path, `${what} ${path} is not a regular file (${st.isDirectory() ? 'a folder' : 'a device, FIFO or socket'})`);
  return st;
}

/**
 * The bytes of the regular file at `path`, at most `maxBytes` (and exactly `expectedBytes` when
 * given). The size is checked on the open file before allocating; the read must return exactly
 * that many bytes.
 */
export function readFileCapped(path: string, o: ReadCapOptions): Buffer {
  const what = o.what ?? 'file';
  const fd = withOsErrors(path, what, () => openSync(path, 'r'));
  try {
    const st = withOsErrors(path, what, () => regularFile(fd, path, what));
    if (st.size > o.maxBytes) throw new FileAccessError('FILE_TOO_LARGE', path, `${what} ${path} is ${st.size} bytes; the limit is ${o.maxBytes}`);
    if (o.expectedBytes !== undefined && st.size !== o.expectedBytes) {
      throw new FileAccessError('FILE_SIZE_MISMATCH', path, `${what} ${path} is ${st.size} bytes; ${o.expectedBytes} were declared for it`);
    }
    const out = Buffer.allocUnsafe(st.size);
    let got = 0;
    while (got < st.size) {
      const n = withOsErrors(path, what, () => readSync(fd, out, got, st.size - got, got));
      if (n === 0) break;
      got += n;
    }
    // One more byte than declared means the file grew while it was read: its size is not its size.
    const extra = withOsErrors(path, what, () => readSync(fd, Buffer.alloc(1), 0, 1, got));
    if (got !== st.size || extra !== 0) throw new FileAccessError('FILE_SIZE_MISMATCH', path, `${what} ${path} changed size while it was read`);
    return out;
  } finally {
    closeSync(fd);
  }
}

/** The first `n` bytes of the regular file at `path` (fewer when it is shorter), without reading the rest. */
export function readFileHead(path: string, n: number, what = 'file'): Buffer {
  const fd = withOsErrors(path, what, () => openSync(path, 'r'));
  try {
    withOsErrors(path, what, () => regularFile(fd, path, what));
    const out = Buffer.alloc(n);
    const got = withOsErrors(path, what, () => readSync(fd, out, 0, n, 0));
    return out.subarray(0, got);
  } finally {
    closeSync(fd);
  }
}

/**
 * `rel` (a path a file names, e.g. a weights manifest's shard) resolved inside `dir`: relative,
 * no `..` that leaves it, and — symlinks followed — still inside `dir`'s real path. Throws
 * PATH_OUTSIDE_FOLDER otherwise, FILE_NOT_FOUND when it does not exist.
 */
export function resolveInside(dir: string, rel: string, what = 'file'): string {
  if (typeof rel !== 'string' || rel.length === 0 || rel.includes('\0') || isAbsolute(rel) || /^[A-Za-z]:/.test(rel) || rel.includes('\\')) {
    throw new FileAccessError('PATH_OUTSIDE_FOLDER', String(rel), `${what} path ${JSON.stringify(String(rel).slice(0, 200))} must be a relative path inside ${dir}`);
  }
  const base = withOsErrors(dir, 'folder', () => realpathSync(dir));
  const joined = resolve(base, rel);
  const inside = (p: string) => {
    const r = relative(base, p);
    return r !== '' && !r.startsWith(`..${sep}`) && r !== '..' && !isAbsolute(r);
  };
  if (!inside(joined)) throw new FileAccessError('PATH_OUTSIDE_FOLDER', rel, `${what} path ${JSON.stringify(rel.slice(0, 200))} leaves ${dir}`);
  const real = withOsErrors(joined, what, () => realpathSync(joined));
  if (!inside(real)) throw new FileAccessError('PATH_OUTSIDE_FOLDER', rel, `${what} path ${JSON.stringify(rel.slice(0, 200))} is a link to ${real}, outside ${dir}`);
  return real;
}
