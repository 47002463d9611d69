/**
 * Where a model's output lands in the frame, platform-free (no tfjs: runtime-web's lean ONNX
 * Runtime worker imports it). A frame is fitted into the model's input (`fit`), the model's
 * logits are sampled back over the frame at the size asked for (`outputSize`) with separable
 * bilinear taps (half-pixel centres, edges clamped: tfjs' `resizeBilinear(…, halfPixelCenters)`
 * for a squashed frame), and the argmax is taken after that, so masks at display resolution have
 * smooth edges instead of a nearest-neighbour staircase of model pixels.
 */
import { MAX_SIDE } from './contract.js';
import { ConfigError } from './errors.js';

/** The size of the masks returned: the model's own grid, the frame's size, or a size in pixels. */
export type OutputSize = 'model' | 'input' | { width: number; height: number };

/**
 * How a frame of another aspect ratio goes into the model's input:
 * - `squash`: stretched to the input (the contract's resize; shapes are distorted, nothing is lost);
 * - `letterbox`: scaled to fit inside, centred, the rest padded black (nothing lost, less resolution);
 * - `crop`: scaled to cover, centred, the overflow cut (full resolution; the cut edges are
 *   extrapolated from the nearest pixels the model saw).
 * Masks are mapped back to frame coordinates whichever is used.
 */
export const FIT_MODES = ['squash', 'letterbox', 'crop'] as const;
/** One of FIT_MODES. */
export type FitMode = (typeof FIT_MODES)[number];

/**
 * A frame's place on the model's input grid, in model pixels: the frame's left/top edge at
 * (x, y) and its size (width × height). Squash: (0, 0, model width, model height).
 */
export interface FrameWindow {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** How to fit a frame: resize it to `resize`, then place it at (`left`, `top`) on the model's input (negative: cut). */
export interface FitPlan {
  resize: { width: number; height: number };
  left: number;
  top: number;
  window: FrameWindow;
}

/** The plan for a frame of frameWidth×frameHeight into a model input of modelWidth×modelHeight. */
export function fitPlan(frameWidth: number, frameHeight: number, modelWidth: number, modelHeight: number, fit: FitMode): FitPlan {
  if (fit === 'squash') return { resize: { width: modelWidth, height: modelHeight }, left: 0, top: 0, window: { x: 0, y: 0, width: modelWidth, height: modelHeight } };
  const scale = fit === 'letterbox' ? Math.min(modelWidth / frameWidth, modelHeight / frameHeight) : Math.max(modelWidth / frameWidth, modelHeight / frameHeight);
  // Whole pixels, so the model sees the frame resized exactly once, and the window is that size.
  const width = Math.max(1, Math.round(frameWidth * scale));
  const height = Math.max(1, Math.round(frameHeight * scale));
  const left = Math.floor((modelWidth - width) / 2);
  const top = Math.floor((modelHeight - height) / 2);
  return { resize: { width, height }, left, top, window: { x: left, y: top, width, height } };
}

/** The output size in pixels for a frame of frameWidth×frameHeight. */
export function outputDims(size: OutputSize, frame: { width: number; height: number }, model: { width: number; height: number }): { width: number; height: number } {
  if (size === 'model') return { width: model.width, height: model.height };
  if (size === 'input') return { width: frame.width, height: frame.height };
  return { width: size.width, height: size.height };
}

/** Checks an `outputSize` option, naming it (`name`) and the fix. */
export function checkOutputSize(size: unknown, name = 'outputSize'): OutputSize {
  if (size === 'model' || size === 'input') return size;
  const s = size as { width?: unknown; height?: unknown } | null;
  const side = (v: unknown) => Number.isInteger(v) && (v as number) >= 1 && (v as number) <= MAX_SIDE;
  if (s && typeof s === 'object' && side(s.width) && side(s.height)) return { width: s.width as number, height: s.height as number };
  throw new ConfigError(`'${name}' must be 'model', 'input' or { width, height } in whole pixels 1–${MAX_SIDE}, got ${JSON.stringify(size)}`);
}

/** Parses the CLI's `--output-size`: model, input, or <width>x<height>. */
export function parseOutputSize(text: string, name = '--output-size'): OutputSize {
  const m = /^(\d+)x(\d+)$/.exec(text);
  return checkOutputSize(m ? { width: Number(m[1]), height: Number(m[2]) } : text, name);
}

/**
 * Bilinear taps along one axis: output position i of `out` samples the input axis (length
 * `inSize`) at window.start + (i + 0.5) · span / out − 0.5, clamped to the input: the value is
 * in[i0] · (1 − w) + in[i1] · w.
 */
export interface AxisTaps {
  i0: Int32Array;
  i1: Int32Array;
  w: Float32Array;
}

export function bilinearTaps(inSize: number, start: number, span: number, out: number): AxisTaps {
  const i0 = new Int32Array(out);
  const i1 = new Int32Array(out);
  const w = new Float32Array(out);
  for (let i = 0; i < out; i++) {
    const s = Math.min(inSize - 1, Math.max(0, start + ((i + 0.5) * span) / out - 0.5));
    const lo = Math.floor(s);
    i0[i] = lo;
    i1[i] = Math.min(inSize - 1, lo + 1);
    w[i] = s - lo;
  }
  return { i0, i1, w };
}

/**
 * Samples an HWC float map (logits or probabilities, `channels` per pixel) over `window` at
 * outWidth×outHeight, bilinearly (separable: rows, then columns). Returns a new HWC array.
 */
export function resampleData(data: Float32Array, width: number, height: number, channels: number, window: FrameWindow, outWidth: number, outHeight: number): Float32Array {
  if (data.length !== width * height * channels) throw new RangeError(`map holds ${data.length} values, not ${width}×${height}×${channels}`);
  const rows = bilinearTaps(height, window.y, window.height, outHeight);
  const cols = bilinearTaps(width, window.x, window.width, outWidth);
  // Rows first: [outHeight, width, channels].
  const mid = new Float32Array(outHeight * width * channels);
  const line = width * channels;
  for (let y = 0; y < outHeight; y++) {
    const a = rows.i0[y] * line;
    const b = rows.i1[y] * line;
    const w = rows.w[y];
    const o = y * line;
    for (let k = 0; k < line; k++) mid[o + k] = data[a + k] + (data[b + k] - data[a + k]) * w;
  }
  const out = new Float32Array(outHeight * outWidth * channels);
  for (let y = 0; y < outHeight; y++) {
    const src = y * line;
    for (let x = 0; x < outWidth; x++) {
      const a = src + cols.i0[x] * channels;
      const b = src + cols.i1[x] * channels;
      const w = cols.w[x];
      const o = (y * outWidth + x) * channels;
      for (let c = 0; c < channels; c++) out[o + c] = mid[a + c] + (mid[b + c] - mid[a + c]) * w;
    }
  }
  return out;
}

/** Per-pixel softmax of an HWC logits map, in a new array. */
export function softmaxData(logits: Float32Array, channels: number): Float32Array {
  const out = new Float32Array(logits.length);
  for (let o = 0; o < logits.length; o += channels) {
    let max = logits[o];
    for (let c = 1; c < channels; c++) max = Math.max(max, logits[o + c]);
    let sum = 0;
    for (let c = 0; c < channels; c++) sum += out[o + c] = Math.exp(logits[o + c] - max);
    for (let c = 0; c < channels; c++) out[o + c] /= sum;
  }
  return out;
}

/** Class ids (argmax over channels, the first class on ties) of an HWC map. */
export function argmaxData(map: Float32Array, channels: number): Uint8Array {
  const out = new Uint8Array(map.length / channels);
  for (let i = 0, o = 0; i < out.length; i++, o += channels) {
    let best = 0;
    for (let c = 1; c < channels; c++) if (map[o + c] > map[o + best]) best = c;
    out[i] = best;
  }
  return out;
}

/**
 * Bilinear resize of interleaved 8-bit pixels (RGB or RGBA; RGB out) with half-pixel centres,
 * the contract's image resize (tfjs `resizeBilinear(…, false, true)`) in plain JavaScript, for
 * the lean ONNX Runtime worker that has no tfjs. Values stay 0–255 floats.
 */
export function resizeBilinearPixels(pixels: Uint8Array | Uint8ClampedArray, width: number, height: number, channels: 3 | 4, outWidth: number, outHeight: number): Float32Array {
  const rgb = new Float32Array(width * height * 3);
  for (let i = 0, j = 0; i < rgb.length; i += 3, j += channels) {
    rgb[i] = pixels[j];
    rgb[i + 1] = pixels[j + 1];
    rgb[i + 2] = pixels[j + 2];
  }
  return resampleData(rgb, width, height, 3, { x: 0, y: 0, width, height }, outWidth, outHeight);
}

/**
 * The staircase excess of a class-id mask that was upsampled from a grid `gridWidth` columns
 * wide: the share of horizontal class changes that fall where the grid's nearest-neighbour source
 * column changes, over the share of columns that are such grid columns. A nearest-neighbour
 * upsample puts every change on a grid column (the maximum, width / gridWidth-ish); a smooth
 * edge, unrelated to the grid, gives about 1.0. NaN when the mask has no horizontal change.
 */
export function staircaseExcess(mask: Uint8Array, width: number, height: number, gridWidth: number): number {
  // Column x is a grid column when its nearest source column (half-pixel centres) differs from x − 1's.
  const source = (x: number) => Math.min(gridWidth - 1, Math.floor(((x + 0.5) * gridWidth) / width));
  const isGrid = new Uint8Array(width);
  let gridColumns = 0;
  for (let x = 1; x < width; x++) if ((isGrid[x] = Number(source(x) !== source(x - 1)))) gridColumns++;
  let changes = 0;
  let onGrid = 0;
  for (let y = 0; y < height; y++) {
    const row = y * width;
    for (let x = 1; x < width; x++) {
      if (mask[row + x] !== mask[row + x - 1]) {
        changes++;
        onGrid += isGrid[x];
      }
    }
  }
  return changes === 0 ? NaN : onGrid / changes / (gridColumns / (width - 1));
}
