/**
 * Mask codecs shared by every part: class-id PNG and RLE. Both are pure JavaScript so the
 * browser and Node produce byte-identical encodings (no canvas or libvips colour handling in
 * between).
 *
 * ## RLE format (`rle1`)
 * ```json
 * { "encoding": "rle1", "width": 128, "height": 128, "counts": [1, 300, 0, 12, 2, 4, …] }
 * ```
 * `counts` holds (classId, runLength) pairs over the pixels in row-major order (left to right,
 * top to bottom). Runs may cross row ends; every run length is ≥ 1; two neighbouring runs never
 * hold the same class; the run lengths sum to width × height.
 *
 * ## PNG format
 * Written as 8-bit greyscale, non-interlaced, one byte per pixel holding the class id (0 … the
 * model's class count − 1, at most 255).
 * Read in any colour type and bit depth (1/2/4/8/16) by colour value: the first channel, and for
 * a palette PNG the first channel of the pixel's palette colour (its grey level for the grey
 * palettes label tools write), never the palette index, which an image library picks freely.
 * So label maps saved by image editors and datasets (e.g. 2-bit palette trimaps) load as they are. Sizes are bounded before anything is inflated (`PngMaskLimits`).
 */
import { decode as decodePng, encode as encodePng } from 'fast-png';
import { Unzlib } from 'fflate';
import { MAX_CLASSES, MAX_SIDE, NUM_CLASSES } from './contract.js';
import { ContractError, MaskCodecError } from './errors.js';
import type { ClassMask } from './preprocess.js';

/** A class-id mask run-length encoded (`rle1`): `counts` holds (class id, run length) pairs, row-major. */
export interface RleMask {
  encoding: 'rle1';
  width: number;
  height: number;
  counts: number[];
}

/** Run-length encodes a class-id mask. */
export function encodeRle(mask: ClassMask): RleMask {
  checkSize(mask);
  const counts: number[] = [];
  const d = mask.data;
  let i = 0;
  while (i < d.length) {
    const v = d[i];
    let j = i + 1;
    while (j < d.length && d[j] === v) j++;
    counts.push(v, j - i);
    i = j;
  }
  return { encoding: 'rle1', width: mask.width, height: mask.height, counts };
}

/**
 * Decodes an `rle1` mask; throws MaskCodecError when it is malformed, its runs do not fill
 * width × height or a run's class is not below `classes` (the model's, `classCountOf(card)`;
 * default edgeseg's own 3).
 */
export function decodeRle(rle: RleMask, classes: number = NUM_CLASSES): ClassMask {
  checkClassCount(classes);
  if (rle === null || typeof rle !== 'object' || rle.encoding !== 'rle1') {
    throw new MaskCodecError(`RLE mask must be an object with encoding 'rle1'`);
  }
  const { width, height, counts } = rle;
  checkSize({ width, height, data: new Uint8Array(0) }, false);
  if (!Array.isArray(counts) || counts.length % 2 !== 0) {
    throw new MaskCodecError('RLE counts must be an array of (classId, runLength) pairs');
  }
  const total = width * height;
  const data = new Uint8Array(total);
  let pos = 0;
  for (let k = 0; k < counts.length; k += 2) {
    const value = counts[k];
    const run = counts[k + 1];
    if (!Number.isInteger(value) || value < 0 || value >= classes) {
      throw new MaskCodecError(`RLE run ${k / 2} has class ${value}; class ids are 0–${classes - 1}`);
    }
    if (!Number.isInteger(run) || run < 1) throw new MaskCodecError(`RLE run ${k / 2} has length ${run}; lengths are ≥ 1`);
    if (pos + run > total) throw new MaskCodecError(`RLE runs cover more than ${width}x${height} = ${total} pixels`);
    data.fill(value, pos, pos + run);
    pos += run;
  }
  if (pos !== total) throw new MaskCodecError(`RLE runs cover ${pos} pixels, expected ${total}`);
  return { data, width, height };
}

function checkClassCount(classes: number): void {
  if (!Number.isInteger(classes) || classes < 1 || classes > MAX_CLASSES) throw new ContractError(`class count must be 1–${MAX_CLASSES} (ids fit a byte), got ${classes}`);
}

function checkSize(mask: ClassMask, checkData = true): void {
  const { width, height } = mask;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1 || width > MAX_SIDE || height > MAX_SIDE) {
    throw new MaskCodecError(`mask size must be 1–${MAX_SIDE} pixels per side, got ${width}x${height}`);
  }
  if (checkData && mask.data.length !== width * height) {
    throw new MaskCodecError(`mask has ${mask.data.length} bytes, expected ${width * height} for ${width}x${height}`);
  }
}

// ---------------------------------------------------------------------------------------------
// PNG (fast-png: a maintained pure-JS codec, the same bytes in Node and the browser)

const PNG_SIGNATURE = Uint8Array.of(137, 80, 78, 71, 13, 10, 26, 10);

/** Samples per pixel of each PNG colour type. */
const CHANNELS_BY_COLOR_TYPE: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };
const DEPTHS_BY_COLOR_TYPE: Record<number, number[]> = { 0: [1, 2, 4, 8, 16], 2: [8, 16], 3: [1, 2, 4, 8], 4: [8, 16], 6: [8, 16] };

/** Bounds a PNG mask is held to before any of it is inflated. */
export interface PngMaskLimits {
  /** Largest width or height. @default 16384 */
  maxSide?: number;
  /** Largest inflated image data (filtered scanlines), bytes. @default 64 MiB */
  maxInflatedBytes?: number;
}

/** Size bounds a PNG mask is checked against before it is inflated. */
export const DEFAULT_PNG_MASK_LIMITS: Required<PngMaskLimits> = { maxSide: 16384, maxInflatedBytes: 64 << 20 };

/** Class-id mask → 8-bit greyscale PNG bytes. */
export function encodeMaskPng(mask: ClassMask): Uint8Array {
  checkSize(mask);
  return encodePng({ width: mask.width, height: mask.height, data: mask.data, depth: 8, channels: 1 });
}

/**
 * PNG bytes → class-id mask. Throws `MASK_INVALID` for anything that is not a PNG of class ids
 * below `classes` (the model's, `classCountOf(card)`; default edgeseg's own 3), in any colour type
 * and bit depth (by colour value, palettes included).
 */
export function decodeMaskPng(bytes: Uint8Array, limits: PngMaskLimits = {}, classes: number = NUM_CLASSES): ClassMask {
  checkClassCount(classes);
  const mask = decodePngChannel(bytes, limits);
  for (let i = 0; i < mask.data.length; i++) {
    if (mask.data[i] >= classes) throw new MaskCodecError(`PNG mask value ${mask.data[i]} at pixel ${i} is not a class id (0–${classes - 1})`);
  }
  return mask;
}

interface PngHeader {
  width: number;
  height: number;
  depth: number;
  colorType: number;
  interlace: number;
  idat: Uint8Array[];
}

/** Walks the chunks without inflating anything: the header, and the compressed image data. */
function readPngHeader(bytes: Uint8Array): PngHeader {
  if (bytes.length < PNG_SIGNATURE.length + 25 || PNG_SIGNATURE.some((b, i) => bytes[i] !== b)) throw new MaskCodecError('not a PNG file (bad signature)');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = PNG_SIGNATURE.length;
  let header: Omit<PngHeader, 'idat'> | null = null;
  const idat: Uint8Array[] = [];
  for (;;) {
    if (pos + 12 > bytes.length) throw new MaskCodecError('PNG is truncated (no IEND chunk)');
    const len = view.getUint32(pos);
    const type = String.fromCharCode(bytes[pos + 4], bytes[pos + 5], bytes[pos + 6], bytes[pos + 7]);
    const start = pos + 8;
    if (len > bytes.length - start - 4) throw new MaskCodecError(`PNG chunk ${type} is truncated`);
    if (header === null && type !== 'IHDR') throw new MaskCodecError('PNG does not start with an IHDR chunk');
    if (type === 'IHDR') {
      if (len !== 13) throw new MaskCodecError('PNG IHDR chunk has the wrong length');
      header = { width: view.getUint32(start), height: view.getUint32(start + 4), depth: bytes[start + 8], colorType: bytes[start + 9], interlace: bytes[start + 12] };
    } else if (type === 'IDAT') {
      idat.push(bytes.subarray(start, start + len));
    } else if (type === 'IEND') {
      return { ...header!, idat };
    }
    pos = start + len + 4;
  }
}

/** Width and height a PNG declares, read from its header without inflating anything. */
export function pngSize(bytes: Uint8Array): { width: number; height: number } {
  const { width, height } = readPngHeader(bytes);
  return { width, height };
}

/** Bytes of the filtered scanlines a header implies (what the image data must inflate to). */
function inflatedSize(h: PngHeader): number {
  const bitsPerPixel = CHANNELS_BY_COLOR_TYPE[h.colorType] * h.depth;
  const rows = (w: number, n: number) => (w > 0 && n > 0 ? n * (1 + Math.ceil((w * bitsPerPixel) / 8)) : 0);
  if (h.interlace === 0) return rows(h.width, h.height);
  const passes = [[0, 0, 8, 8], [4, 0, 8, 8], [0, 4, 4, 8], [2, 0, 4, 4], [0, 2, 2, 4], [1, 0, 2, 2], [0, 1, 1, 2]];
  return passes.reduce((n, [x, y, dx, dy]) => n + rows(Math.ceil((h.width - x) / dx), Math.ceil((h.height - y) / dy)), 0);
}

/**
 * Inflates the image data in small slices and stops as soon as it grows past `cap`, so a
 * deflate bomb costs at most `cap` plus one slice's worth of output (deflate expands ≤ 1032×).
 */
function checkInflatesTo(idat: Uint8Array[], expected: number): void {
  let produced = 0;
  let over = false;
  const stream = new Unzlib((chunk) => {
    produced += chunk.length;
    if (produced > expected) over = true;
  });
  const SLICE = 1024;
  try {
    for (const part of idat) {
      for (let o = 0; o < part.length && !over; o += SLICE) stream.push(part.subarray(o, Math.min(part.length, o + SLICE)));
      if (over) break;
    }
    if (!over) stream.push(new Uint8Array(0), true);
  } catch (err) {
    throw new MaskCodecError('PNG image data does not inflate', { cause: err });
  }
  if (over) throw new MaskCodecError(`PNG image data inflates past the ${expected} bytes its header declares`);
  if (produced !== expected) throw new MaskCodecError(`PNG image data inflates to ${produced} bytes, its header declares ${expected}`);
}

/**
 * PNG bytes → the raw values of its first channel (of the palette colour for palette PNGs), unchecked.
 * Used for label maps in other conventions, like Oxford trimaps {1, 2, 3}. Declared size and
 * inflated size are checked against `limits` before the image data is inflated.
 */
export function decodePngChannel(bytes: Uint8Array, limits: PngMaskLimits = {}): ClassMask {
  const { maxSide, maxInflatedBytes } = { ...DEFAULT_PNG_MASK_LIMITS, ...limits };
  const h = readPngHeader(bytes);
  if (!(h.colorType in CHANNELS_BY_COLOR_TYPE)) throw new MaskCodecError(`PNG colour type ${h.colorType} does not exist`);
  if (!DEPTHS_BY_COLOR_TYPE[h.colorType].includes(h.depth)) throw new MaskCodecError(`PNG bit depth ${h.depth} is not valid for colour type ${h.colorType}`);
  if (h.interlace > 1) throw new MaskCodecError(`PNG interlace method ${h.interlace} does not exist`);
  // fast-png's Adam7 path treats sub-byte samples as whole bytes; such files are rare and refused by name.
  if (h.interlace === 1 && h.depth < 8) throw new MaskCodecError(`interlaced PNGs with bit depth ${h.depth} are not supported for masks (save without interlacing)`);
  if (h.width < 1 || h.height < 1 || h.width > maxSide || h.height > maxSide) throw new MaskCodecError(`mask size must be 1–${maxSide} pixels per side, got ${h.width}x${h.height}`);
  const expected = inflatedSize(h);
  if (expected > maxInflatedBytes) throw new MaskCodecError(`PNG ${h.width}x${h.height} (${h.depth}-bit, colour type ${h.colorType}) would inflate to ${expected} bytes, over the ${maxInflatedBytes}-byte limit`);
  if (h.idat.length === 0) throw new MaskCodecError('PNG has no image data (IDAT)');
  checkInflatesTo(h.idat, expected);
  let png;
  try {
    png = decodePng(bytes, { checkCrc: true });
  } catch (err) {
    throw new MaskCodecError(`PNG cannot be decoded: ${(err as Error).message}`, { cause: err });
  }
  const { width, height, channels, depth } = png;
  const data = new Uint8Array(width * height);
  if (depth < 8) {
    // Sub-byte samples come packed, rows padded to whole bytes, most significant bits first.
    const stride = Math.ceil((width * depth) / 8);
    const mask = (1 << depth) - 1;
    const src = png.data as Uint8Array;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const bit = x * depth;
        data[y * width + x] = (src[y * stride + (bit >> 3)] >> (8 - depth - (bit & 7))) & mask;
      }
    }
  } else {
    const src = png.data;
    for (let i = 0; i < data.length; i++) {
      const v = src[i * channels];
      if (v > 255) throw new MaskCodecError(`16-bit PNG mask value ${v} at pixel ${i} does not fit a label (0–255)`);
      data[i] = v;
    }
  }
  if (h.colorType === 3) paletteValues(data, png.palette);
  return { data, width, height };
}

/** Palette indices → the first channel of their palette colour, in place. */
function paletteValues(data: Uint8Array, palette: ArrayLike<ArrayLike<number>> | undefined): void {
  if (!palette || palette.length === 0) throw new MaskCodecError('palette PNG has no palette (PLTE chunk)');
  const values = Uint8Array.from({ length: palette.length }, (_, k) => palette[k][0]);
  for (let i = 0; i < data.length; i++) {
    if (data[i] >= values.length) throw new MaskCodecError(`PNG palette index ${data[i]} at pixel ${i} is past its ${values.length}-entry palette`);
    data[i] = values[data[i]];
  }
}

/** Base64 of bytes, platform-free (Kafka JSON messages and HTTP bodies carry PNG masks this way). */
export function toBase64(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

/** Bytes of a base64 string (Node and browsers). */
export function fromBase64(text: string): Uint8Array {
  let s: string;
  try {
    s = atob(text);
  } catch (err) {
    throw new MaskCodecError('mask is not valid base64', { cause: err });
  }
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}
