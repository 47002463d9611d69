/**
 * Class names for `edgeseg import`: `--labels` given as a comma-separated list or as the path of
 * a labels file (one name per line, in output-channel order; the list ends at the first blank
 * line, so notes may follow it, as in PASCAL VOC's labels file), or read from a TFLite model's
 * metadata (the label file packed in the zip that the TFLite Metadata Writer appends to the model).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { unzipSync } from 'fflate';
import { ImportError } from './import_error.js';

/** The longest labels file read, in bytes: 256 classes of 64 characters with room to spare. */
const MAX_LABELS_FILE_BYTES = 1 << 20;

/** Names listed one per line, up to the first blank line (text after it is a note). */
export function parseLabelLines(text: string): string[] {
  const lines = text.split(/\r?\n/).map((l) => l.trim());
  const end = lines.findIndex((l) => l === '');
  return (end === -1 ? lines : lines.slice(0, end)).filter(Boolean);
}

/** `--labels`: an existing file's lines, else a comma-separated list. */
export function parseLabelsOption(value: string): string[] {
  if (existsSync(value) && statSync(value).isFile()) {
    if (statSync(value).size > MAX_LABELS_FILE_BYTES) throw new ImportError('IMPORT_MALFORMED', `labels file ${value} is over ${MAX_LABELS_FILE_BYTES} bytes`, { subject: value });
    return parseLabelLines(readFileSync(value, 'utf8'));
  }
  return value.split(',').map((l) => l.trim());
}

const EOCD_SIGNATURE = [0x50, 0x4b, 0x05, 0x06];

/**
 * Labels packed in the zip a TFLite model's metadata appends to it (a `*label*.txt` entry), or
 * null when the file carries none (no zip at its end, or one that does not unpack).
 */
export function tfliteMetadataLabels(bytes: Uint8Array): string[] | null {
  // The zip's end-of-central-directory record sits in the last 64 KiB + 22 bytes.
  const from = Math.max(0, bytes.length - 65_557);
  let eocd = -1;
  for (let i = bytes.length - 22; i >= from && eocd < 0; i--) if (EOCD_SIGNATURE.every((b, k) => bytes[i + k] === b)) eocd = i;
  if (eocd < 0) return null;
  // Offsets in the zip count from the file's start (Python's zipfile appending, as the Metadata
  // Writer does) or from the zip's own start (a zip concatenated as it is): the central directory
  // ends where the record begins, which tells the two apart.
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const base = eocd - view.getUint32(eocd + 12, true) - view.getUint32(eocd + 16, true);
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(base > 0 ? bytes.subarray(base) : bytes, { filter: (f) => /label[^/]*\.txt$/i.test(f.name) && f.originalSize <= MAX_LABELS_FILE_BYTES });
  } catch {
    return null;
  }
  const name = Object.keys(files).sort()[0];
  return name ? parseLabelLines(new TextDecoder().decode(files[name])) : null;
}
