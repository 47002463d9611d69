/**
 * Node's first preprocessing step: encoded image bytes (JPEG, PNG, WebP…) → full-size RGB uint8
 * with sharp. No auto-rotation (labels are drawn on the stored orientation), no colour management
 * beyond conversion to sRGB, alpha dropped. The contract's resize follows in core/preprocess.ts.
 *
 * Real datasets hold more than RGB JPEGs (Oxford-IIIT Pet has a GIF and RGBA PNGs named .jpg):
 * whatever sharp reads becomes RGB — a GIF's first frame, a palette expanded, greyscale
 * replicated, CMYK converted, alpha dropped without compositing (as PIL's `convert('RGB')`, which
 * the dataset's other users apply) — and `decodeImageDescribed` says which of these happened.
 */
import sharp, { type Metadata } from 'sharp';
import { SampleError, type PixelImage } from '../index.js';

// One libvips thread per call: parallelism comes from edgeseg's worker pools.
sharp.concurrency(1);
sharp.cache(false);

/** Bounds an encoded image is checked against before and while decoding. */
export interface DecodeLimits {
  /** Refuse images with more pixels than this (decompression bombs). @default 40_000_000 */
  maxPixels?: number;
}

/** A decoded image and what was done to make it RGB: null for a plain RGB source. */
export interface DescribedImage {
  image: PixelImage;
  /** e.g. 'GIF', 'RGBA', 'palette', 'greyscale', 'CMYK', joined with '+' when several apply. */
  converted: string | null;
}

function conversionOf(meta: Metadata): string | null {
  const parts: string[] = [];
  if (meta.format === 'gif') parts.push((meta.pages ?? 1) > 1 ? `GIF frame 1 of ${meta.pages}` : 'GIF');
  else if (meta.isPalette) parts.push('palette');
  if (meta.space === 'cmyk') parts.push('CMYK');
  else if ((meta.channels ?? 3) <= 2) parts.push('greyscale');
  if (meta.hasAlpha) parts.push((meta.channels ?? 4) === 4 ? 'RGBA' : 'alpha');
  return parts.length ? parts.join('+') : null;
}

/** Decodes JPEG/PNG/WebP/GIF bytes to RGB with what the file was (format, alpha, frames); throws a named error for bad or oversized input. */
export async function decodeImageDescribed(bytes: Uint8Array, limits: DecodeLimits = {}): Promise<DescribedImage> {
  try {
    const input = sharp(bytes, { failOn: 'error', limitInputPixels: limits.maxPixels ?? 40_000_000 });
    const meta = await input.metadata();
    const { data, info } = await input.removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`decoded to ${info.channels} channels`);
    return {
      image: { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: info.width, height: info.height, channels: 3 },
      converted: conversionOf(meta),
    };
  } catch (err) {
    throw new SampleError('SAMPLE_CORRUPT', `cannot decode image: ${(err as Error).message}`, { cause: err });
  }
}

/** Decodes JPEG/PNG/WebP/GIF bytes to RGB pixels; throws a named error for bad or oversized input. */
export async function decodeImage(bytes: Uint8Array, limits: DecodeLimits = {}): Promise<PixelImage> {
  return (await decodeImageDescribed(bytes, limits)).image;
}
