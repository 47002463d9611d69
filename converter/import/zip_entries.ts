/**
 * The few entries `edgeseg import` needs from a `.keras` zip, inflated under a cap. A zip says
 * how large each entry inflates to, but nothing holds it to that: a 3 MiB entry can inflate to
 * 3 GiB (and V8 aborts on a string that large, it does not throw). So the archive is streamed
 * through fflate's `Unzip` in small slices (each slice inflates to at most ~1000× its size), the
 * declared size is checked before an entry starts, and the bytes actually produced are counted as
 * they come: an entry past its cap stops the read with IMPORT_MALFORMED before more is allocated.
 */
import { Unzip, UnzipInflate } from 'fflate';
import { ImportError } from '../../core/errors.js';

/** Compressed bytes pushed at once: bounds what one push can inflate to (deflate's ratio is at most ~1032:1). */
const SLICE_BYTES = 16 * 1024;

/** Entries read by name, each up to its cap in bytes; absent entries are absent from the result. */
export function readZipEntries(bytes: Uint8Array, file: string, caps: Readonly<Record<string, number>>): Record<string, Uint8Array> {
  const out: Record<string, Uint8Array> = {};
  let failure: ImportError | null = null;
  const fail = (message: string, cause?: unknown) => {
    failure ??= new ImportError('IMPORT_MALFORMED', message, cause === undefined ? {} : { cause });
  };
  const unzip = new Unzip((entry) => {
    const cap = Object.hasOwn(caps, entry.name) ? caps[entry.name] : undefined;
    // Unwanted entries, and a second entry of a name already read, are skipped without inflating.
    if (cap === undefined || entry.name in out || failure) return;
    if (entry.originalSize !== undefined && entry.originalSize > cap) {
      return fail(`${file}/${entry.name} declares ${entry.originalSize} bytes; the limit is ${cap}`);
    }
    const chunks: Uint8Array[] = [];
    let size = 0;
    entry.ondata = (err, chunk, final) => {
      if (failure) return;
      if (err) return fail(`${file}/${entry.name} cannot be inflated: ${err.message}`, err);
      size += chunk.length;
      if (size > cap) {
        entry.terminate();
        return fail(`${file}/${entry.name} inflates past ${cap} bytes (a zip bomb, or a file too large to import)`);
      }
      chunks.push(chunk);
      if (final) {
        const whole = new Uint8Array(size);
        let at = 0;
        for (const c of chunks) {
          whole.set(c, at);
          at += c.length;
        }
        out[entry.name] = whole;
      }
    };
    entry.start();
  });
  unzip.register(UnzipInflate);
  try {
    for (let at = 0; at < bytes.length && !failure; at += SLICE_BYTES) unzip.push(bytes.subarray(at, at + SLICE_BYTES), at + SLICE_BYTES >= bytes.length);
  } catch (err) {
    fail(`${file} is not a readable zip (a .keras file is one): ${(err as Error).message}`, err);
  }
  if (failure) throw failure;
  return out;
}
