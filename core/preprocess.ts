/**
 * The one preprocessing path. Every producer of model inputs (trainer, converter eval, both
 * runtimes, tests) decodes to full-size RGB uint8 first and then calls these functions, so a
 * model never sees pixels prepared differently from the ones it was trained on.
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  DEFAULT_GEOMETRY,
  DEFAULT_NORMALIZATION,
  INPUT_CHANNELS,
  INPUT_NORMALIZATIONS,
  MAX_CLASSES,
  MAX_SIDE,
  NUM_CLASSES,
  PIXEL_SCALE,
  TRIMAP_OFFSET,
  type InputNormalization,
  type InputSize,
} from './contract.js';
import { ContractError, SampleError } from './errors.js';
import { checkNormalization } from './normalize_data.js';

/** A decoded image: interleaved 8-bit pixels, RGB or RGBA, row-major. */
export interface PixelImage {
  data: Uint8Array | Uint8ClampedArray;
  width: number;
  height: number;
  /** 3 (RGB) or 4 (RGBA; alpha is dropped). */
  channels: 3 | 4;
}

/** A class-id mask: one byte per pixel, row-major. */
export interface ClassMask {
  data: Uint8Array;
  width: number;
  height: number;
}

function checkImage(img: PixelImage): void {
  if (!(img.width > 0 && img.height > 0) || !Number.isInteger(img.width) || !Number.isInteger(img.height)) {
    throw new ContractError(`image size must be positive integers, got ${img.width}x${img.height}`);
  }
  if (img.channels !== 3 && img.channels !== 4) {
    throw new ContractError(`image must have 3 (RGB) or 4 (RGBA) channels, got ${img.channels}`);
  }
  const want = img.width * img.height * img.channels;
  if (img.data.length !== want) {
    throw new ContractError(
      `image data has ${img.data.length} bytes, expected ${want} for ${img.width}x${img.height}x${img.channels}`,
    );
  }
}

/**
 * Unit input (pixel × 1/255) → the model's normalised input, as a tensor op on the active backend.
 * `unit` returns its argument unchanged; the caller owns the result either way.
 */
export function normalizeInput<T extends tf.Tensor>(unit: T, normalization: InputNormalization = DEFAULT_NORMALIZATION): T {
  checkNormalization(normalization);
  if (normalization === 'unit') return unit;
  const { scale, offset } = INPUT_NORMALIZATIONS[normalization];
  // A per-channel scale broadcasts over the last (channel) axis of the NHWC input.
  const constant = (v: number | readonly number[]) => (typeof v === 'number' ? tf.scalar(v) : tf.tensor1d(v as number[]));
  return tf.tidy(() => tf.add(tf.mul(unit, constant(scale)), constant(offset)));
}

export { normalizeInputData } from './normalize_data.js';

/** The inverse of `normalizeInputData`: normalised input back to unit values, for pictures of what a model saw. */
export function unitInputData(input: Float32Array, normalization: InputNormalization = DEFAULT_NORMALIZATION): Float32Array {
  checkNormalization(normalization);
  if (normalization === 'unit') return input;
  const { scale, offset } = INPUT_NORMALIZATIONS[normalization];
  const at = (v: number | readonly number[], i: number) => (typeof v === 'number' ? v : v[i % INPUT_CHANNELS]);
  return Float32Array.from(input, (x, i) => (x - at(offset, i)) / at(scale, i));
}

function checkSize(size: InputSize): void {
  const ok = (d: number) => Number.isInteger(d) && d >= 1 && d <= MAX_SIDE;
  if (!size || !ok(size.height) || !ok(size.width)) {
    throw new ContractError(`model input size must be 1–${MAX_SIDE} pixels per side, got ${size?.width}x${size?.height}`);
  }
}

/**
 * Pixels tensor [H, W, 3|4] (int32 or float32, values 0–255) → model input [height, width, 3]
 * float32: bilinear stretch with half-pixel centres to the model's size, × 1/255, then the
 * model's normalization. Read both from the card: `normalizationOf(card)` and `inputSizeOf(card)`
 * (the defaults are edgeseg's own U-Nets': `unit` [0, 1] and 128×128). Runs on the active
 * backend, so the browser runtime does it on the GPU.
 */
export function preprocessPixels(pixels: tf.Tensor3D, normalization: InputNormalization = DEFAULT_NORMALIZATION, size: InputSize = DEFAULT_GEOMETRY): tf.Tensor3D {
  checkNormalization(normalization);
  checkSize(size);
  return tf.tidy(() => {
    const rgb = pixels.shape[2] === INPUT_CHANNELS ? pixels : tf.slice(pixels, [0, 0, 0], [-1, -1, INPUT_CHANNELS]);
    const resized = tf.image.resizeBilinear(tf.cast(rgb, 'float32'), [size.height, size.width], false, true);
    return normalizeInput(tf.mul(resized, tf.scalar(PIXEL_SCALE)), normalization);
  });
}

/** Decoded image → model input tensor [height, width, 3] (`preprocessPixels`). The caller owns the returned tensor. */
export function imageToInput(img: PixelImage, normalization: InputNormalization = DEFAULT_NORMALIZATION, size: InputSize = DEFAULT_GEOMETRY): tf.Tensor3D {
  checkImage(img);
  return tf.tidy(() => {
    const pixels = tf.tensor3d(Int32Array.from(img.data), [img.height, img.width, img.channels], 'int32');
    return preprocessPixels(pixels, normalization, size);
  });
}

/** Decoded image → model input as a plain Float32Array of height·width·3 values. */
export function imageToInputData(img: PixelImage, normalization: InputNormalization = DEFAULT_NORMALIZATION, size: InputSize = DEFAULT_GEOMETRY): Float32Array {
  const t = imageToInput(img, normalization, size);
  try {
    return t.dataSync() as Float32Array;
  } finally {
    t.dispose();
  }
}

/** The one mask resize, as a tensor op on the active backend: [H, W, 1] int32 class ids. */
function resizeMaskTensor(mask: ClassMask, width: number, height: number): tf.Tensor3D {
  if (mask.data.length !== mask.width * mask.height) {
    throw new ContractError(`mask data has ${mask.data.length} bytes, expected ${mask.width * mask.height}`);
  }
  return tf.tidy(() => {
    const m = tf.tensor3d(Int32Array.from(mask.data), [mask.height, mask.width, 1], 'int32');
    return tf.image.resizeNearestNeighbor(m, [height, width], false, true);
  });
}

/**
 * Nearest-neighbour resize of a class-id mask (half-pixel centres, like TF2's `resize(method='nearest')`).
 * Never invents a value: every output pixel copies one input pixel.
 */
export function resizeMask(mask: ClassMask, width: number, height: number): ClassMask {
  if (mask.width === width && mask.height === height && mask.data.length === width * height) return { data: mask.data, width, height };
  const out = resizeMaskTensor(mask, width, height);
  try {
    return { data: Uint8Array.from(out.dataSync()), width, height };
  } finally {
    out.dispose();
  }
}

/** `resizeMask` with an asynchronous readback, for GPU backends (no blocking read on the main path). */
export async function resizeMaskAsync(mask: ClassMask, width: number, height: number): Promise<ClassMask> {
  if (mask.width === width && mask.height === height && mask.data.length === width * height) return { data: mask.data, width, height };
  const out = resizeMaskTensor(mask, width, height);
  try {
    return { data: Uint8Array.from(await out.data()), width, height };
  } finally {
    out.dispose();
  }
}

/** Class-id mask at any size → the model's training target (`inputSizeOf(card)`; default edgeseg's 128×128). */
export function maskToTarget(mask: ClassMask, size: InputSize = DEFAULT_GEOMETRY): Uint8Array {
  checkSize(size);
  return resizeMask(mask, size.width, size.height).data;
}

/**
 * Oxford-IIIT trimap pixel values {1 = pet, 2 = background, 3 = border} → class ids {0, 1, 2}.
 * Throws `MASK_VALUES` naming the first offending value.
 */
export function trimapToClassIds(trimap: Uint8Array): Uint8Array {
  const out = new Uint8Array(trimap.length);
  for (let i = 0; i < trimap.length; i++) {
    const c = trimap[i] - TRIMAP_OFFSET;
    if (c < 0 || c >= NUM_CLASSES) {
      throw new SampleError('MASK_VALUES', `trimap value ${trimap[i]} at pixel ${i} is not one of 1, 2, 3`);
    }
    out[i] = c;
  }
  return out;
}

/** Throws `MASK_VALUES` if any pixel is not a class id of a model of `classes` classes (`classCountOf(card)`; default edgeseg's 3). */
export function checkClassIds(mask: Uint8Array, classes: number = NUM_CLASSES): void {
  if (!Number.isInteger(classes) || classes < 1 || classes > MAX_CLASSES) throw new ContractError(`class count must be 1–${MAX_CLASSES}, got ${classes}`);
  for (let i = 0; i < mask.length; i++) {
    if (mask[i] >= classes) {
      throw new SampleError('MASK_VALUES', `mask value ${mask[i]} at pixel ${i} is not a class id (0–${classes - 1})`);
    }
  }
}

/** Mirrors an HWC image or HW mask left↔right, in a new array. */
export function flipHorizontal<T extends Float32Array | Uint8Array>(data: T, width: number, height: number, channels: number): T {
  const out = new (data.constructor as { new (n: number): T })(data.length);
  const row = width * channels;
  for (let y = 0; y < height; y++) {
    const base = y * row;
    for (let x = 0; x < width; x++) {
      const src = base + x * channels;
      const dst = base + (width - 1 - x) * channels;
      for (let c = 0; c < channels; c++) out[dst + c] = data[src + c];
    }
  }
  return out;
}
