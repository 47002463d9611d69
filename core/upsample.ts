/**
 * Output at display resolution as tensor ops on the active tfjs backend (a WebGPU/WebGL shader or
 * the wasm kernels in the browser, the Node backends in runtime-node and `edgeseg predict`): a
 * frame fitted into the model input (`fit`), and the model's logits sampled back over the frame
 * with output_geometry.ts's bilinear taps before the argmax. The plain-JavaScript twins live in
 * output_geometry.ts, for callers without tfjs.
 */
import * as tf from '@tensorflow/tfjs-core';
import { DEFAULT_NORMALIZATION, INPUT_CHANNELS, PIXEL_SCALE, type InputNormalization, type ModelGeometry } from './contract.js';
import { bilinearTaps, fitPlan, type FitMode, type FrameWindow } from './output_geometry.js';
import { normalizeInput } from './preprocess.js';

/**
 * Pixels [H, W, 3|4] (0–255) → model input [modelHeight, modelWidth, 3]: the frame fitted by
 * `fit`, with the contract's resize (bilinear, half-pixel centres), × 1/255, then `normalization`.
 * `squash` is core's `preprocessPixels`, bit for bit; `letterbox` pads with black. Returns the
 * input and the frame's window on it (for `resampleMap`). The caller owns the tensor.
 */
export function fitPixels(pixels: tf.Tensor3D, modelWidth: number, modelHeight: number, fit: FitMode, normalization: InputNormalization = DEFAULT_NORMALIZATION): { input: tf.Tensor3D; window: FrameWindow } {
  const [height, width] = pixels.shape;
  const plan = fitPlan(width, height, modelWidth, modelHeight, fit);
  const input = tf.tidy(() => {
    const rgb = pixels.shape[2] === INPUT_CHANNELS ? pixels : tf.slice(pixels, [0, 0, 0], [-1, -1, INPUT_CHANNELS]);
    let unit = tf.mul(tf.image.resizeBilinear(tf.cast(rgb, 'float32'), [plan.resize.height, plan.resize.width], false, true), tf.scalar(PIXEL_SCALE)) as tf.Tensor3D;
    if (fit === 'letterbox') {
      unit = tf.pad(unit, [
        [plan.top, modelHeight - plan.resize.height - plan.top],
        [plan.left, modelWidth - plan.resize.width - plan.left],
        [0, 0],
      ]);
    } else if (fit === 'crop') {
      unit = tf.slice(unit, [-plan.top, -plan.left, 0], [modelHeight, modelWidth, INPUT_CHANNELS]);
    }
    return normalizeInput(unit, normalization);
  });
  return { input, window: plan.window };
}

/**
 * A map [N, h, w, C] (logits or probabilities) sampled over `window` at outWidth×outHeight:
 * bilinear, separable (two gathers and a lerp per axis), edges clamped. The caller owns both tensors.
 */
export function resampleMap(map: tf.Tensor4D, window: FrameWindow, outWidth: number, outHeight: number): tf.Tensor4D {
  const [, h, w] = map.shape;
  const rows = bilinearTaps(h, window.y, window.height, outHeight);
  const cols = bilinearTaps(w, window.x, window.width, outWidth);
  return tf.tidy(() => {
    const lerp = (t: tf.Tensor4D, taps: typeof rows, axis: 1 | 2) => {
      const a = tf.gather(t, tf.tensor1d(taps.i0, 'int32'), axis);
      const b = tf.gather(t, tf.tensor1d(taps.i1, 'int32'), axis);
      const shape = axis === 1 ? [1, taps.w.length, 1, 1] : [1, 1, taps.w.length, 1];
      return tf.add(a, tf.mul(tf.sub(b, a), tf.tensor(taps.w, shape))) as tf.Tensor4D;
    };
    return lerp(lerp(map, rows, 1), cols, 2);
  });
}

/**
 * Class-id masks of each frame of a runner's logits (a tensor, or values in memory as ONNX Runtime
 * returns them; `grid` is the model's geometry, `geometryOf(card)`), each at its own size: the logits sampled bilinearly over the whole grid (a
 * squashed frame), then the argmax, on the active backend. The caller keeps (and disposes) `logits`.
 */
export async function classMasksAt(logits: tf.Tensor4D | Float32Array, grid: ModelGeometry, sizes: readonly { width: number; height: number }[]): Promise<Uint8Array[]> {
  const all = logits instanceof Float32Array ? tf.tensor4d(logits, [sizes.length, grid.height, grid.width, grid.classes]) : logits;
  const window = { x: 0, y: 0, width: grid.width, height: grid.height };
  try {
    const out: Uint8Array[] = [];
    for (const [i, size] of sizes.entries()) {
      const ids = tf.tidy(() => tf.argMax(resampleMap(tf.slice(all, [i, 0, 0, 0], [1, -1, -1, -1]), window, size.width, size.height), -1));
      out.push(Uint8Array.from(await ids.data()));
      ids.dispose();
    }
    return out;
  } finally {
    if (all !== logits) all.dispose();
  }
}
