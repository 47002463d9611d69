/**
 * Mask codecs shared by every part: class-id PNG and RLE. Both are pure TypeScript so the
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
 * 8-bit greyscale, non-interlaced, one byte per pixel holding the class id (0, 1, 2). The decoder
 * also reads 8-bit palette (index = class id), grey+alpha, RGB and RGBA PNGs (first channel).
 */
import { unzlibSync, zlibSync } from 'fflate';
import { NUM_CLASSES } from './contract.js';
import { MaskCodecError } from './errors.js';
import type { ClassMask } from './preprocess.js';

export interface RleMask {
  encoding: 'rle1';
  width: number;
  height: number;
  counts: number[];
}

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

export function decodeRle(rle: RleMask): ClassMask {
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
    if (!Number.isInteger(value) || value < 0 || value >= NUM_CLASSES) {
      throw new MaskCodecError(`RLE run ${k / 2} has class ${value}; class ids are 0–${NUM_CLASSES - 1}`);
    }
    if (!Number.isInteger(run) || run < 1) throw new MaskCodecError(`RLE run ${k / 2} has length ${run}; lengths are ≥ 1`);
    if (pos + run > total) throw new MaskCodecError(`RLE runs cover more than ${width}x${height} = ${total} pixels`);
    data.fill(value, pos, pos + run);
    pos += run;
  }
  if (pos !== total) throw new MaskCodecError(`RLE runs cover ${pos} pixels, expected ${total}`);
  return { data, width, height };
}

function checkSize(mask: ClassMask, checkData = true): void {
  const { width, height } = mask;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1 || width > 16384 || height > 16384) {
    throw new MaskCodecError(`mask size must be 1–16384 pixels per side, got ${width}x${height}`);
  }
  if (checkData && mask.data.length !== width * height) {
    throw new MaskCodecError(`mask has ${mask.data.length} bytes, expected ${width * height} for ${width}x${height}`);
  }
}

// ---------------------------------------------------------------------------------------------
// PNG

const PNG_SIGNATURE = Uint8Array.of(137, 80, 78, 71, 13, 10, 26, 10);

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(bytes: Uint8Array, start: number, end: number): number {
  let c = 0xffffffff;
  for (let i = start; i < end; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out, 4, 8 + data.length));
  return out;
}

/** Class-id mask → 8-bit greyscale PNG bytes. */
export function encodeMaskPng(mask: ClassMask): Uint8Array {
  checkSize(mask);
  const { width, height, data } = mask;
  const ihdr = new Uint8Array(13);
  const v = new DataView(ihdr.buffer);
  v.setUint32(0, width);
  v.setUint32(4, height);
  ihdr.set([8, 0, 0, 0, 0], 8); // bit depth 8, greyscale, deflate, adaptive filtering, no interlace
  // Filter type 0 (None) on every row: class ids are flat regions that deflate packs well as is.
  const raw = new Uint8Array(height * (width + 1));
  for (let y = 0; y < height; y++) raw.set(data.subarray(y * width, (y + 1) * width), y * (width + 1) + 1);
  const idat = zlibSync(raw, { level: 6 });
  const parts = [PNG_SIGNATURE, chunk('IHDR', ihdr), chunk('IDAT', idat), chunk('IEND', new Uint8Array(0))];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

const CHANNELS_BY_COLOR_TYPE: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

/** PNG bytes → class-id mask. Throws `MASK_INVALID` for anything that is not a valid 8-bit PNG of class ids. */
export function decodeMaskPng(bytes: Uint8Array): ClassMask {
  const mask = decodePngChannel(bytes);
  for (let i = 0; i < mask.data.length; i++) {
    if (mask.data[i] >= NUM_CLASSES) throw new MaskCodecError(`PNG mask value ${mask.data[i]} at pixel ${i} is not a class id (0–${NUM_CLASSES - 1})`);
  }
  return mask;
}

/**
 * PNG bytes → the raw values of its first channel (palette index for palette PNGs), unchecked.
 * Used for label maps in other conventions, like Oxford trimaps {1, 2, 3}.
 */
export function decodePngChannel(bytes: Uint8Array): ClassMask {
  if (bytes.length < PNG_SIGNATURE.length + 12 || PNG_SIGNATURE.some((b, i) => bytes[i] !== b)) {
    throw new MaskCodecError('not a PNG file (bad signature)');
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = PNG_SIGNATURE.length;
  let width = 0;
  let height = 0;
  let colorType = -1;
  const idat: Uint8Array[] = [];
  let ended = false;
  while (pos + 12 <= bytes.length && !ended) {
    const len = view.getUint32(pos);
    const type = String.fromCharCode(bytes[pos + 4], bytes[pos + 5], bytes[pos + 6], bytes[pos + 7]);
    const dataStart = pos + 8;
    const dataEnd = dataStart + len;
    if (dataEnd + 4 > bytes.length) throw new MaskCodecError(`PNG chunk ${type} is truncated`);
    if (crc32(bytes, pos + 4, dataEnd) !== view.getUint32(dataEnd)) throw new MaskCodecError(`PNG chunk ${type} fails its CRC`);
    if (type === 'IHDR') {
      width = view.getUint32(dataStart);
      height = view.getUint32(dataStart + 4);
      const depth = bytes[dataStart + 8];
      colorType = bytes[dataStart + 9];
      const interlace = bytes[dataStart + 12];
      if (depth !== 8) throw new MaskCodecError(`PNG bit depth ${depth} is not supported for masks (use 8)`);
      if (!(colorType in CHANNELS_BY_COLOR_TYPE)) throw new MaskCodecError(`PNG colour type ${colorType} is not supported`);
      if (interlace !== 0) throw new MaskCodecError('interlaced PNG masks are not supported');
    } else if (type === 'IDAT') {
      idat.push(bytes.subarray(dataStart, dataEnd));
    } else if (type === 'IEND') {
      ended = true;
    }
    pos = dataEnd + 4;
  }
  if (colorType < 0) throw new MaskCodecError('PNG has no IHDR chunk');
  if (!ended) throw new MaskCodecError('PNG is truncated (no IEND chunk)');
  checkSize({ width, height, data: new Uint8Array(0) }, false);
  const compressed = new Uint8Array(idat.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of idat) {
    compressed.set(p, o);
    o += p.length;
  }
  let raw: Uint8Array;
  try {
    raw = unzlibSync(compressed);
  } catch (err) {
    throw new MaskCodecError('PNG image data does not inflate', { cause: err });
  }
  const bpp = CHANNELS_BY_COLOR_TYPE[colorType];
  const stride = width * bpp;
  if (raw.length !== height * (stride + 1)) throw new MaskCodecError(`PNG image data has ${raw.length} bytes, expected ${height * (stride + 1)}`);
  const pixels = unfilter(raw, height, stride, bpp);
  if (bpp === 1) return { data: pixels, width, height };
  const data = new Uint8Array(width * height);
  for (let i = 0; i < data.length; i++) data[i] = pixels[i * bpp];
  return { data, width, height };
}

function unfilter(raw: Uint8Array, height: number, stride: number, bpp: number): Uint8Array {
  const out = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const src = y * (stride + 1) + 1;
    const dst = y * stride;
    const prev = dst - stride;
    for (let x = 0; x < stride; x++) {
      const a = x >= bpp ? out[dst + x - bpp] : 0;
      const b = y > 0 ? out[prev + x] : 0;
      const c = x >= bpp && y > 0 ? out[prev + x - bpp] : 0;
      const r = raw[src + x];
      let v: number;
      switch (filter) {
        case 0: v = r; break;
        case 1: v = r + a; break;
        case 2: v = r + b; break;
        case 3: v = r + ((a + b) >> 1); break;
        case 4: {
          const p = a + b - c;
          const pa = Math.abs(p - a);
          const pb = Math.abs(p - b);
          const pc = Math.abs(p - c);
          v = r + (pa <= pb && pa <= pc ? a : pb <= pc ? b : c);
          break;
        }
        default:
          throw new MaskCodecError(`PNG row ${y} has unknown filter type ${filter}`);
      }
      out[dst + x] = v & 0xff;
    }
  }
  return out;
}

/** Base64 of bytes, platform-free (Kafka JSON messages and HTTP bodies carry PNG masks this way). */
export function toBase64(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

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
