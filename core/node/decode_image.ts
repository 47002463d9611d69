/**
 * Node's first preprocessing step: encoded image bytes (JPEG, PNG, WebP…) → full-size RGB uint8
 * with sharp. No auto-rotation (labels are drawn on the stored orientation), no colour management
 * beyond conversion to sRGB, alpha dropped. The contract's resize follows in core/preprocess.ts.
 */
import sharp from 'sharp';
import { SampleError, type PixelImage } from '../index.js';

// One libvips thread per call: parallelism comes from edgeseg's worker pools.
sharp.concurrency(1);
sharp.cache(false);

export interface DecodeLimits {
  /** Refuse images with more pixels than this (decompression bombs). @default 40_000_000 */
  maxPixels?: number;
}

export async function decodeImage(bytes: Uint8Array, limits: DecodeLimits = {}): Promise<PixelImage> {
  try {
    const { data, info } = await sharp(bytes, { failOn: 'error', limitInputPixels: limits.maxPixels ?? 40_000_000 })
      .removeAlpha()
      .toColourspace('srgb')
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`decoded to ${info.channels} channels`);
    return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: info.width, height: info.height, channels: 3 };
  } catch (err) {
    throw new SampleError('SAMPLE_CORRUPT', `cannot decode image: ${(err as Error).message}`, { cause: err });
  }
}
