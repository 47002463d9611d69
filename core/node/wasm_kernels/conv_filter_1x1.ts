/**
 * The filter gradient of a 1×1, stride-1 convolution (MobileNetV2's expand and project layers):
 * dW[c, o] = Σ_k x[k, c] · dy[k, o] over every pixel k, a matrix product with a long inner
 * dimension. It runs as a 1×1 XNNPACK convolution whose pixels are the rows of the transposed
 * smaller operand and whose filter is the other operand as it lies. The generic path
 * (Conv2DBackpropFilter.ts) makes the whole output gradient a convolution kernel with only the
 * batch as its inner dimension — measured ~1.5 GFLOP/s on these shapes.
 */
import type { TensorInfo } from '@tensorflow/tfjs-core';
import type { KernelScope } from './kernel_scope.js';

/** Whether x [b, h, w, ci] and dy [b, h, w, co] of a 1×1 stride-1 convolution without padding qualify. */
export function filter1x1Applies(x: number[], dy: number[], fh: number, fw: number, strides: [number, number], top: number, left: number): boolean {
  return fh === 1 && fw === 1 && strides[0] === 1 && strides[1] === 1 && top === 0 && left === 0 && x[1] === dy[1] && x[2] === dy[2];
}

export function filter1x1(s: KernelScope, x: TensorInfo, dy: TensorInfo): TensorInfo {
  const ci = x.shape[3];
  const co = dy.shape[3];
  const k = x.shape[0] * x.shape[1] * x.shape[2];
  const product = (rows: TensorInfo, filter: TensorInfo, m: number, n: number) =>
    s.run('Conv2D', { x: s.reshape(s.transpose(s.reshape(rows, [k, m]), [1, 0]), [1, 1, m, k]), filter: s.reshape(filter, [1, 1, k, n]) }, { strides: [1, 1], dilations: [1, 1], pad: 'valid', dataFormat: 'NHWC', dimRoundingMode: undefined } as never);
  // Transpose whichever operand is smaller; the other becomes the filter as it is.
  if (ci <= co) return s.reshape(product(x, dy, ci, co), [1, 1, ci, co]);
  return s.reshape(s.transpose(s.reshape(product(dy, x, co, ci), [co, ci]), [1, 0]), [1, 1, ci, co]);
}
