/** A model version directory packed as a ZIP (createSegmenter's `model` as bytes), unpacked to files by name. */
import { unzipSync } from 'fflate';
import { ModelFormatError } from '../core/errors.js';

/**
 * The files of a ZIP of one version directory, by their names in it. Files may sit at the top or
 * in one folder (`zip -r v.zip 1-uint8/`); the folder is dropped. Checksums are checked later,
 * like those of fetched files.
 */
export function unzipModel(bytes: Uint8Array | ArrayBuffer): Record<string, Uint8Array> {
  let entries: Record<string, Uint8Array>;
  try {
    entries = unzipSync(bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes));
  } catch (err) {
    throw new ModelFormatError('MODEL_MALFORMED', `'model' bytes are not a ZIP of a model version directory (${err instanceof Error ? err.message : String(err)})`);
  }
  const names = Object.keys(entries).filter((n) => !n.endsWith('/'));
  const sums = names.find((n) => n === 'SHA256SUMS' || n.endsWith('/SHA256SUMS'));
  if (!sums) throw new ModelFormatError('MODEL_NOT_FOUND', `the ZIP holds no SHA256SUMS (it has ${names.slice(0, 5).join(', ') || 'no files'}): zip a model version directory`);
  const folder = sums.slice(0, sums.length - 'SHA256SUMS'.length);
  return Object.fromEntries(names.filter((n) => n.startsWith(folder)).map((n) => [n.slice(folder.length), entries[n]]));
}
