/**
 * Gradients of Sum and Mean, replacing tfjs-core's. Both spread dy back over the reduced axes:
 *
 *   Sum:  dx = dy broadcast to x's shape
 *   Mean: dx = (dy / n) broadcast to x's shape   (n = the number of values each mean averages)
 *
 * tfjs-core computes dy·ones(x.shape) (and, for Mean, then divides by n), with the ones tensor
 * filled in JavaScript on every call. On wasm, when the reduced axes lead (BatchNorm's moments,
 * synchronised BatchNorm's sums) and the rest is a multiple of 4 floats, the broadcast is one SIMD
 * row copy (wasm_kernels/TileRows.ts); elsewhere tfjs-core's own formula. The values are the same
 * bits either way: multiplying by 1 changes nothing, and dividing dy by n before or after the
 * broadcast divides the same numbers. Ops come from tfjs-core itself, as in FusedBatchNorm_grad.ts.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Mean, Sum, util, type GradConfig, type NamedAttrMap, type Tensor } from '@tensorflow/tfjs-core';
import { TILE_ROWS } from '../wasm_kernels/TileRows.js';

/** dy (already divided for Mean) spread over x's shape, with the reduced axes of `axes`. */
function spread(dy: Tensor, x: Tensor, axes: number[]): Tensor {
  const expanded = x.shape.map((d, k) => (axes.includes(k) ? 1 : d));
  const small = tf.reshape(dy, expanded);
  const sorted = [...axes].sort((a, b) => a - b);
  const leading = sorted.every((a, k) => a === k);
  const inner = util.sizeFromShape(x.shape.slice(sorted.length));
  if (tf.getBackend() === 'wasm' && small.dtype === 'float32' && leading && inner % 4 === 0 && inner > 0) {
    const rows = util.sizeFromShape(x.shape.slice(0, sorted.length));
    return tf.reshape(tf.engine().runKernel(TILE_ROWS, { x: small }, { rows } as unknown as NamedAttrMap) as Tensor, x.shape);
  }
  return tf.mul(small, tf.ones(x.shape, 'float32'));
}

/** The gradient of a reduction over `attrs.axis`: dy spread back, divided by the count for a mean. */
function reductionGrad(kernelName: string, mean: boolean): GradConfig {
  return {
    kernelName,
    inputsToSave: ['x'],
    gradFunc: (dy: Tensor | Tensor[], saved: Tensor[], attrs: NamedAttrMap) => {
      const [x] = saved;
      const axes = util.parseAxisParam((attrs as unknown as { axis: number | number[] }).axis, x.shape);
      const n = axes.reduce((a, k) => a * x.shape[k], 1);
      return { x: () => spread(mean ? tf.div(dy as Tensor, n) : (dy as Tensor), x, axes) };
    },
  };
}

export const sumGradConfig = reductionGrad(Sum, false);
export const meanGradConfig = reductionGrad(Mean, true);
